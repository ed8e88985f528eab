#!/bin/sh
# The Flatpak extension's install, in real GIMP (Debian 13 root, as root): configures lnlfer
# with the prefix and the lnlfer module's config-opts of flatpak/org.gimp.GIMP.Plugin.Lnlfer.json,
# installs it into a staging folder, lays it out as GIMP's Flatpak does (the prefix at
# /app/extensions/Lnlfer, bind-mounted here; its plug-ins/ merged into /app/extensions/plug-ins),
# and runs the Script-Fu batch tests (batch-tests.scm) with that folder as GIMP's plug-in path
# (a test gimprc), so the plug-in finds its weights only through the installed data dir.
# Also prints and checks where the plug-in's cblas_sgemm comes from: its NEEDED entries, and
# the loader's bindings (LD_DEBUG=bindings with LD_BIND_NOW=1).
# usage: prefix-install-test.sh SRCDIR OUTDIR. Exit status 0 passed, 77 skipped, 1 failed.
set -u
SRC=$(cd "$1" && pwd) OUT=$2
HERE=$SRC/tests/plugin
MANIFEST=$SRC/flatpak/org.gimp.GIMP.Plugin.Lnlfer.json
command -v gimp-console-3.0 >/dev/null || { echo "SKIP: no gimp-console-3.0"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (bind mount at /app)"; exit 77; }
[ -z "$(ls -A /app 2>/dev/null)" ] || { echo "SKIP: /app exists here and is not empty"; exit 77; }
mkdir -p "$OUT/logs" "$OUT/prefix"
WORK=$(mktemp -d)
made_app=0
cleanup() {
  umount /app 2>/dev/null
  [ "$made_app" = 0 ] || rmdir /app
  rm -rf "$WORK"
}
trap cleanup EXIT
fails=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

# The manifest's prefix and the lnlfer module's meson options.
python3 - "$MANIFEST" >"$WORK/opts" <<'PY' || { echo "FAIL manifest: cannot read $MANIFEST"; exit 1; }
import json, sys
m = json.load(open(sys.argv[1]))
mod = [x for x in m["modules"] if x["name"] == "lnlfer"][0]
assert mod["buildsystem"] == "meson"
print(m["build-options"]["prefix"])
print(" ".join(mod["config-opts"]))
PY
PREFIX=$(sed -n 1p "$WORK/opts") OPTS=$(sed -n 2p "$WORK/opts")
echo "prefix $PREFIX, options $OPTS"
case $PREFIX in /app/extensions/*) ;; *) echo "FAIL prefix $PREFIX is not under /app/extensions"; exit 1 ;; esac

# shellcheck disable=SC2086 # OPTS is a list of options
if ! meson setup "$WORK/build" "$SRC" --prefix="$PREFIX" $OPTS >"$OUT/logs/prefix-setup.log" 2>&1 ||
  ! ninja -C "$WORK/build" >"$OUT/logs/prefix-build.log" 2>&1 ||
  ! meson install -C "$WORK/build" --destdir "$WORK/stage" --no-rebuild >"$OUT/logs/prefix-install.log" 2>&1; then
  echo "FAIL configure, build or install with the manifest's options; see $OUT/logs/prefix-*.log"
  exit 1
fi
STAGE=$WORK/stage/app
PLUGIN=$PREFIX/plug-ins/lnlfer/lnlfer
[ -x "$WORK/stage$PLUGIN" ] && pass "prefix: plug-in installed as $PLUGIN" ||
  fail "prefix: no $PLUGIN; installed: $(cd "$WORK/stage" && find . -type f | head -n 20 | tr '\n' ' ')"
for f in share/lnlfer/lnlfer-expression.safetensors share/lnlfer/blazeface-back.safetensors \
  share/doc/lnlfer/COPYING share/doc/lnlfer/NOTICE.md \
  share/metainfo/org.gimp.GIMP.Plugin.Lnlfer.metainfo.xml; do
  [ -s "$WORK/stage$PREFIX/$f" ] && pass "prefix: $PREFIX/$f" || fail "prefix: no $PREFIX/$f"
done
BATCH=$PREFIX/plug-ins/lnlfer-batch/lnlfer-batch.scm
[ -x "$WORK/stage$BATCH" ] && pass "prefix: folder batch installed as $BATCH, executable" ||
  fail "prefix: no executable $BATCH"
# GIMP's Flatpak merges every extension's plug-ins/ into /app/extensions/plug-ins.
mkdir -p "$STAGE/extensions/plug-ins"
for dir in "$WORK/stage$PREFIX"/plug-ins/*/; do
  name=$(basename "$dir")
  ln -s "../${PREFIX#/app/extensions/}/plug-ins/$name" "$STAGE/extensions/plug-ins/$name"
done
[ -e /app ] || { mkdir /app && made_app=1; }
mount --bind "$STAGE" /app || { echo "FAIL cannot bind-mount $STAGE at /app"; exit 1; }

echo "== where the plug-in's cblas_sgemm comes from"
readelf -d "$PLUGIN" | grep NEEDED | tee "$OUT/logs/prefix-needed.txt"
LD_BIND_NOW=1 LD_DEBUG=bindings LD_DEBUG_OUTPUT=$WORK/bind "$PLUGIN" >/dev/null 2>&1
binding=$(cat "$WORK"/bind.* 2>/dev/null | grep "symbol \`cblas_sgemm'" | head -n 1)
if grep -q "libopenblas" "$OUT/logs/prefix-needed.txt"; then
  lib=$(echo "$binding" | sed -n "s/.* to \([^ ]*\) \[.*/\1/p")
  echo "dynamic: ${binding:-no binding of cblas_sgemm}"
  if [ -n "$lib" ] && nm -D --defined-only "$lib" | grep -q " cblas_sgemm$"; then
    pass "cblas: cblas_sgemm bound to $lib, which defines it"
  else
    fail "cblas: cblas_sgemm not bound to a library defining it: '$binding'"
  fi
else
  echo "static: linked $(grep -o '[^ ]*libopenblas[^ ]*\.a' "$WORK/build/build.ninja" | sort -u | tr '\n' ' ')"
  nm "$WORK/build/plugin/lnlfer" | grep " cblas_sgemm$"
  if nm "$WORK/build/plugin/lnlfer" | grep -q " [Tt] cblas_sgemm$" && [ -z "$binding" ] &&
    ! nm -D --undefined-only "$PLUGIN" | grep -q cblas_ && grep -q "binding file" "$WORK"/bind.*; then
    pass "cblas: OpenBLAS linked statically: cblas_sgemm is the plug-in's own (no libopenblas NEEDED, no binding to another object)"
  else
    fail "cblas: no libopenblas NEEDED, but cblas_sgemm is not the plug-in's own: '$binding'"
  fi
  # The copy must not be exported: a libopenblas.so that GEGL loads into the plug-in would
  # bind to its globals.
  if nm -D --defined-only "$PLUGIN" | grep -E " (cblas_sgemm|gotoblas|blas_[a-z_]*)$" >"$WORK/exported"; then
    fail "cblas: the plug-in exports OpenBLAS symbols: $(head -n 3 "$WORK/exported" | tr '\n' ' ')"
  else
    pass "cblas: the static OpenBLAS's symbols are not exported"
  fi
fi

echo "== Script-Fu batch tests, the plug-in found through a gimprc plug-in-path"
PROFILE=$WORK/profile
mkdir -p "$PROFILE"
printf '(plug-in-path "${gimp_dir}/plug-ins:/app/extensions/plug-ins:${gimp_plug_in_dir}/plug-ins")\n' \
  >"$PROFILE/gimprc"
GIMP3_DIRECTORY=$PROFILE timeout "${LNLFER_GIMP_TIMEOUT:-2400}" gimp-console-3.0 -i \
  --batch-interpreter=plug-in-script-fu-eval \
  -b "(define srcdir \"$SRC\") (define outdir \"$OUT/prefix\") (load \"$HERE/common.scm\")
      (load \"$HERE/batch-tests.scm\")" --quit >"$OUT/logs/prefix-batch.log" 2>&1
n=$(grep -c "^PASS " "$OUT/logs/prefix-batch.log")
grep "^FAIL " "$OUT/logs/prefix-batch.log" && fail "batch: failures above; see $OUT/logs/prefix-batch.log"
if grep -q "^BATCH-TESTS-DONE" "$OUT/logs/prefix-batch.log" && [ "$n" -gt 0 ]; then
  pass "batch: $n checks passed with the plug-in from $PREFIX"
else
  fail "batch: did not run to its end; see $OUT/logs/prefix-batch.log"
fi

[ "$fails" -eq 0 ] || { echo "$fails failed"; exit 1; }
echo "all passed"
