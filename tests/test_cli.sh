#!/bin/sh
# lnlfer end to end: classify (CSV columns and values, JSON, errors and exit codes), detect,
# analyze and annotate.
# usage: test_cli.sh LNLFER WEIGHTS SAMPLE_IMAGE DETECTOR PHOTO
set -u
LNLFER=$1 WEIGHTS=$2 SAMPLE=$3 DETECTOR=$4 PHOTO=$5
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

# --align: the face found in the crop and aligned first (JSON says so); a crop without a
# face is classified in the framing assumed for crops; the shipped weights (trained on
# aligned crops) align by default, and --align off classifies the crop as it is
"$LNLFER" classify --weights "$WEIGHTS" --align on --detector "$DETECTOR" --format json \
  "$SAMPLE" >"$tmp/aligned.json" || bad "--align on exits 0"
"$LNLFER" classify --weights "$WEIGHTS" --align off --format json "$SAMPLE" >"$tmp/off.json" \
  || bad "--align off exits 0"
{ printf 'P6\n16 16\n255\n'; head -c 768 /dev/zero | tr '\0' '\200'; } >"$tmp/flat.ppm"
"$LNLFER" classify --weights "$WEIGHTS" --align on --detector "$DETECTOR" --format json \
  "$tmp/flat.ppm" >"$tmp/flat.json" || bad "--align on, no face: exits 0"
python3 - "$tmp/aligned.json" "$tmp/flat.json" "$tmp/out.json" "$tmp/off.json" <<'PY' && ok "--align" || bad "--align"
import json, sys
face, flat, default, off = (json.load(open(p)) for p in sys.argv[1:])
assert face[0]["aligned"] is True and face[0]["label"] == off[0]["label"], (face, off)
assert abs(sum(face[0]["probabilities"].values()) - 1) < 1e-4
assert flat[0]["aligned"] is False and abs(sum(flat[0]["probabilities"].values()) - 1) < 1e-4
assert default[0]["aligned"] is True and default[0]["probabilities"] == face[0]["probabilities"]
assert "aligned" not in off[0]
PY
"$LNLFER" classify --align sideways "$SAMPLE" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "auto, on or off" "$tmp/err" && ok "bad --align exits 2" || bad "bad --align"

printf 'not an image' >"$tmp/bad.png"
"$LNLFER" classify --weights "$WEIGHTS" "$tmp/bad.png" "$SAMPLE" >"$tmp/mixed.csv" 2>"$tmp/err"
[ $? -eq 1 ] && ok "bad image exits 1" || bad "bad image exit code"
grep -q "bad.png: not an image format lnlfer can read" "$tmp/err" && ok "bad image message" || bad "bad image message"
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
# detect: the JSON shape the issue specifies, one face in the portrait
"$LNLFER" detect --detector "$DETECTOR" "$PHOTO" >"$tmp/det.json" || bad "detect exits 0"
python3 - "$tmp/det.json" <<'PY' && ok "detect JSON" || bad "detect JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d) == 1 and set(d[0]) == {"file", "width", "height", "faces"}, d
assert d[0]["width"] == 512 and d[0]["height"] == 512
f = d[0]["faces"]
assert len(f) == 1 and set(f[0]) == {"box", "score", "landmarks"}, f
assert len(f[0]["box"]) == 4 and len(f[0]["landmarks"]) == 6 and 0.5 < f[0]["score"] <= 1
PY
"$LNLFER" detect --detector "$DETECTOR" --format csv "$PHOTO" >"$tmp/det.csv" || bad "detect csv"
[ "$(wc -l <"$tmp/det.csv")" -eq 2 ] && ok "detect CSV rows" || bad "detect CSV rows"
"$LNLFER" detect --detector "$DETECTOR" --threshold 1.5 "$PHOTO" >/dev/null 2>&1
[ $? -eq 2 ] && ok "bad threshold exits 2" || bad "bad threshold"

# analyze: detection + expression for each face, regions mapped into the image
"$LNLFER" analyze --weights "$WEIGHTS" --detector "$DETECTOR" --crops "$tmp" "$PHOTO" \
  >"$tmp/an.json" || bad "analyze exits 0"
python3 - "$tmp/an.json" <<'PY' && ok "analyze JSON" || bad "analyze JSON"
import json, sys
d = json.load(open(sys.argv[1]))
f = d[0]["faces"]
assert len(f) == 1
assert abs(sum(f[0]["probabilities"].values()) - 1) < 1e-4
assert f[0]["label"] in f[0]["probabilities"]
assert len(f[0]["regions"]) == 9 and abs(sum(r["weight"] for r in f[0]["regions"]) - 1) < 1e-4
x, y, w, h = f[0]["box"]
for r in f[0]["regions"]:
    for px, py in r["quad"]:  # regions lie on and around the face
        assert x - w < px < x + 2 * w and y - h < py < y + 2 * h, (r, f[0]["box"])
PY
[ -s "$tmp/astronaut-0.png" ] && ok "aligned crop saved" || bad "aligned crop"
printf 'x' >"$tmp/bad.safetensors"
"$LNLFER" detect --detector "$tmp/bad.safetensors" "$PHOTO" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "bad.safetensors" "$tmp/err" && ok "corrupt detector refused" || bad "corrupt detector"

# The annotate checks read PNGs with PIL (Debian's python3-pil, from scripts/install-deps).
PY_PIL=python3
for p in /usr/bin/python3 python3; do
  if "$p" -c 'import PIL' 2>/dev/null; then PY_PIL=$p; break; fi
done
# annotate: the picture (same size, changed where the face is, not everywhere) and the JSON
"$LNLFER" annotate --weights "$WEIGHTS" --detector "$DETECTOR" -o "$tmp/ann.png" \
  --json "$tmp/ann.json" --labels top-3 "$PHOTO" 2>"$tmp/err" || bad "annotate exits 0"
grep -q "1 face" "$tmp/err" && ok "annotate reports the face count" || bad "annotate count"
"$PY_PIL" - "$PHOTO" "$tmp/ann.png" "$tmp/ann.json" "$tmp/an.json" <<'PY' && ok "annotate PNG and JSON" || bad "annotate PNG and JSON"
import json, sys
from PIL import Image, ImageChops
src = Image.open(sys.argv[1]).convert("RGB")
out = Image.open(sys.argv[2])
assert out.size == src.size, (out.size, src.size)
d = json.load(open(sys.argv[3]))
assert set(d) == {"file", "width", "height", "faces"} and d["width"] == src.width, d.keys()
assert len(d["faces"]) == 1 and d["faces"][0]["label"] in d["faces"][0]["probabilities"]
assert d["faces"] == json.load(open(sys.argv[4]))[0]["faces"]  # the same JSON as analyze
x, y, w, h = (round(v) for v in d["faces"][0]["box"])
diff = ImageChops.difference(src, out.convert("RGB")).convert("L")
inside = diff.crop((x + 5, y + 5, x + w - 5, y + h - 5))
changed_inside = sum(1 for p in inside.getdata() if p > 8) / (inside.width * inside.height)
changed_all = sum(1 for p in diff.getdata() if p > 8) / (src.width * src.height)
assert changed_inside > 0.3, changed_inside  # the region map covers the face
assert changed_all < 0.3, changed_all       # the rest of the photo shows through
PY
"$LNLFER" annotate --weights "$WEIGHTS" --detector "$DETECTOR" --no-boxes --no-region-map \
  -o "$tmp/plain.png" "$PHOTO" 2>/dev/null || bad "annotate without drawing exits 0"
"$PY_PIL" - "$PHOTO" "$tmp/plain.png" <<'PY' && ok "annotate draws nothing when asked for nothing" || bad "annotate --no-boxes --no-region-map"
import sys
from PIL import Image
assert Image.open(sys.argv[1]).convert("RGB").tobytes() == Image.open(sys.argv[2]).convert("RGB").tobytes()
PY
"$LNLFER" annotate --weights "$WEIGHTS" --detector "$DETECTOR" "$PHOTO" >/dev/null 2>&1
[ $? -eq 2 ] && ok "annotate without -o exits 2" || bad "annotate without -o"
"$LNLFER" annotate --labels all -o "$tmp/x.png" "$PHOTO" >/dev/null 2>&1
[ $? -eq 2 ] && ok "annotate bad --labels exits 2" || bad "annotate bad --labels"
"$LNLFER" annotate --weights "$WEIGHTS" --detector "$DETECTOR" -o "$tmp/no/such/dir.png" "$PHOTO" \
  >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "cannot write" "$tmp/err" && ok "annotate unwritable output exits 1" || bad "annotate unwritable output"
exit $fail
