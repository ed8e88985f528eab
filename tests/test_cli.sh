#!/bin/sh
# lnlfer classify end to end: CSV columns and values, JSON, errors and exit codes.
# usage: test_cli.sh LNLFER WEIGHTS SAMPLE_IMAGE
set -u
LNLFER=$1 WEIGHTS=$2 SAMPLE=$3
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fail=1; }

"$LNLFER" classify --weights "$WEIGHTS" "$SAMPLE" >"$tmp/out.csv" 2>"$tmp/err" || bad "classify exits 0"
header=$(head -n 1 "$tmp/out.csv")
want="file,label,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,w0,w1,w2,w3,w4,w5,w6,w7,w8"
[ "$header" = "$want" ] && ok "CSV header" || bad "CSV header is '$header'"
python3 - "$tmp/out.csv" <<'PY' && ok "CSV values" || bad "CSV values"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 1, rows
r = rows[0]
classes = "neutral happiness surprise sadness anger disgust fear contempt".split()
p = [float(r[c]) for c in classes]
w = [float(r[f"w{i}"]) for i in range(9)]
assert abs(sum(p) - 1) < 1e-4 and abs(sum(w) - 1) < 1e-4, (p, w)
assert r["label"] == classes[p.index(max(p))], r
PY

"$LNLFER" classify --weights "$WEIGHTS" --format json "$SAMPLE" "$SAMPLE" >"$tmp/out.json" || bad "json exits 0"
python3 - "$tmp/out.json" <<'PY' && ok "JSON output" || bad "JSON output"
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d) == 2 and d[0]["label"] and len(d[0]["regions"]) == 9
assert abs(sum(d[0]["probabilities"].values()) - 1) < 1e-4
assert all(len(r["box"]) == 4 for r in d[0]["regions"])
PY

printf 'not an image' >"$tmp/bad.png"
"$LNLFER" classify --weights "$WEIGHTS" "$tmp/bad.png" "$SAMPLE" >"$tmp/mixed.csv" 2>"$tmp/err"
[ $? -eq 1 ] && ok "bad image exits 1" || bad "bad image exit code"
grep -q "cannot read image" "$tmp/err" && ok "bad image message" || bad "bad image message"
[ "$(wc -l <"$tmp/mixed.csv")" -eq 2 ] && ok "good image still classified" || bad "mixed run rows"

head -c 100 "$WEIGHTS" >"$tmp/trunc.safetensors"
"$LNLFER" classify --weights "$tmp/trunc.safetensors" "$SAMPLE" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "trunc.safetensors" "$tmp/err" && ok "corrupt weights refused" || bad "corrupt weights"

# no --weights and nothing to find: says where it looked
LNLFER_WEIGHTS="$tmp/none.safetensors" "$LNLFER" classify "$SAMPLE" >/dev/null 2>"$tmp/err"
if grep -q "no lnlfer-expression.safetensors found" "$tmp/err"; then
  grep -q "$tmp/none.safetensors" "$tmp/err" && ok "missing weights lists places" || bad "places"
else
  ok "shipped weights found without --weights"
fi

"$LNLFER" classify --format xml "$SAMPLE" >/dev/null 2>&1
[ $? -eq 2 ] && ok "bad option exits 2" || bad "bad option exit code"
"$LNLFER" classify >/dev/null 2>&1
[ $? -eq 2 ] && ok "no image exits 2" || bad "no image exit code"
exit $fail
