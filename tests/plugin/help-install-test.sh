#!/bin/sh
# The plug-in's help pages and icon after `meson install` into a temporary DESTDIR: for every
# language of the help domain (en and de at least), <datadir>/help/<lang>/gimp-help.xml maps
# the procedure's help id (plug-in-lnlfer, which GIMP looks up there: resources.c) to a page
# that is installed; the icon is an installed PNG; the plug-in is installed under the same
# prefix as its data (by default).
# usage: help-install-test.sh BUILD_DIR PREFIX DATADIR PLUGIN_DIR DEFAULT_LAYOUT(true|false)
set -u
BUILD=$1 PREFIX=$2 DATADIR=$3 PLUGIN_DIR=$4 DEFAULT_LAYOUT=$5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
D=$tmp/root
fails=0
ok() { echo "ok - $*"; }
bad() { echo "FAIL - $*"; fails=$((fails + 1)); }

if ! meson install -C "$BUILD" --destdir "$D" --no-rebuild >"$tmp/install.log" 2>&1; then
  cat "$tmp/install.log"
  echo "FAIL - meson install"
  exit 1
fi

help=$D$DATADIR/help
for lang in en de; do
  [ -d "$help/$lang" ] || bad "no help pages in $DATADIR/help/$lang"
done
for dir in "$help"/*/; do
  lang=$(basename "$dir")
  page=$(python3 - "$dir/gimp-help.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
items = {i.get("id"): i.get("ref") for i in ET.parse(sys.argv[1]).getroot().iter("help-item")}
print(items.get("plug-in-lnlfer") or "")
PY
  )
  if [ -n "$page" ] && [ -s "$dir/$page" ]; then
    ok "$lang: gimp-help.xml maps plug-in-lnlfer to the installed $DATADIR/help/$lang/$page"
  else
    bad "$lang: plug-in-lnlfer maps to '${page}', which is not installed in $DATADIR/help/$lang"
  fi
done

if [ "$(head -c 8 "$D$DATADIR/lnlfer.png" 2>/dev/null | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ]; then
  ok "the icon is installed: $DATADIR/lnlfer.png"
else
  bad "no PNG icon at $DATADIR/lnlfer.png"
fi

[ -x "$D$PLUGIN_DIR/lnlfer" ] && ok "the plug-in is installed: $PLUGIN_DIR/lnlfer" ||
  bad "no plug-in at $PLUGIN_DIR/lnlfer"
if [ "$DEFAULT_LAYOUT" = true ]; then
  case $PLUGIN_DIR in
    "$PREFIX"/*) ok "plug-in and data share the prefix $PREFIX" ;;
    *) bad "the plug-in ($PLUGIN_DIR) is not under the prefix $PREFIX of its data" ;;
  esac
fi

[ "$fails" -eq 0 ] || { echo "$fails failed"; exit 1; }
echo "all passed"
