#!/bin/sh
# The GIMP 3 plug-in's tests, in real GIMP (gimp-console-3.0; Xvfb for the dialog):
#   1. Script-Fu batch tests (batch-tests.scm): the portrait and a group photo, the layer
#      group and its layers, the returned JSON, the parasite (also through XCF), the source
#      pixels unchanged, grey / indexed / 16-bit / float images, a layer with alpha and
#      offsets, selections (around the face, without a face, outside the layer, empty), 1x1.
#   2. Missing and corrupt weights (weights-tests.scm): a clear error, the image unchanged;
#      runs cancelled during the analysis or failing during the annotation (abort-tests.scm):
#      nothing half made is left.
#   3. Translations: the procedure's labels in de, fr, es and ja.
#   4. The dialog under Xvfb: opened with RUN-INTERACTIVE, screenshot, OK, result checked.
#   5. Undo: in gimp-3.0 under Xvfb, one Ctrl+Z removes all the annotations (undo-test.py).
#   6. A huge image (large-tests.scm; LNLFER_GIMP_LARGE_SIDE, default 30000 pixels a side):
#      the face found, the plug-in's peak memory under 2 GB, time and memory reported.
#   7. The arguments' detection defaults are those `lnlfer analyze --help` prints.
#   8. Scripting (scripting-tests.scm): the returned vectors (faces, labels, boxes, scores,
#      classes, probabilities) without reading the JSON; two runs on one image, each layer
#      group with its own results parasite; plugin/README.md's Script-Fu and Python-Fu
#      examples, run as written there; the folder batch as a Script-Fu procedure
#      (folder-procedure-test.sh, under Xvfb): registration, CSV and JSON summaries.
#   9. The menu in English and German (no English part in the German menu), the image types,
#      the help domain's pages and the icon, as GIMP registered them (menu-help-check.py);
#      the dialog's Help button in gimp-3.0 under Xvfb opens the installed page.
#
# usage: tests/plugin/run-gimp-tests.sh BUILD_DIR
# Runs where gimp-console-3.0 is installed (the Debian 13 root: scripts/test runs it there).
# Annotated images, screenshots and GIMP's logs go to $LNLFER_GIMP_TEST_OUT (default
# BUILD_DIR/gimp-test-output). Exit status 0 when every test passed, 77 (skip) without
# gimp-console-3.0, else 1.
set -u
BUILD=$(cd "${1:?usage: run-gimp-tests.sh BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$SRC/tests/plugin
OUT=${LNLFER_GIMP_TEST_OUT:-$BUILD/gimp-test-output}
TIMEOUT=${LNLFER_GIMP_TIMEOUT:-2400} # seconds for each GIMP run (batch tests: 10+ min when busy)

if ! command -v gimp-console-3.0 >/dev/null; then
  echo "SKIP: gimp-console-3.0 not found (run inside the Debian 13 root: scripts/trixie-root)"
  exit 77
fi
[ -x "$BUILD/plugin/lnlfer" ] || { echo "FAIL: $BUILD/plugin/lnlfer not built"; exit 1; }
[ -x "$BUILD/plugin/lnlfer-testing" ] || { echo "FAIL: $BUILD/plugin/lnlfer-testing not built"; exit 1; }

rm -rf "$OUT"
mkdir -p "$OUT/logs"
WORK=$(mktemp -d)
XVFB_PID=
cleanup() {
  [ -z "$XVFB_PID" ] || kill "$XVFB_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
PASSES=0
FAILS=0
pass() { PASSES=$((PASSES + 1)); echo "PASS $*"; }
fail() { FAILS=$((FAILS + 1)); echo "FAIL $*"; }

# A GIMP profile with the plug-in installed as GIMP 3 wants it (plug-ins/lnlfer/lnlfer, catalogs
# in plug-ins/lnlfer/locale), with the weights, help pages and icon beside it as a per-user
# install has them (plug-ins/lnlfer/weights, help, lnlfer.png; here links to the source tree's:
# the plug-in has no build-tree path compiled in). Profiles after the
# first are copies of it, so that GIMP does not query all its plug-ins again (minutes on a
# busy machine), only lnlfer, whose copy is newer. BINARY (default the shipped plug-in) is
# what is installed as plug-ins/lnlfer/lnlfer.
new_profile() { # DIR [BINARY]
  if [ "$1" != "$WORK/profile" ] && [ -d "$WORK/profile" ]; then cp -a "$WORK/profile" "$1"; fi
  mkdir -p "$1/plug-ins/lnlfer"
  rm -rf "$1/plug-ins/lnlfer/locale"
  cp "${2:-$BUILD/plugin/lnlfer}" "$1/plug-ins/lnlfer/lnlfer"
  ln -sfn "$SRC/weights" "$1/plug-ins/lnlfer/weights"
  ln -sfn "$SRC/data/help" "$1/plug-ins/lnlfer/help"
  ln -sfn "$SRC/data/lnlfer.png" "$1/plug-ins/lnlfer/lnlfer.png"
  touch "$1/plug-ins/lnlfer/lnlfer"
  for _mo in "$BUILD"/po/*/LC_MESSAGES/lnlfer.mo; do
    [ -f "$_mo" ] || continue
    _mo_dir=$1/plug-ins/lnlfer/locale/$(basename "$(dirname "$(dirname "$_mo")")")/LC_MESSAGES
    mkdir -p "$_mo_dir"
    cp "$_mo" "$_mo_dir/"
  done
}
new_profile "$WORK/profile"

# gimp_batch LOG INTERPRETER COMMAND...: gimp-console-3.0 with each COMMAND as a -b; without
# fonts (faster) unless FONTS=1 (text layers need them); in the profile $PROFILE (default
# the shipped plug-in's).
gimp_batch() {
  log=$1 interp=$2
  shift 2
  for cmd in "$@"; do set -- "$@" -b "$cmd"; shift; done
  [ "${FONTS:-0}" = 1 ] || set -- --no-fonts "$@"
  GIMP3_DIRECTORY=${PROFILE:-$WORK/profile} timeout "$TIMEOUT" gimp-console-3.0 -i \
    --batch-interpreter="$interp" "$@" --quit >"$log" 2>&1
}

# Collects the PASS/FAIL lines of a Script-Fu log; fails when MARKER is missing.
collect() { # LOG MARKER
  while IFS= read -r line; do
    case $line in
      "PASS "*) pass "${line#PASS }" ;;
      "FAIL "*) fail "${line#FAIL }" ;;
    esac
  done <"$1"
  grep -q "^$2" "$1" || fail "$(basename "$1"): did not run to its end ($2 missing); see $1"
}

scm_prelude="(define srcdir \"$SRC\") (define outdir \"$OUT\") (load \"$HERE/common.scm\")"

echo "== Script-Fu batch tests"
FONTS=1 gimp_batch "$OUT/logs/batch.log" plug-in-script-fu-eval \
  "$scm_prelude (load \"$HERE/batch-tests.scm\")"
collect "$OUT/logs/batch.log" BATCH-TESTS-DONE
grep "^COMPARE " "$OUT/logs/batch.log" | while read -r _ name a b; do
  if python3 "$HERE/same-pixels.py" "$a" "$b"; then echo "PASS $name"; else echo "FAIL $name"; fi
done >"$WORK/compare"
while read -r verdict rest; do
  if [ "$verdict" = PASS ]; then pass "$rest"; else fail "$rest"; fi
done <"$WORK/compare"
if grep -E "^\(lnlfer:[0-9]+\): .*(CRITICAL|WARNING)" "$OUT/logs/batch.log" | grep -v "Broken pipe" ||
  grep -i "lnlfer.*crash\|crash.*lnlfer" "$OUT/logs/batch.log"; then
  fail "batch: the plug-in crashed or logged warnings; see $OUT/logs/batch.log"
else
  pass "batch: no warning or crash of the plug-in in GIMP's log"
fi

echo "== returned vectors; each run's results on its layer group (scripting-tests.scm)"
gimp_batch "$OUT/logs/scripting.log" plug-in-script-fu-eval \
  "$scm_prelude (load \"$HERE/scripting-tests.scm\")"
collect "$OUT/logs/scripting.log" SCRIPTING-TESTS-DONE
if grep -E "^\(lnlfer:[0-9]+\): .*(CRITICAL|WARNING)" "$OUT/logs/scripting.log" | grep -v "Broken pipe"; then
  fail "scripting: the plug-in logged warnings; see $OUT/logs/scripting.log"
else
  pass "scripting: no warning of the plug-in in GIMP's log"
fi

echo "== the Script-Fu and Python-Fu examples of plugin/README.md"
# The fenced block after the README's line "<!-- example: NAME ...", as it is written there.
readme_example() {
  awk -v mark="<!-- example: $1 " 'index($0, mark) == 1 { found = 1; next }
    found && /^```/ { if (body) exit; body = 1; next }
    body { print }' "$SRC/plugin/README.md"
}
mkdir -p "$WORK/example"
python3 -c "import sys; from PIL import Image; Image.open(sys.argv[1]).convert('RGB').save(sys.argv[2], quality=95)" \
  "$SRC/tests/data/astronaut.png" "$WORK/example/photo.jpg"
(cd "$WORK/example" && gimp_batch "$OUT/logs/example-script-fu.log" plug-in-script-fu-eval \
  "$(readme_example script-fu)")
if grep -q "^1 faces: happiness at 1[67][0-9]\.0,[3-7][0-9]\.0$" "$OUT/logs/example-script-fu.log" &&
  [ -s "$WORK/example/photo-annotated.xcf" ]; then
  pass "README Script-Fu example: $(grep '^1 faces' "$OUT/logs/example-script-fu.log"), XCF saved"
else
  fail "README Script-Fu example; see $OUT/logs/example-script-fu.log"
fi
(cd "$WORK/example" && gimp_batch "$OUT/logs/example-python-fu.log" python-fu-eval \
  "$(readme_example python-fu)")
if grep -q "^1 faces$" "$OUT/logs/example-python-fu.log" &&
  grep -q "^happiness [0-9]*% at 1[67][0-9],[3-7][0-9], [0-9]* x [0-9]*$" "$OUT/logs/example-python-fu.log"; then
  pass "README Python-Fu example: $(grep '^happiness' "$OUT/logs/example-python-fu.log")"
else
  fail "README Python-Fu example; see $OUT/logs/example-python-fu.log"
fi

echo "== Script-Fu folder batch, loaded (plugin/lnlfer-batch.scm)"
mkdir -p "$WORK/photos" "$OUT/folder"
cp "$SRC/tests/data/astronaut.png" "$WORK/photos/"
printf 'not an image' >"$WORK/photos/broken.png"
gimp_batch "$OUT/logs/folder.log" plug-in-script-fu-eval \
  "(load \"$SRC/plugin/lnlfer-batch.scm\")
   (gimp-message (string-append \"FOLDER-TOTAL \" (number->string (lnlfer-annotate-folder \"$WORK/photos\" \"*.png\" \"$OUT/folder\" \"$OUT/folder/faces.csv\"))))"
if grep -q "FOLDER-TOTAL 1" "$OUT/logs/folder.log"; then pass "folder batch: 1 face in all"
else fail "folder batch: no \"FOLDER-TOTAL 1\" in $OUT/logs/folder.log"; fi
if [ "$(sed -n 1p "$OUT/folder/faces.csv" 2>/dev/null)" = "file,face,x,y,width,height,score,label,probability" ] &&
  [ "$(wc -l <"$OUT/folder/faces.csv")" -eq 2 ] && grep -q '^"[^"]*astronaut.png",0,17[0-9.]*,' "$OUT/folder/faces.csv"; then
  pass "folder batch: CSV with one row for the face: $(sed -n 2p "$OUT/folder/faces.csv")"
else
  fail "folder batch: unexpected $OUT/folder/faces.csv"
fi
if [ -s "$OUT/folder/astronaut-lnlfer.png" ] && [ -s "$OUT/folder/astronaut-lnlfer.xcf" ]; then
  pass "folder batch: annotated PNG and XCF saved"
else fail "folder batch: astronaut-lnlfer.png / .xcf missing"; fi

# A phone's photo stored on its side (EXIF orientation 6): turned upright as lnlfer's CLI
# reads it, so that both give the same boxes (the astronaut's face, x about 170-180).
mkdir -p "$WORK/turned" "$OUT/turned"
python3 -c "import sys; from PIL import Image; e = Image.Exif(); e[0x0112] = 6
Image.open(sys.argv[1]).convert('RGB').transpose(Image.Transpose.ROTATE_90).save(sys.argv[2], quality=95, exif=e.tobytes())" \
  "$SRC/tests/data/astronaut.png" "$WORK/turned/astronaut-turned.jpg"
gimp_batch "$OUT/logs/turned.log" plug-in-script-fu-eval \
  "(load \"$SRC/plugin/lnlfer-batch.scm\")
   (lnlfer-annotate-folder \"$WORK/turned\" \"*.jpg\" \"$OUT/turned\" \"$OUT/turned/faces.csv\")"
if grep -q '^"[^"]*astronaut-turned.jpg",0,1[78][0-9.]*,' "$OUT/turned/faces.csv" 2>/dev/null; then
  pass "folder batch: an EXIF-turned JPEG is turned upright: $(sed -n 2p "$OUT/turned/faces.csv")"
else
  fail "folder batch: EXIF-turned JPEG: $(cat "$OUT/turned/faces.csv" 2>/dev/null)"
fi

echo "== missing and corrupt weights"
head -c 4096 /dev/urandom >"$WORK/corrupt.safetensors"
printf '\377\000\000\000\000\000\000\000{' >"$WORK/truncated.safetensors"
for case in "LNLFER_WEIGHTS=$WORK/missing.safetensors:Cannot load the expression weights" \
  "LNLFER_WEIGHTS=$WORK/corrupt.safetensors:Cannot load the expression weights" \
  "LNLFER_WEIGHTS=$WORK/truncated.safetensors:Cannot load the expression weights" \
  "LNLFER_DETECTOR=$WORK/corrupt.safetensors:Cannot load the face detector weights"; do
  setting=${case%%:*} expected=${case#*:}
  name=$(basename "${setting#*=}" .safetensors)-${setting%%=*}
  log=$OUT/logs/weights-$name.log
  (export "${setting?}"
    gimp_batch "$log" plug-in-script-fu-eval "$scm_prelude (load \"$HERE/weights-tests.scm\")")
  collect "$log" WEIGHTS-TESTS-DONE
  if grep -q "$expected" "$log"; then pass "$name: the error says \"$expected\""
  else fail "$name: no \"$expected\" in $log"; fi
done

# The test build of the plug-in (plugin/testing.c: the shipped plug-in's objects, with a
# cancel through the engine's progress callback, a failing selection and its peak memory
# printed) in a profile of its own, for the huge image and the aborted runs.
new_profile "$WORK/profile-testing" "$BUILD/plugin/lnlfer-testing"

LARGE_SIDE=${LNLFER_GIMP_LARGE_SIDE:-30000}
echo "== a huge image: ${LARGE_SIDE} x ${LARGE_SIDE}"
# Peak resident memory (MB) of GIMP and of the plug-in, polled every second from the process
# tree under the batch run (the test build also reports its own peak).
tree_rss() { # ROOT_PID: "gimp_kB plugin_kB" of its descendants now
  ps -e -o pid=,ppid=,rss=,comm= | awk -v root="$1" '
    { parent[$1] = $2; rss[$1] = $3; comm[$1] = $4 }
    END {
      for (p in parent) {
        q = p; inside = 0
        for (n = 0; n < 20 && q > 1; n++) { if (q == root) { inside = 1; break } q = parent[q] }
        if (!inside) continue
        if (comm[p] ~ /^gimp-console/) g += rss[p]
        if (comm[p] == "lnlfer") l += rss[p]
      }
      print g + 0, l + 0
    }'
}
start=$(date +%s)
(export PROFILE=$WORK/profile-testing
  gimp_batch "$OUT/logs/large.log" plug-in-script-fu-eval \
    "(define large-side $LARGE_SIDE) $scm_prelude (load \"$HERE/large-tests.scm\")") &
batch=$!
gimp_peak=0 plugin_peak=0
while kill -0 "$batch" 2>/dev/null; do
  rss=$(tree_rss "$batch")
  [ "${rss% *}" -le "$gimp_peak" ] || gimp_peak=${rss% *}
  [ "${rss#* }" -le "$plugin_peak" ] || plugin_peak=${rss#* }
  sleep 1
done
wait "$batch"
seconds=$(($(date +%s) - start))
collect "$OUT/logs/large.log" LARGE-TESTS-DONE
reported=$(sed -n 's/^lnlfer: peak memory \([0-9]*\) MB$/\1/p' "$OUT/logs/large.log" | tail -n 1)
echo "huge image: ${seconds} s in all; peak memory: GIMP $((gimp_peak / 1024)) MB, plug-in $((plugin_peak / 1024)) MB polled, ${reported:-?} MB reported by the plug-in"
if [ -n "$reported" ] && [ "$reported" -lt 2048 ] && [ $((plugin_peak / 1024)) -lt 2048 ]; then
  pass "huge image: the plug-in stayed under 2 GB (${reported} MB)"
else
  fail "huge image: the plug-in's peak memory (${reported:-not reported} MB, polled $((plugin_peak / 1024)) MB) is not under 2 GB"
fi

echo "== aborted runs leave the image as it was"
for setting in LNLFER_TEST_CANCEL=1 LNLFER_TEST_FAIL_ANNOTATION=1; do
  log=$OUT/logs/abort-${setting%%=*}.log
  (export "${setting?}" PROFILE=$WORK/profile-testing
    gimp_batch "$log" plug-in-script-fu-eval "$scm_prelude (load \"$HERE/abort-tests.scm\")")
  collect "$log" ABORT-TESTS-DONE
done

echo "== text labels without fonts: drawn into the boxes layer"
gimp_batch "$OUT/logs/no-fonts.log" plug-in-script-fu-eval \
  "$scm_prelude (load \"$HERE/no-fonts-tests.scm\")"
collect "$OUT/logs/no-fonts.log" NO-FONTS-TESTS-DONE

echo "== translations"
LOCALES=$WORK/locales
mkdir -p "$LOCALES"
for pair in de:de_DE:Gesichtsausdrücke fr:fr_FR:Expressions es:es_ES:Expresiones ja:ja_JP:表情; do
  lang=${pair%%:*} rest=${pair#*:}
  locale=${rest%%:*} word=${rest#*:}
  if ! localedef -i "$locale" -f UTF-8 "$LOCALES/$locale.UTF-8" 2>/dev/null; then
    fail "$lang: cannot build the locale $locale.UTF-8 (localedef; package locales)"
    continue
  fi
  log=$OUT/logs/i18n-$lang.log
  rm -rf "$WORK/profile-$lang"
  new_profile "$WORK/profile-$lang"
  LOCPATH=$LOCALES LANG=$locale.UTF-8 LANGUAGE=$lang GIMP3_DIRECTORY=$WORK/profile-$lang \
    timeout "$TIMEOUT" gimp-console-3.0 -i --no-fonts --batch-interpreter=python-fu-eval -b '
p = Gimp.get_pdb().lookup_procedure("plug-in-lnlfer")
print("LABEL", p.get_menu_label())
print("NICKS", " | ".join(a.get_nick() for a in p.get_arguments()))
' --quit >"$log" 2>&1
  if grep -q "^LABEL .*$word" "$log" && ! grep -q "^NICKS .*Detection _threshold" "$log"; then
    pass "$lang: $(grep '^LABEL' "$log" | cut -c7-) / $(grep '^NICKS' "$log" | cut -d'|' -f4-5)"
  else
    fail "$lang: labels not translated; see $log"
  fi
  # The labels written on the image, as editable text layers, are translated too.
  [ "$lang" = de ] || continue
  log=$OUT/logs/i18n-$lang-text-labels.log
  LOCPATH=$LOCALES LANG=$locale.UTF-8 LANGUAGE=$lang GIMP3_DIRECTORY=$WORK/profile-$lang \
    timeout "$TIMEOUT" gimp-console-3.0 -i --batch-interpreter=plug-in-script-fu-eval -b "
(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$SRC/tests/data/astronaut.png\")))
       (r (plug-in-lnlfer #:run-mode RUN-NONINTERACTIVE #:image img
                          #:drawables (car (gimp-image-get-selected-drawables img))
                          #:text-labels TRUE))
       (group (vector-ref (car (gimp-image-get-layers img)) 0))
       (top (vector-ref (car (gimp-item-get-children group)) 0)))
  (display (string-append \"GROUP \" (car (gimp-item-get-name group)))) (newline)
  (display (string-append \"TEXT \" (car (gimp-text-layer-get-text top)))) (newline)
  (gimp-image-delete img))" --quit >"$log" 2>&1
  if grep -q "^TEXT Freude [0-9]*%" "$log" && grep -q "^GROUP Gesichtsausdrücke" "$log"; then
    pass "$lang: text-layer label and group name translated: $(grep '^TEXT' "$log" | cut -c6-)"
  else
    fail "$lang: text-layer label not translated; see $log"
  fi
done

echo "== menu, image types, help pages and icon, in English and German"
rm -rf "$WORK/profile-menu"
new_profile "$WORK/profile-menu"
for pair in en:C de:de_DE; do
  lang=${pair%%:*} locale=${pair#*:}.UTF-8
  LOCPATH=$LOCALES LANG=$locale LANGUAGE=$lang GIMP3_DIRECTORY=$WORK/profile-menu \
    timeout "$TIMEOUT" gimp-console-3.0 -i --no-fonts --batch-interpreter=python-fu-eval \
    -b "exec(open('$HERE/proc-info.py').read())" --quit >"$OUT/logs/menu-$lang.log" 2>&1
done
python3 "$HERE/menu-help-check.py" /usr/share/gimp/3.0/menus/image-menu.ui /usr/share/locale \
  "$WORK/profile-menu/pluginrc" en:"$OUT/logs/menu-en.log" de:"$OUT/logs/menu-de.log" \
  >"$OUT/logs/menu-check.log" 2>&1
collect "$OUT/logs/menu-check.log" MENU-CHECK-DONE

echo "== the detection defaults are the CLI's (ui/lnlfer-defaults.h)"
log=$OUT/logs/defaults.log
GIMP3_DIRECTORY=$WORK/profile timeout "$TIMEOUT" gimp-console-3.0 -i --no-fonts \
  --batch-interpreter=python-fu-eval -b '
config = Gimp.get_pdb().lookup_procedure("plug-in-lnlfer").create_config()
print("DEFAULTS %g %d %d" % (config.get_property("threshold"),
                             config.get_property("min-face-size"), config.get_property("max-faces")))
' --quit >"$log" 2>&1
plugin_defaults=$(sed -n 's/^DEFAULTS //p' "$log")
cli_defaults=$("$BUILD/cli/lnlfer" analyze --help | sed -n \
  -e 's/^ *--threshold T .*(default \([0-9.]*\))$/\1/p' \
  -e 's/^ *--min-size PX .*(default \([0-9]*\))$/\1/p' \
  -e 's/^ *--max-faces N .*(default \([0-9]*\))$/\1/p' | tr '\n' ' ')
if [ -n "$plugin_defaults" ] && [ "$plugin_defaults " = "$cli_defaults" ]; then
  pass "defaults: threshold, min-face-size, max-faces $plugin_defaults, as lnlfer analyze --help"
else
  fail "defaults: plug-in '$plugin_defaults', lnlfer analyze --help '$cli_defaults'; see $log"
fi

echo "== dialog and undo under Xvfb"
if ! command -v Xvfb >/dev/null || ! command -v xdotool >/dev/null || ! command -v import >/dev/null; then
  fail "dialog: needs Xvfb, xdotool and imagemagick's import (scripts/trixie-root create xdotool imagemagick)"
else
  # A free display number, chosen by Xvfb itself (-displayfd).
  Xvfb -displayfd 5 -screen 0 1400x1000x24 -nolisten tcp 5>"$WORK/display" >"$OUT/logs/xvfb.log" 2>&1 &
  XVFB_PID=$!
  for _ in $(seq 1 50); do [ -s "$WORK/display" ] && break; sleep 0.2; done
  export DISPLAY=:$(cat "$WORK/display")
  new_profile "$WORK/profile-dialog"
  sh "$HERE/dialog-test.sh" "$SRC" "$OUT" "$WORK/profile-dialog" >"$OUT/logs/dialog-driver.log" 2>&1
  collect "$OUT/logs/dialog-driver.log" DIALOG-TEST-DONE
  new_profile "$WORK/profile-undo"
  sh "$HERE/undo-test.sh" "$SRC" "$OUT" "$WORK/profile-undo" \
    >"$OUT/logs/undo-driver.log" 2>&1
  collect "$OUT/logs/undo-driver.log" UNDO-TEST-DONE
  # The folder batch as a Script-Fu plug-in: GIMP 3.0.4's Script-Fu interpreter needs a
  # display, even under gimp-console.
  new_profile "$WORK/profile-folder"
  sh "$HERE/folder-procedure-test.sh" "$SRC" "$OUT" "$WORK/profile-folder" "$WORK/folder-procedure" \
    >"$OUT/logs/folder-procedure-driver.log" 2>&1
  collect "$OUT/logs/folder-procedure-driver.log" FOLDER-PROCEDURE-TEST-DONE
  new_profile "$WORK/profile-help"
  sh "$HERE/help-button-test.sh" "$SRC" "$OUT" "$WORK/profile-help" \
    >"$OUT/logs/help-button-driver.log" 2>&1
  collect "$OUT/logs/help-button-driver.log" HELP-BUTTON-TEST-DONE
fi

echo "== $PASSES passed, $FAILS failed (images, screenshots and logs in $OUT)"
[ "$FAILS" -eq 0 ]
