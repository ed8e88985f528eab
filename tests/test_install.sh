#!/bin/sh
# `meson install` into a temporary DESTDIR (stripped, as distributions ship it), then checks:
#   - the licence (GPL-3.0 text), READMEs, the weights' notices, terms and model card are in
#     the documentation dir, and the weights with their notices in the data dir;
#   - the AppStream metainfo is installed;
#   - no installed program contains a path of the source or build tree (`strings`);
#   - the installed lnlfer looks for its weights only where they are installed: without
#     $LNLFER_WEIGHTS it does not find the source tree's, and with the installed files named
#     it classifies the sample face.
# usage: test_install.sh BUILD_DIR SOURCE_DIR PREFIX BINDIR DATADIR DOCDIR METAINFO_FILE
set -u
BUILD=$(cd "$1" && pwd -P) SRC=$(cd "$2" && pwd -P)
PREFIX=$3 BINDIR=$4 DATADIR=$5 DOCDIR=$6 METAINFO=$7
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
D=$tmp/root
fails=0
ok() { echo "ok - $*"; }
bad() { echo "FAIL - $*"; fails=$((fails + 1)); }

if ! meson install -C "$BUILD" --destdir "$D" --no-rebuild --strip >"$tmp/install.log" 2>&1; then
  cat "$tmp/install.log"
  echo "FAIL - meson install"
  exit 1
fi

for f in COPYING README.md README-plugin.md NOTICE.md MODEL_CARD.md LICENSE-blazeface.txt \
  LICENSE-yunet.txt; do
  [ -s "$D$DOCDIR/$f" ] && ok "installed $DOCDIR/$f" || bad "missing $DOCDIR/$f"
done
for f in lnlfer-expression.safetensors blazeface-back.safetensors yunet-n.safetensors NOTICE.md \
  MODEL_CARD.md LICENSE-blazeface.txt LICENSE-yunet.txt; do
  [ -s "$D$DATADIR/$f" ] && ok "installed $DATADIR/$f" || bad "missing $DATADIR/$f"
done
grep -q "GNU GENERAL PUBLIC LICENSE" "$D$DOCDIR/COPYING" 2>/dev/null &&
  grep -q "Version 3, 29 June 2007" "$D$DOCDIR/COPYING" &&
  ok "COPYING is the GPL version 3" || bad "COPYING is not the GPL-3.0 text"
grep -q "non-commercial research only" "$D$DATADIR/NOTICE.md" 2>/dev/null &&
  ok "the weights' notice states the research-only terms" ||
  bad "NOTICE.md beside the weights does not state the research-only terms"
grep -q "Apache License" "$D$DATADIR/LICENSE-blazeface.txt" 2>/dev/null &&
  ok "the detector's Apache licence is beside it" || bad "no Apache licence beside the detector"
grep -q "Apache License" "$D$DATADIR/LICENSE-yunet.txt" 2>/dev/null &&
  ok "YuNet's Apache licence is beside it" || bad "no Apache licence beside YuNet"
[ -s "$D$METAINFO" ] && ok "installed $METAINFO" || bad "missing $METAINFO"

# Every installed ELF file: no source- or build-tree path in it.
elves=0
find "$D" -type f >"$tmp/files"
while IFS= read -r f; do
  [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
  elves=$((elves + 1))
  name=${f#"$D"}
  if strings -a "$f" | grep -F -e "$SRC" -e "$BUILD" >"$tmp/paths"; then
    bad "$name contains build-tree paths: $(head -n 3 "$tmp/paths" | tr '\n' ' ')"
  else
    ok "$name: no source or build-tree path (strings)"
  fi
done <"$tmp/files"
[ "$elves" -gt 0 ] || bad "no installed program found"

LNLFER=$D$BINDIR/lnlfer
SAMPLE=$SRC/tests/data/astronaut-face.png
if [ -e "$DATADIR/lnlfer-expression.safetensors" ]; then
  echo "skip - weights are really installed in $DATADIR, so the lookup test cannot tell"
else
  env -u LNLFER_WEIGHTS -u LNLFER_DETECTOR "$LNLFER" classify "$SAMPLE" >"$tmp/out" 2>"$tmp/err"
  st=$?
  if [ "$st" -eq 1 ] && grep -q "no lnlfer-expression.safetensors found" "$tmp/err" &&
    grep -qF "$DATADIR/lnlfer-expression.safetensors" "$tmp/err" && ! grep -qF "$SRC" "$tmp/err"; then
    ok "installed lnlfer looks in $DATADIR, not in the source tree"
  else
    bad "installed lnlfer without weights: exit $st, $(cat "$tmp/err")"
  fi
fi
LNLFER_WEIGHTS=$D$DATADIR/lnlfer-expression.safetensors \
  LNLFER_DETECTOR=$D$DATADIR/blazeface-back.safetensors "$LNLFER" classify "$SAMPLE" \
  >"$tmp/out" 2>"$tmp/err" && grep -q "astronaut-face.png" "$tmp/out" &&
  ok "installed lnlfer classifies with the installed weights" ||
  bad "installed lnlfer with the installed weights: $(cat "$tmp/err")"

[ "$fails" -eq 0 ] || { echo "$fails failed"; exit 1; }
echo "all passed"
