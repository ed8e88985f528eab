#!/bin/bash
# The engine against ONNX Runtime and PyTorch on the identical network: one command.
#
#   tools/bench/run.sh [compare.py OPTIONS]     (as root: the Debian 13 root needs chroot)
#
# Creates or completes the Debian 13 root (scripts/trixie-root create: downloads it the
# first time, nothing to do when it is up to date), builds the engine inside it in
# build-trixie-bench (meson release build, lnlfer only), runs tools/bench/compare.py there
# and prints its table. The table is also written to build-trixie-bench/bench.txt and
# every number to build-trixie-bench/bench.json.
# Options, for example: --runs 500 --warmup 50, --photo PHOTO, --no-photo, --threads 1,2,4.
# Then, when ../shared/models/yunet/yunet_n_dynamic.onnx is there, the detector's YuNet
# operators against ONNX Runtime on that network (tools/bench/yunet_compare.py), table in
# build-trixie-bench/yunet.txt, numbers in build-trixie-bench/yunet.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=build-trixie-bench
scripts/trixie-root create
scripts/trixie-root run sh -c "
  set -e
  [ -f $BUILD/build.ninja ] || meson setup $BUILD --buildtype=release -Dplugin=disabled -Dwerror=false
  ninja -C $BUILD cli/lnlfer tools/bench/ops_bench"
# the table goes to the terminal as it is printed, and to $BUILD/bench.txt
scripts/trixie-root run python3 tools/bench/compare.py --lnlfer "$BUILD/cli/lnlfer" \
  --json "$BUILD/bench.json" "$@" | tee "$BUILD/bench.txt.new"
mv "$BUILD/bench.txt.new" "$BUILD/bench.txt"
echo "table: $BUILD/bench.txt, all numbers: $BUILD/bench.json"
YUNET=../shared/models/yunet/yunet_n_dynamic.onnx
if [ -f "$YUNET" ]; then
  scripts/trixie-root run --bind "$(cd .. && pwd -P)/shared" python3 tools/bench/yunet_compare.py \
    --ops-bench "$BUILD/tools/bench/ops_bench" --json "$BUILD/yunet.json" "$YUNET" |
    tee "$BUILD/yunet.txt.new"
  mv "$BUILD/yunet.txt.new" "$BUILD/yunet.txt"
  echo "YuNet table: $BUILD/yunet.txt, all numbers: $BUILD/yunet.json"
fi
