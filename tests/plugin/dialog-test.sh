#!/bin/sh
# The dialog in real GIMP under Xvfb (the caller sets DISPLAY): a Script-Fu batch calls
# plug-in-lnlfer with RUN-INTERACTIVE; this script waits for the dialog and its preview,
# takes a screenshot (OUT/dialog.png), presses OK and prints the batch's checks of the
# result (PASS/FAIL lines), then DIALOG-TEST-DONE.
# usage: dialog-test.sh SRCDIR OUTDIR PROFILE-DIR (a GIMP profile with the plug-in installed)
set -u
SRC=$1 OUT=$2 PROFILE=$3
HERE=$SRC/tests/plugin
LOG=$OUT/logs/dialog.log

GIMP3_DIRECTORY=$PROFILE timeout 900 gimp-console-3.0 -i --no-fonts \
  --batch-interpreter=plug-in-script-fu-eval -b "
(define srcdir \"$SRC\") (define outdir \"$OUT\") (load \"$HERE/common.scm\")
(let* ((img (load-image astronaut))
       (r (plug-in-lnlfer #:run-mode RUN-INTERACTIVE #:image img #:drawables (source img))))
  (check-annotated \"dialog\" img r 1 1)
  (save-flat img (out \"dialog-result.png\") #f)
  (gimp-image-delete img))
(say \"DIALOG-BATCH-DONE\")" --quit >"$LOG" 2>&1 &
GIMP_PID=$!

# The dialog's window (its title is the dialog title).
win=
for _ in $(seq 1 1200); do
  win=$(xdotool search --onlyvisible --name "^Facial Expressions$" 2>/dev/null | head -n 1)
  [ -n "$win" ] && break
  sleep 0.5
done
if [ -z "$win" ]; then
  echo "FAIL dialog: no dialog window appeared; see $LOG"
  kill "$GIMP_PID" 2>/dev/null
else
  # Wait for the preview (analysis and drawing): until the plug-in process stops using CPU.
  pid=$(pgrep -f "plug-ins/lnlfer/lnlfer -gimp" | head -n 1)
  prev=-1
  for _ in $(seq 1 600); do
    now=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null)
    [ "$now" = "$prev" ] && break
    prev=$now
    sleep 2
  done
  import -window root "$OUT/dialog.png"
  eval "$(xdotool getwindowgeometry --shell "$win")"
  echo "dialog window $WIDTH x $HEIGHT at $X,$Y"
  # OK is the last button of the action area, at the bottom right.
  xdotool mousemove $((X + WIDTH - 50)) $((Y + HEIGHT - 25)) click 1
fi
wait "$GIMP_PID"
grep "^PASS \|^FAIL " "$LOG"
grep -q "^DIALOG-BATCH-DONE" "$LOG" || echo "FAIL dialog: the batch did not finish; see $LOG"
echo DIALOG-TEST-DONE
