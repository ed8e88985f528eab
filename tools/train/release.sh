#!/bin/sh
# From a finished training run to shipped weights, in one command:
#
#   tools/train/release.sh [RUN] [DATA]        (defaults: runs/main ../shared/data)
#
# exports RUN/best.pt to weights/lnlfer-expression.safetensors with the engine's parity
# goldens (tests/data/golden.safetensors), builds the engine's command-line tool, measures
# the weights through it (FER+ valid with both yardsticks, (a) arg-max and (b) the FERPlus
# reference protocol; RAF-DB validation part; detect + align loss; region weights against
# greyed-out regions), draws the region-weight figure and writes weights/MODEL_CARD.md from
# the log and those measurements.
# The evaluation results are kept in RUN/eval-*.json. region_eval.py reads (and adds to)
# the trainer's landmarks file, runs/cache/landmarks.json unless LANDMARKS names another.
set -eu
cd "$(dirname "$0")/../.."
RUN=${1:-runs/main}
DATA=${2:-../shared/data}
PY=/usr/bin/python3

[ -f "$RUN/best.pt" ] || { echo "release.sh: $RUN/best.pt not found (train first)" >&2; exit 1; }
$PY tools/train/export.py "$RUN/best.pt" --out weights/lnlfer-expression.safetensors \
  --golden tests/data/golden.safetensors --align weights/align-template.json
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build cli/lnlfer
W=weights/lnlfer-expression.safetensors
$PY tools/train/evaluate.py "$DATA/ferplus/valid" --weights "$W" --json "$RUN/eval-fer.json"
$PY tools/train/evaluate.py "$DATA/rafdb" --raf-split valid --weights "$W" \
  --json "$RUN/eval-raf.json"
$PY tools/eval/align_eval.py "$DATA" --weights "$W" --json "$RUN/eval-align.json"
$PY tools/eval/region_eval.py "$DATA" --weights "$W" --landmarks "${LANDMARKS:-runs/cache/landmarks.json}" \
  --json "$RUN/eval-regions.json"
$PY tools/train/plot_regions.py "$RUN/log.jsonl" -o weights/region-weights.png
$PY tools/train/model_card.py --log "$RUN/log.jsonl" --weights "$W" --fer "$RUN/eval-fer.json" \
  --raf "$RUN/eval-raf.json" --align "$RUN/eval-align.json" --regions "$RUN/eval-regions.json" \
  --figure region-weights.png \
  --template tools/train/MODEL_CARD.template.md --out weights/MODEL_CARD.md
