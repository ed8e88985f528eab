#!/bin/sh
# The dialog's Help button in real GIMP (gimp-3.0 under Xvfb; the caller sets DISPLAY): GIMP's
# help system, set to use the web browser, must open the plug-in's own page. The "browser" is
# a stand-in desktop entry, made the handler of HTML files, that writes the URL it is given.
# A Script-Fu batch opens the dialog; this script clicks Help, checks the URL (a file that
# exists, the English page: the run is in English), presses Escape, and prints PASS/FAIL lines
# and HELP-BUTTON-TEST-DONE.
# usage: help-button-test.sh SRCDIR OUTDIR PROFILE-DIR (a GIMP profile with the plug-in installed)
set -u
SRC=$1 OUT=$2 PROFILE=$3
LOG=$OUT/logs/help-button.log
URLS=$PROFILE/opened-urls
rm -f "$URLS"
printf '(show-welcome-dialog no)\n(help-browser web-browser)\n' >>"$PROFILE/gimprc"
mkdir -p "$PROFILE/xdg-data/applications" "$PROFILE/xdg-config"
cat >"$PROFILE/record-url" <<REC
#!/bin/sh
echo "\$1" >>"$URLS"
REC
chmod +x "$PROFILE/record-url"
cat >"$PROFILE/xdg-data/applications/lnlfer-test-browser.desktop" <<DESKTOP
[Desktop Entry]
Type=Application
Name=lnlfer test browser
Exec=$PROFILE/record-url %u
MimeType=text/html;
DESKTOP
printf '[Default Applications]\ntext/html=lnlfer-test-browser.desktop\n' >"$PROFILE/xdg-config/mimeapps.list"

GIMP_LOG=help LANGUAGE=en XDG_DATA_HOME=$PROFILE/xdg-data XDG_CONFIG_HOME=$PROFILE/xdg-config \
  GIMP3_DIRECTORY=$PROFILE timeout 600 gimp-3.0 -n -s --no-fonts \
  --batch-interpreter=plug-in-script-fu-eval -b "
(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$SRC/tests/data/astronaut.png\"))))
  (plug-in-lnlfer #:run-mode RUN-INTERACTIVE #:image img
                  #:drawables (car (gimp-image-get-selected-drawables img)))
  (gimp-image-delete img))" --quit >"$LOG" 2>&1 &
GIMP_PID=$!

win=
for _ in $(seq 1 1200); do
  win=$(xdotool search --onlyvisible --name "^Facial Expressions$" 2>/dev/null | head -n 1)
  [ -n "$win" ] && break
  sleep 0.5
done
if [ -z "$win" ]; then
  echo "FAIL help button: no dialog window appeared; see $LOG"
else
  sleep 2
  eval "$(xdotool getwindowgeometry --shell "$win")"
  # Help is the first button of the action area, at the bottom left.
  xdotool mousemove $((X + 45)) $((Y + HEIGHT - 25)) click 1
  for _ in $(seq 1 120); do
    [ -s "$URLS" ] && break
    sleep 0.5
  done
  import -window root "$OUT/help-button.png"
  url=$(head -n 1 "$URLS" 2>/dev/null)
  # (The handler gets a local file as a path, else as a file:// URI.)
  file=$(python3 -c 'import sys, urllib.parse as u; print(u.unquote(u.urlparse(sys.argv[1]).path))' "$url")
  case $url in
    file://*/help/en/lnlfer.html | /*/help/en/lnlfer.html)
      if [ -s "$file" ]; then echo "PASS help button: GIMP opened $url, the installed page"
      else echo "FAIL help button: GIMP opened $url, which does not exist"; fi ;;
    "") echo "FAIL help button: GIMP opened no page (see $LOG and $OUT/help-button.png)" ;;
    *) echo "FAIL help button: GIMP opened $url, not lnlfer's English page" ;;
  esac
  xdotool key --window "$win" Escape
fi
# Escape cancels the dialog and the batch quits GIMP; stop it if it has not within a minute.
for _ in $(seq 1 60); do kill -0 "$GIMP_PID" 2>/dev/null || break; sleep 1; done
kill "$GIMP_PID" 2>/dev/null
wait "$GIMP_PID" 2>/dev/null
echo HELP-BUTTON-TEST-DONE
