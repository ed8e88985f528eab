#!/bin/sh
# Undo in real GIMP: gimp-3.0 with its GUI under Xvfb (the caller sets DISPLAY) runs
# undo-test.py as a batch; when the plug-in has run, this script presses Ctrl+Z once in
# the image window, then prints the batch's checks (PASS/FAIL lines) and UNDO-TEST-DONE.
# usage: undo-test.sh SRCDIR OUTDIR PROFILE-DIR (a GIMP profile with the plug-in installed)
set -u
SRC=$1 OUT=$2 PROFILE=$3
LOG=$OUT/logs/undo.log
rm -f "$OUT/undo-ready"
echo "(show-welcome-dialog no)" >>"$PROFILE/gimprc"

LNLFER_SRC=$SRC LNLFER_OUT=$OUT GIMP3_DIRECTORY=$PROFILE timeout 600 gimp-3.0 -n -s \
  --batch-interpreter=python-fu-eval -b "exec(open('$SRC/tests/plugin/undo-test.py').read())" \
  --quit >"$LOG" 2>&1 &
GIMP_PID=$!

for _ in $(seq 1 1200); do
  [ -e "$OUT/undo-ready" ] && break
  sleep 0.5
done
if [ ! -e "$OUT/undo-ready" ]; then
  echo "FAIL undo: the plug-in did not run in gimp-3.0; see $LOG"
  kill "$GIMP_PID" 2>/dev/null
else
  sleep 1
  # The image window's title names the image; without a window manager, focus it and
  # put the pointer over the canvas so that the key goes to the image.
  for w in $(xdotool search --onlyvisible --name "."); do echo "window $w: $(xdotool getwindowname "$w")"; done
  win=$(xdotool search --onlyvisible --name "[0-9]+x[0-9]+ .*GIMP$" | head -n 1)
  echo "GIMP image window: $win ($(xdotool getwindowname "$win"))"
  import -window root "$OUT/undo-before.png"
  xdotool windowfocus --sync "$win"
  xdotool mousemove --window "$win" 400 300
  xdotool key --clearmodifiers --window "$win" ctrl+z
  sleep 3
  import -window root "$OUT/undo-after.png"
fi
wait "$GIMP_PID"
grep "^PASS \|^FAIL " "$LOG"
grep -q "^UNDO-BATCH-DONE" "$LOG" || echo "FAIL undo: the batch did not finish; see $LOG"
echo UNDO-TEST-DONE
