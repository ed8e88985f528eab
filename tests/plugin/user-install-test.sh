#!/bin/sh
# The per-user install, in real GIMP (Debian 13 root): configures lnlfer with
# -Dplugin-user-install=true for a fresh GIMP profile (GIMP3_DIRECTORY), installs it there
# (the rest of the install goes into a scratch prefix, so that only the profile can serve the
# plug-in), checks the profile's layout, and runs the Script-Fu batch tests (batch-tests.scm)
# with GIMP started on that profile alone: the plug-in, its weights, help pages and icon come
# from the profile and nowhere else.
# usage: user-install-test.sh SRCDIR OUTDIR. Exit status 0 passed, 77 skipped, 1 failed.
set -u
SRC=$(cd "$1" && pwd) OUT=$2
HERE=$SRC/tests/plugin
command -v gimp-console-3.0 >/dev/null || { echo "SKIP: no gimp-console-3.0"; exit 77; }
mkdir -p "$OUT/logs" "$OUT/user"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fails=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

PROFILE=$WORK/profile
mkdir -p "$PROFILE"
if ! GIMP3_DIRECTORY=$PROFILE meson setup "$WORK/build" "$SRC" --prefix="$WORK/prefix" \
  --buildtype=release -Dplugin=enabled -Dplugin-user-install=true -Dcli=disabled \
  >"$OUT/logs/user-setup.log" 2>&1 ||
  ! ninja -C "$WORK/build" >"$OUT/logs/user-build.log" 2>&1 ||
  ! meson install -C "$WORK/build" --no-rebuild >"$OUT/logs/user-install.log" 2>&1; then
  echo "FAIL configure, build or install for the user's profile; see $OUT/logs/user-*.log"
  exit 1
fi
DIR=$PROFILE/plug-ins/lnlfer
[ -x "$DIR/lnlfer" ] && pass "profile: plug-in installed as plug-ins/lnlfer/lnlfer" ||
  fail "profile: no plug-ins/lnlfer/lnlfer; installed: $(cd "$PROFILE" && find . -type f | head -n 20 | tr '\n' ' ')"
for f in weights/lnlfer-expression.safetensors weights/blazeface-back.safetensors \
  weights/NOTICE.md COPYING lnlfer.png help/en/gimp-help.xml help/en/lnlfer.html; do
  [ -s "$DIR/$f" ] && pass "profile: plug-ins/lnlfer/$f" || fail "profile: no plug-ins/lnlfer/$f"
done
[ -x "$PROFILE/plug-ins/lnlfer-batch/lnlfer-batch.scm" ] &&
  pass "profile: folder batch installed executable beside the plug-in" ||
  fail "profile: no executable plug-ins/lnlfer-batch/lnlfer-batch.scm"
# The plug-in must not lean on the source or build tree for its data.
if grep -a -q -e "$SRC" -e "$WORK/build" "$DIR/lnlfer"; then
  fail "profile: the installed plug-in names the source or build tree"
else
  pass "profile: the installed plug-in names neither the source nor the build tree"
fi
# Move the build and the scratch prefix away, so that nothing but the profile can serve the
# plug-in while GIMP runs (the prefix's share/lnlfer would otherwise hold weights too).
mv "$WORK/build" "$WORK/build-gone"
mv "$WORK/prefix" "$WORK/prefix-gone"

echo "== Script-Fu batch tests, the plug-in from the user's profile"
GIMP3_DIRECTORY=$PROFILE timeout "${LNLFER_GIMP_TIMEOUT:-2400}" gimp-console-3.0 -i \
  --batch-interpreter=plug-in-script-fu-eval \
  -b "(define srcdir \"$SRC\") (define outdir \"$OUT/user\") (load \"$HERE/common.scm\")
      (load \"$HERE/batch-tests.scm\")" --quit >"$OUT/logs/user-batch.log" 2>&1
n=$(grep -c "^PASS " "$OUT/logs/user-batch.log")
grep "^FAIL " "$OUT/logs/user-batch.log" && fail "batch: failures above; see $OUT/logs/user-batch.log"
if grep -q "^BATCH-TESTS-DONE" "$OUT/logs/user-batch.log" && [ "$n" -gt 0 ]; then
  pass "batch: $n checks passed with the plug-in from the user's profile"
else
  fail "batch: did not run to its end; see $OUT/logs/user-batch.log"
fi

[ "$fails" -eq 0 ] || { echo "$fails failed"; exit 1; }
echo "all passed"
