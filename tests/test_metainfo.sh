#!/bin/sh
# The AppStream metainfo: `appstreamcli validate --no-net` (offline: screenshot URLs are not
# fetched) on the built file, and on one configured with -Dhomepage-url and -Dscreenshots-url
# (no warning allowed), whose screenshot URLs must name PNGs committed under data/screenshots/
# (the convention of data/meson.build: URL = <screenshots-url>/<path in this repository>).
# usage: test_metainfo.sh SOURCE_DIR BUILT_METAINFO
set -u
SRC=$(cd "$1" && pwd -P) BUILT=$2
fails=0
ok() { echo "ok - $*"; }
bad() { echo "FAIL - $*"; fails=$((fails + 1)); }
command -v appstreamcli >/dev/null || { echo "FAIL - appstreamcli not found (Debian: appstream; scripts/install-deps installs it)"; exit 1; }
appstreamcli --version

validate() { # FILE WHAT
  if appstreamcli validate --no-net --explain "$1" >"$tmp/validate" 2>&1; then
    ok "$2: appstreamcli validate"
  else
    cat "$tmp/validate"
    bad "$2: appstreamcli validate"
  fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Without -Dhomepage-url the metainfo has no homepage, which appstreamcli 1.0 warns about
# (a failed validation): that warning, and only it, is accepted for the built file.
if grep -q '<url type="homepage">' "$BUILT"; then
  validate "$BUILT" "built metainfo"
elif appstreamcli validate --no-net "$BUILT" >"$tmp/validate" 2>&1 ||
  { grep -q '^W: .*url-homepage-missing' "$tmp/validate" &&
    [ "$(grep -E '^[EW]: ' "$tmp/validate" | grep -cv 'url-homepage-missing')" -eq 0 ]; }; then
  ok "built metainfo: appstreamcli validate (no homepage: -Dhomepage-url not set)"
else
  cat "$tmp/validate"
  bad "built metainfo: appstreamcli validate"
fi
grep -q "<extends>org.gimp.GIMP</extends>" "$BUILT" && grep -q '<component type="addon">' "$BUILT" &&
  ok "an addon extending org.gimp.GIMP" || bad "not an addon of org.gimp.GIMP"

# A configuration with the screenshots (only meson's configure step: no build).
url=https://example.org/lnlfer/raw/v1
if meson setup "$tmp/b" "$SRC" -Dplugin=disabled -Dscreenshots-url=$url/ \
  -Dhomepage-url=https://example.org/lnlfer >"$tmp/setup.log" 2>&1; then
  shots=$tmp/b/data/org.gimp.GIMP.Plugin.Lnlfer.metainfo.xml
  validate "$shots" "metainfo with homepage and screenshots"
  n=0
  for img in $(sed -n 's:.*<image>\(.*\)</image>.*:\1:p' "$shots"); do
    n=$((n + 1))
    path=${img#"$url/"}
    case $path in
      data/screenshots/*.png)
        if [ "$(head -c 8 "$SRC/$path" 2>/dev/null | od -An -c | tr -d ' ')" = '211PNG\r\n032\n' ]; then
          ok "screenshot $img is the committed PNG $path"
        else
          bad "screenshot $img: $path is not a PNG in the repository"
        fi
        ;;
      *) bad "screenshot $img does not follow <screenshots-url>/data/screenshots/NAME.png" ;;
    esac
  done
  [ "$n" -eq 2 ] && ok "two screenshots (dialog, annotated photo)" || bad "$n screenshots, not 2"
else
  cat "$tmp/setup.log"
  bad "meson setup -Dscreenshots-url"
fi

[ "$fails" -eq 0 ] || { echo "$fails failed"; exit 1; }
echo "all passed"
