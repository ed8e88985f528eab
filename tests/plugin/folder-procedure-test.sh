#!/bin/sh
# The folder batch as a Script-Fu plug-in (plugin/lnlfer-batch.scm installed as
# plug-ins/lnlfer-batch/lnlfer-batch.scm), in real GIMP under Xvfb (the caller sets DISPLAY:
# GIMP 3.0.4's Script-Fu interpreter needs one). Checks its registration (menu entry,
# arguments), a batch call with a CSV summary and one with a JSON summary on a folder of test
# photos (a portrait, a group photo, a file that is not an image), then its dialog: opened
# with RUN-INTERACTIVE, screenshot (OUT/folder-dialog.png), OK, summary written again.
# Prints PASS/FAIL lines, then FOLDER-PROCEDURE-TEST-DONE.
# usage: folder-procedure-test.sh SRCDIR OUTDIR PROFILE-DIR WORKDIR
set -u
SRC=$1 OUT=$2 PROFILE=$3 WORK=$4
LOGS=$OUT/logs
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; }
gimp() { # LOG INTERPRETER COMMAND
  GIMP3_DIRECTORY=$PROFILE timeout 1800 gimp-console-3.0 -i --no-fonts \
    --batch-interpreter="$2" -b "$3" --quit >"$1" 2>&1
}

mkdir -p "$PROFILE/plug-ins/lnlfer-batch" "$WORK/photos" "$OUT/folder-csv" "$OUT/folder-json"
install -m 755 "$SRC/plugin/lnlfer-batch.scm" "$PROFILE/plug-ins/lnlfer-batch/lnlfer-batch.scm"
cp "$SRC/tests/data/astronaut.png" "$SRC/tests/data/face-api-sample5.jpg" "$WORK/photos/"
printf 'not an image' >"$WORK/photos/broken.png"

# Registered as a procedure of its own, with a menu entry and the dialog's arguments.
gimp "$LOGS/folder-procedure-query.log" python-fu-eval '
p = Gimp.get_pdb().lookup_procedure("plug-in-lnlfer-folder")
print("MENU", p.get_menu_label(), p.get_menu_paths())
print("ARGS", " ".join("%s:%s" % (a.get_name(), a.value_type.name) for a in p.get_arguments()))
'
if grep -q "^MENU Facial Expressions in a _Folder... \['<Image>/File'\]$" "$LOGS/folder-procedure-query.log"; then
  pass "folder procedure: File > Facial Expressions in a Folder..."
else
  fail "folder procedure: not registered with its menu entry; see $LOGS/folder-procedure-query.log"
fi
args="run-mode:GimpRunMode dirname:GFile string:gchararray dirname-2:GFile option:gint"
if grep -q "^ARGS $args$" "$LOGS/folder-procedure-query.log"; then
  pass "folder procedure: arguments folder, pattern, output folder, summary ($args)"
else
  fail "folder procedure: arguments are not '$args'; see $LOGS/folder-procedure-query.log"
fi

run_folder() { # LOG OUT-DIR SUMMARY(0 csv, 1 json)
  gimp "$1" plug-in-script-fu-eval "(plug-in-lnlfer-folder #:run-mode RUN-NONINTERACTIVE
    #:dirname \"$WORK/photos\" #:string \"*\" #:dirname-2 \"$2\" #:option $3)"
}

run_folder "$LOGS/folder-procedure-csv.log" "$OUT/folder-csv" 0
csv=$OUT/folder-csv/faces.csv
rows=$(($(wc -l <"$csv" 2>/dev/null || echo 1) - 1))
group_rows=$(grep -c '^"[^"]*face-api-sample5.jpg",' "$csv" 2>/dev/null)
if [ "$(sed -n 1p "$csv" 2>/dev/null)" = "file,face,x,y,width,height,score,label,probability" ] &&
  grep -q '^"[^"]*astronaut.png",0,17[0-9.]*,[0-9.]*,[0-9.]*,[0-9.]*,0\.[0-9]*,happiness,0\.[0-9]*$' "$csv" &&
  [ "$group_rows" -ge 5 ] && [ "$group_rows" -le 6 ] && [ "$rows" -eq $((group_rows + 1)) ]; then
  pass "folder procedure, CSV: $rows rows (the portrait's face, $group_rows of the group photo): $(sed -n 2p "$csv")"
else
  fail "folder procedure, CSV: unexpected $csv ($rows rows); see $LOGS/folder-procedure-csv.log"
fi
if [ -s "$OUT/folder-csv/astronaut-lnlfer.png" ] && [ -s "$OUT/folder-csv/astronaut-lnlfer.xcf" ] &&
  [ -s "$OUT/folder-csv/face-api-sample5-lnlfer.png" ] && [ -s "$OUT/folder-csv/face-api-sample5-lnlfer.xcf" ]; then
  pass "folder procedure: annotated PNG and XCF of both photos"
else
  fail "folder procedure: annotated files missing: $(ls "$OUT/folder-csv" | tr '\n' ' ')"
fi
if grep -q "skipped .*broken.png" "$LOGS/folder-procedure-csv.log"; then
  pass "folder procedure: the file that is not an image is skipped with a message"
else
  fail "folder procedure: no message about broken.png; see $LOGS/folder-procedure-csv.log"
fi

run_folder "$LOGS/folder-procedure-json.log" "$OUT/folder-json" 1
if python3 - "$OUT/folder-json/faces.json" "$rows" <<'PY'; then
import json, sys
s = json.load(open(sys.argv[1]))
files = {f["file"].rsplit("/", 1)[1]: f for f in s["files"]}
assert sorted(files) == ["astronaut.png", "broken.png", "face-api-sample5.jpg"], files.keys()
assert "error" in files["broken.png"], files["broken.png"]
for name, f in files.items():
    if name == "broken.png":
        continue
    assert f["faces"] == len(f["results"]["faces"]), name
    assert f["png"].endswith("-lnlfer.png") and f["xcf"].endswith("-lnlfer.xcf"), f
assert files["astronaut.png"]["results"]["faces"][0]["label"] == "happiness"
assert s["faces"] == sum(f.get("faces", 0) for f in files.values()) == int(sys.argv[2]), s["faces"]
print("JSON summary: %d files, %d faces" % (len(files), s["faces"]))
PY
  pass "folder procedure, JSON: the files, their results and the total agree with the CSV"
else
  fail "folder procedure, JSON: unexpected $OUT/folder-json/faces.json"
fi

# The dialog, offering the last values (GIMP keeps those of interactive runs only: they are
# written here as GIMP writes them); OK runs the folder batch with them.
mkdir -p "$PROFILE/plug-in-settings" "$OUT/folder-dialog"
printf '(run-mode interactive)\n(dirname "%s")\n(string "astronaut.*")\n(dirname-2 "%s")\n(option 1)\n' \
  "$WORK/photos" "$OUT/folder-dialog" \
  >"$PROFILE/plug-in-settings/GimpProcedureConfigRun-plug-in-lnlfer-folder.last"
GIMP3_DIRECTORY=$PROFILE timeout 1800 gimp-console-3.0 -i --no-fonts \
  --batch-interpreter=plug-in-script-fu-eval \
  -b "(plug-in-lnlfer-folder #:run-mode RUN-INTERACTIVE)" --quit \
  >"$LOGS/folder-procedure-dialog.log" 2>&1 &
GIMP_PID=$!
win=
for _ in $(seq 1 600); do
  win=$(xdotool search --onlyvisible --name "Facial Expressions in a Folder" 2>/dev/null | head -n 1)
  [ -n "$win" ] && break
  sleep 0.5
done
if [ -z "$win" ]; then
  fail "folder procedure dialog: no window appeared; see $LOGS/folder-procedure-dialog.log"
  kill "$GIMP_PID" 2>/dev/null
else
  sleep 2
  import -window root "$OUT/folder-dialog.png"
  eval "$(xdotool getwindowgeometry --shell "$win")"
  echo "folder dialog window $WIDTH x $HEIGHT at $X,$Y"
  xdotool mousemove $((X + WIDTH - 50)) $((Y + HEIGHT - 25)) click 1
  pass "folder procedure dialog: shown (folder-dialog.png)"
fi
wait "$GIMP_PID"
if grep -q '"faces":1}' "$OUT/folder-dialog/faces.json" 2>/dev/null &&
  [ -s "$OUT/folder-dialog/astronaut-lnlfer.png" ]; then
  pass "folder procedure dialog: OK ran the folder batch with the dialog's values"
else
  fail "folder procedure dialog: no faces.json with 1 face after OK; see $LOGS/folder-procedure-dialog.log"
fi
echo FOLDER-PROCEDURE-TEST-DONE
