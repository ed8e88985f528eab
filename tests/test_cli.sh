#!/bin/sh
# lnlfer end to end: classify (CSV columns and values, JSON, errors and exit codes), detect,
# analyze and annotate; exit statuses (README.md, "Exit statuses"), --crops, the detection
# defaults shared with the GIMP plug-in (DEFAULTS: ui/lnlfer-defaults.h), weights found
# through the environment, long paths.
# usage: test_cli.sh LNLFER WEIGHTS SAMPLE_IMAGE DETECTOR PHOTO DEFAULTS
set -u
LNLFER=$1 WEIGHTS=$2 SAMPLE=$3 DETECTOR=$4 PHOTO=$5 DEFAULTS=$6
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fail=1; }

"$LNLFER" classify --weights "$WEIGHTS" "$SAMPLE" >"$tmp/out.csv" 2>"$tmp/err" || bad "classify exits 0"
header=$(head -n 1 "$tmp/out.csv")
want="file,label,aligned,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,w0,w1,w2,w3,w4,w5,w6,w7,w8"
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
assert r["aligned"] == "yes", r  # the shipped weights align, and the sample has a face
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
printf 'not an image' >"$tmp/bad.png"
# The checks that make or read PNGs use PIL (Debian's python3-pil, from scripts/install-deps).
PY_PIL=python3
for p in /usr/bin/python3 python3; do
  if "$p" -c 'import PIL' 2>/dev/null; then PY_PIL=$p; break; fi
done
{ printf 'P6\n16 16\n255\n'; head -c 768 /dev/zero | tr '\0' '\200'; } >"$tmp/flat.ppm"
"$LNLFER" classify --weights "$WEIGHTS" --align on --detector "$DETECTOR" --format json \
  "$tmp/flat.ppm" >"$tmp/flat.json" 2>"$tmp/err"
[ $? -eq 3 ] && ok "--align on, no face: exits 3" || bad "--align on, no face: exit status"
python3 - "$tmp/aligned.json" "$tmp/flat.json" "$tmp/out.json" "$tmp/off.json" <<'PY' && ok "--align" || bad "--align"
import json, sys
face, flat, default, off = (json.load(open(p)) for p in sys.argv[1:])
assert face[0]["aligned"] is True and face[0]["label"] == off[0]["label"], (face, off)
assert abs(sum(face[0]["probabilities"].values()) - 1) < 1e-4
assert flat[0]["aligned"] is False and abs(sum(flat[0]["probabilities"].values()) - 1) < 1e-4
assert default[0]["aligned"] is True and default[0]["probabilities"] == face[0]["probabilities"]
assert "aligned" not in off[0]
PY
grep -q "flat.ppm: no face aligned" "$tmp/err" && ok "no face: said on stderr" ||
  bad "no face: stderr is '$(cat "$tmp/err")'"
# ... and in CSV (column "aligned"), with a face next to it; a collage of two faces side
# by side frames neither like a face crop
"$PY_PIL" - "$SAMPLE" "$tmp/collage.png" <<'PY' || bad "making the collage"
import sys
from PIL import Image
face = Image.open(sys.argv[1]).convert("RGB")
both = Image.new("RGB", (2 * face.width, face.height))
both.paste(face, (0, 0))
both.paste(face, (face.width, 0))
both.save(sys.argv[2])
PY
"$LNLFER" classify --weights "$WEIGHTS" --detector "$DETECTOR" "$tmp/flat.ppm" "$SAMPLE" \
  "$tmp/collage.png" >"$tmp/flat.csv" 2>/dev/null
[ $? -eq 3 ] && ok "a crop without a face among others: exits 3" || bad "no face among others: exit status"
python3 - "$tmp/flat.csv" <<'PY' && ok "CSV says which crops had no face" || bad "CSV aligned column"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert [r["aligned"] for r in rows] == ["no", "yes", "no"], rows
PY
"$LNLFER" classify --weights "$WEIGHTS" --detector "$DETECTOR" --format json "$tmp/collage.png" \
  >"$tmp/collage.json" 2>/dev/null
[ $? -eq 3 ] && ok "collage: exits 3" || bad "collage: exit status"
python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))[0]["aligned"] is False' \
  "$tmp/collage.json" && ok "collage: JSON aligned false" || bad "collage JSON"
"$LNLFER" classify --weights "$WEIGHTS" --align off "$tmp/flat.ppm" >"$tmp/off.csv" ||
  bad "--align off exits 0 (no face looked for)"
[ "$(sed -n 2p "$tmp/off.csv" | cut -d, -f3)" = off ] && ok "--align off: CSV aligned off" ||
  bad "--align off: CSV aligned column"
"$LNLFER" classify --weights "$WEIGHTS" --detector "$DETECTOR" "$tmp/flat.ppm" "$tmp/bad.png" \
  >/dev/null 2>&1
[ $? -eq 1 ] && ok "a failure outranks a missing face (exit 1)" || bad "failure and no face: exit status"
"$LNLFER" classify --align sideways "$SAMPLE" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "auto, on or off" "$tmp/err" && ok "bad --align exits 2" || bad "bad --align"

"$LNLFER" classify --weights "$WEIGHTS" "$tmp/bad.png" "$SAMPLE" >"$tmp/mixed.csv" 2>"$tmp/err"
[ $? -eq 1 ] && ok "bad image exits 1" || bad "bad image exit code"
grep -q "bad.png: not an image format lnlfer can read" "$tmp/err" && ok "bad image message" || bad "bad image message"
[ "$(wc -l <"$tmp/mixed.csv")" -eq 2 ] && ok "good image still classified" || bad "mixed run rows"

head -c 100 "$WEIGHTS" >"$tmp/trunc.safetensors"
"$LNLFER" classify --weights "$tmp/trunc.safetensors" "$SAMPLE" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "trunc.safetensors" "$tmp/err" && ok "corrupt weights refused" || bad "corrupt weights"

# $LNLFER_WEIGHTS / $LNLFER_DETECTOR naming a missing file: an error naming it, not the
# shipped weights used instead
LNLFER_WEIGHTS="$tmp/none.safetensors" "$LNLFER" classify "$SAMPLE" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "LNLFER_WEIGHTS=$tmp/none.safetensors: cannot read it" "$tmp/err" &&
  [ ! -s "$tmp/out" ] && ok "LNLFER_WEIGHTS naming a missing file is an error" ||
  bad "LNLFER_WEIGHTS=missing: $(cat "$tmp/err")"
LNLFER_DETECTOR="$tmp/none.safetensors" "$LNLFER" detect "$PHOTO" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "LNLFER_DETECTOR=$tmp/none.safetensors: cannot read it" "$tmp/err" &&
  [ ! -s "$tmp/out" ] && ok "LNLFER_DETECTOR naming a missing file is an error" ||
  bad "LNLFER_DETECTOR=missing: $(cat "$tmp/err")"
LNLFER_WEIGHTS="$WEIGHTS" LNLFER_DETECTOR="$DETECTOR" "$LNLFER" analyze "$PHOTO" >/dev/null 2>&1 &&
  ok "weights found through the environment" || bad "LNLFER_WEIGHTS / LNLFER_DETECTOR set"

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
[ -s "$tmp/astronaut-0-0.png" ] && ok "aligned crop saved" || bad "aligned crop"
printf 'x' >"$tmp/bad.safetensors"
"$LNLFER" detect --detector "$tmp/bad.safetensors" "$PHOTO" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "bad.safetensors" "$tmp/err" && ok "corrupt detector refused" || bad "corrupt detector"

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
# the region map shows where the network looked (its heavy regions), not the whole face
assert 0.03 < changed_inside < 0.6, changed_inside
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
"$LNLFER" annotate --weights "$WEIGHTS" --detector "$DETECTOR" -o "$tmp/flat-ann.png" "$tmp/flat.ppm" \
  >/dev/null 2>&1
[ $? -eq 3 ] && [ -s "$tmp/flat-ann.png" ] && ok "annotate, no face: exits 3, image written" ||
  bad "annotate, no face"

# detect and analyze on an image without a face: empty lists, said on stderr, exit 3
"$LNLFER" detect --detector "$DETECTOR" "$tmp/flat.ppm" "$PHOTO" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 3 ] && grep -q "flat.ppm: no face found" "$tmp/err" && ok "detect, no face: exits 3" ||
  bad "detect, no face: exit status"
"$LNLFER" analyze --weights "$WEIGHTS" --detector "$DETECTOR" "$tmp/flat.ppm" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 3 ] && grep -q '"faces":	\[\]' "$tmp/out" && ok "analyze, no face: exits 3, no faces" ||
  bad "analyze, no face: $(cat "$tmp/out" "$tmp/err")"

# --crops: a missing folder fails before any work (nothing printed); crops of images with
# the same file name in two folders do not overwrite each other
"$LNLFER" analyze --weights "$WEIGHTS" --detector "$DETECTOR" --crops "$tmp/no/such" "$PHOTO" \
  >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && [ ! -s "$tmp/out" ] && grep -q "crops $tmp/no/such: No such file" "$tmp/err" &&
  [ "$(wc -l <"$tmp/err")" -eq 1 ] && ok "--crops to a missing folder fails first" ||
  bad "--crops missing folder: $(cat "$tmp/err")"
"$LNLFER" analyze --weights "$WEIGHTS" --detector "$DETECTOR" --crops "$tmp/bad.png" "$PHOTO" \
  >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && [ ! -s "$tmp/out" ] && grep -q "not a folder" "$tmp/err" &&
  ok "--crops to a file fails first" || bad "--crops to a file"
mkdir -p "$tmp/one" "$tmp/two" "$tmp/crops"
cp "$PHOTO" "$tmp/one/face.png"
cp "$PHOTO" "$tmp/two/face.png"
"$LNLFER" analyze --weights "$WEIGHTS" --detector "$DETECTOR" --crops "$tmp/crops" \
  "$tmp/one/face.png" "$tmp/flat.ppm" "$tmp/two/face.png" >/dev/null 2>&1
[ $? -eq 3 ] && ok "analyze with --crops, one image without a face: exits 3" || bad "--crops run exit"
[ "$(cd "$tmp/crops" && echo *)" = "face-0-0.png face-2-0.png" ] &&
  ok "same file name in two folders: two crops" || bad "crops: $(ls "$tmp/crops")"

# a path over 1023 characters (the image, --crops and $LNLFER_WEIGHTS in a deep folder)
deep=$tmp
for _ in 1 2 3 4 5 6; do deep=$deep/$(printf '%0200d' 0); done
mkdir -p "$deep"
cp "$PHOTO" "$deep/photo.png"
ln -s "$(cd "$(dirname "$WEIGHTS")" && pwd)/$(basename "$WEIGHTS")" "$deep/w.safetensors"
LNLFER_WEIGHTS="$deep/w.safetensors" "$LNLFER" analyze --detector "$DETECTOR" --crops "$deep" \
  "$deep/photo.png" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 0 ] && [ -s "$deep/photo-0-0.png" ] && grep -q "$deep/photo.png" "$tmp/out" &&
  ok "paths of ${#deep}+ characters" || bad "long paths: $(cat "$tmp/err")"

# The detection defaults are the plug-in's (ui/lnlfer-defaults.h): in the help texts, and
# in what the commands do (a face 14.6 px wide is dropped, only 32 of 36 faces kept)
min=$(sed -n 's/^#define LNLFER_DEFAULT_MIN_FACE_SIZE \([0-9]*\)$/\1/p' "$DEFAULTS")
max=$(sed -n 's/^#define LNLFER_DEFAULT_MAX_FACES \([0-9]*\)$/\1/p' "$DEFAULTS")
thr=$(sed -n 's/^#define LNLFER_DEFAULT_THRESHOLD \([0-9.]*\)$/\1/p' "$DEFAULTS")
if [ "$min" = 16 ] && [ "$max" = 32 ] && [ "$thr" = 0.5 ]; then
  ok "defaults header read: $thr, $min, $max"
else
  bad "defaults header: threshold '$thr', min '$min', max '$max' (this test expects 0.5, 16, 32)"
fi
for cmd in detect analyze annotate; do
  "$LNLFER" $cmd --help >"$tmp/help"
  grep -q -- "--threshold T .*(default $thr)" "$tmp/help" &&
    grep -q -- "--min-size PX .*(default $min)" "$tmp/help" &&
    grep -q -- "--max-faces N .*(default $max)" "$tmp/help" &&
    ok "$cmd --help gives the shared defaults" || bad "$cmd --help: $(grep -- '--m' "$tmp/help")"
done
"$PY_PIL" - "$PHOTO" "$SAMPLE" "$tmp/small.png" "$tmp/grid.png" <<'PY' || bad "making the small face and the grid"
import sys
from PIL import Image
photo = Image.open(sys.argv[1]).convert("RGB").resize((80, 80), Image.BOX)
small = Image.new("RGB", (256, 256), (128, 128, 128))
small.paste(photo, (60, 60))
small.save(sys.argv[3])
face = Image.open(sys.argv[2]).convert("RGB").resize((64, 64), Image.BOX)
grid = Image.new("RGB", (6 * 64, 6 * 64), (128, 128, 128))
for i in range(36):
    grid.paste(face, (64 * (i % 6), 64 * (i // 6)))
grid.save(sys.argv[4])
PY
rows() { tail -n +2 "$1" | wc -l; }
"$LNLFER" detect --detector "$DETECTOR" --format csv --min-size 0 "$tmp/small.png" >"$tmp/all.csv"
"$LNLFER" detect --detector "$DETECTOR" --format csv "$tmp/small.png" >"$tmp/default.csv" 2>/dev/null
[ "$(rows "$tmp/all.csv")" -eq 1 ] && [ "$(rows "$tmp/default.csv")" -eq 0 ] &&
  ok "default --min-size drops a face under $min px" || bad "default --min-size"
"$LNLFER" detect --detector "$DETECTOR" --format csv --max-faces 0 "$tmp/grid.png" >"$tmp/all.csv"
"$LNLFER" detect --detector "$DETECTOR" --format csv "$tmp/grid.png" >"$tmp/default.csv"
[ "$(rows "$tmp/all.csv")" -gt "$max" ] && [ "$(rows "$tmp/default.csv")" -eq "$max" ] &&
  ok "default --max-faces keeps $max faces" || bad "default --max-faces"
# Every threshold the options accept (0, what 1e-50 parses to, 1) works: finite boxes only
for t in 0 1e-50 1; do
  "$LNLFER" analyze --weights "$WEIGHTS" --detector "$DETECTOR" --threshold "$t" --max-faces 0 \
    "$PHOTO" \
    >"$tmp/t.json" 2>"$tmp/err"
  rc=$?  # 3: no face at that threshold (threshold 1)
  [ $rc -eq 0 ] || [ $rc -eq 3 ] || bad "analyze --threshold $t exits 0 or 3"
  python3 - "$tmp/t.json" "$t" <<'PY' && ok "analyze --threshold $t: finite results" || bad "analyze --threshold $t results"
import json, math, sys
faces = json.load(open(sys.argv[1]))[0]["faces"]
assert float(sys.argv[2]) > 0 or len(faces) > 100, len(faces)  # 0: every anchor is a face
for f in faces:
    nums = f["box"] + [v for p in f["landmarks"] for v in p] + list(f["probabilities"].values())
    nums += [v for r in f["regions"] for q in r["quad"] for v in q]
    assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in nums), f
PY
done
"$LNLFER" annotate --weights "$WEIGHTS" --detector "$DETECTOR" --threshold 0 -o "$tmp/t0.png" \
  "$PHOTO" 2>"$tmp/err" && [ -s "$tmp/t0.png" ] && ok "annotate --threshold 0" || bad "annotate --threshold 0"

# Bad weights, patched from the shipped files: refused when opened, naming the problem
python3 - "$WEIGHTS" "$DETECTOR" "$tmp" <<'PY' || bad "patching weights"
import json, struct, sys
def read(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n]), bytearray(b[8 + n:])
def write(path, header, data):
    text = json.dumps(header).encode()
    open(path, "wb").write(struct.pack("<Q", len(text)) + text + data)
def poke(header, data, name, value):
    begin = header[name]["data_offsets"][0]
    data[begin:begin + 4] = struct.pack("<f", value)
h, d = read(sys.argv[1])
poke(h, d, "classifier.weight", float("nan"))
write(sys.argv[3] + "/nan-weights.safetensors", h, d)
h, d = read(sys.argv[1])
cfg = json.loads(h["__metadata__"]["lnl.config"])
cfg["input_size"] = 1024
h["__metadata__"]["lnl.config"] = json.dumps(cfg)
write(sys.argv[3] + "/input-1024.safetensors", h, d)
h, d = read(sys.argv[2])
poke(h, d, "op0.weight", float("inf"))
write(sys.argv[3] + "/inf-detector.safetensors", h, d)
PY
"$LNLFER" classify --weights "$tmp/nan-weights.safetensors" --align off "$SAMPLE" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "'classifier.weight' holds a non-finite value" "$tmp/err" && ok "NaN weights refused" || bad "NaN weights"
"$LNLFER" classify --weights "$tmp/input-1024.safetensors" --align off "$SAMPLE" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "MB of buffers" "$tmp/err" && ok "input_size 1024 refused" || bad "input_size 1024"
"$LNLFER" analyze --weights "$WEIGHTS" --detector "$tmp/inf-detector.safetensors" "$PHOTO" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "'op0.weight' holds a non-finite value" "$tmp/err" && ok "Inf detector refused" || bad "Inf detector"

# A long, thin crop (20000 x 10) is classified in bounded time and memory (--align on
# re-cuts it into a square of at most 1024 pixels, not of its longer side: 1.2 GB)
python3 - "$tmp/long.ppm" <<'PY'
import sys
w, h = 20000, 10
open(sys.argv[1], "wb").write(b"P6\n%d %d\n255\n" % (w, h) + bytes((i * 7) % 256 for i in range(w * h * 3)))
PY
python3 - "$LNLFER" "$WEIGHTS" "$DETECTOR" "$tmp/long.ppm" <<'PY' && ok "20000x10 crop: bounded memory" || bad "20000x10 crop"
import json, resource, subprocess, sys
lnlfer, weights, detector, image = sys.argv[1:]
out = subprocess.run([lnlfer, "classify", "--weights", weights, "--detector", detector, "--align", "on",
                      "--format", "json", image], capture_output=True, timeout=600)
assert out.returncode in (0, 3), out  # 3: no face in the crop (cut along the assumed framing)
rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
r = json.loads(out.stdout)[0]
assert abs(sum(r["probabilities"].values()) - 1) < 1e-4, r
assert rss_mb < 500, rss_mb  # a square of the longer side alone is 1200 MB
x, y, w, h = r["regions"][-1]["box"]  # regions in pixels of the square of the longer side
assert 10000 < x + w <= 20001, r["regions"]
PY

# YuNet, the same commands: detect (five landmarks in YuNet's order), through --detector and
# $LNLFER_DETECTOR, and analyze (aligned from the five landmarks)
YUNET=$(dirname "$DETECTOR")/yunet-n.safetensors
"$LNLFER" detect --detector "$YUNET" "$PHOTO" >"$tmp/yunet.json" || bad "detect --detector yunet"
LNLFER_DETECTOR="$YUNET" "$LNLFER" detect "$PHOTO" >"$tmp/yunet-env.json" || bad "LNLFER_DETECTOR=yunet"
cmp -s "$tmp/yunet.json" "$tmp/yunet-env.json" && ok "YuNet through \$LNLFER_DETECTOR" ||
  bad "YuNet through \$LNLFER_DETECTOR differs"
python3 - "$tmp/yunet.json" <<'PY' && ok "YuNet detect JSON" || bad "YuNet detect JSON"
import json, sys
f = json.load(open(sys.argv[1]))[0]["faces"]
assert len(f) == 1, f
m = f[0]["landmarks"]
assert len(m) == 5 and m[0][0] < m[2][0] < m[1][0] and m[3][0] < m[4][0], m
assert f[0]["score"] > 0.8, f
PY
"$LNLFER" analyze --weights "$WEIGHTS" --detector "$YUNET" --format json "$PHOTO" \
  >"$tmp/yunet-an.json" || bad "analyze with YuNet"
python3 - "$tmp/yunet-an.json" <<'PY' && ok "YuNet analyze: one confident face" || bad "YuNet analyze"
import json, sys
f = json.load(open(sys.argv[1]))[0]["faces"]
assert len(f) == 1 and f[0]["plausible_fit"] and f[0]["landmark_fit"] < 0.3, f
PY

exit $fail
