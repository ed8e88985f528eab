#!/bin/sh
# lnlfer's image files: what it reads (formats, orientation, 16-bit, CMYK, alpha, errors,
# the size bound) and how it writes (format by extension, standard output, never over an
# input or the other output, temporary file + rename).
# usage: test_cli_images.sh LNLFER PYTHON PHOTO MAKE_TEST_IMAGES
#   PYTHON: an interpreter with numpy and PIL; MAKE_TEST_IMAGES: tests/make_test_images.py
set -u
LNLFER=$1 PYTHON=$2 PHOTO=$3 MAKE=$4
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fail=1; }
img=$tmp/img
"$PYTHON" "$MAKE" "$PHOTO" "$img" || { echo "FAIL: cannot make the test images"; exit 1; }

# ---- reading -------------------------------------------------------------------------
# read_ok ARGS...: lnlfer ARGS processed the image: exit status 0, or 3 when it has no face
# (most test images are faceless)
read_ok() {
  "$LNLFER" "$@"
  rc=$?
  [ $rc -eq 0 ] || [ $rc -eq 3 ]
}
# Each lossless image, decoded (annotate with nothing drawn writes the decoded pixels), must
# equal its .expected.png exactly: orientations 1-8, 16-bit PNG, TIFF (8-bit RGB, grey,
# 16-bit grey, oriented), alpha over white, WebP, GIF, PNM.
for f in "$img"/*.expected.png; do
  src=${f%.expected.png}
  name=$(basename "$src")
  if read_ok annotate --no-boxes --no-region-map "$src" -o "$tmp/dec-$name.png" 2>"$tmp/err"; then
    "$PYTHON" - "$tmp/dec-$name.png" "$f" <<'PY' && ok "reads $name exactly" || bad "pixels of $name"
import sys
import numpy as np
from PIL import Image
got, want = (np.asarray(Image.open(p).convert("RGB")).astype(int) for p in sys.argv[1:])
assert got.shape == want.shape, (got.shape, want.shape)
assert np.array_equal(got, want), np.abs(got - want).max()
PY
  else
    bad "reads $name: $(cat "$tmp/err")"
  fi
done

# lossy ones: close to the image they were made from (CMYK without a profile: the usual
# formula; a JPEG with EXIF orientation 6 turned upright), grey+alpha expanded
for name in plain.jpg orient6.jpg cmyk.jpg greya.png; do
  read_ok annotate --no-boxes --no-region-map "$img/$name" -o "$tmp/dec-$name.png" 2>"$tmp/err" \
    || bad "reads $name: $(cat "$tmp/err")"
  "$PYTHON" - "$tmp/dec-$name.png" "$img/upright.png" "$name" <<'PY' && ok "reads $name" || bad "pixels of $name"
import sys
import numpy as np
from PIL import Image
got = np.asarray(Image.open(sys.argv[1]).convert("RGB")).astype(int)
ref = Image.open(sys.argv[2]).convert("RGB")
if sys.argv[3] == "greya.png":
    ref = ref.convert("L").convert("RGB")
want = np.asarray(ref).astype(int)
assert got.shape == want.shape, (got.shape, want.shape)
err = np.abs(got - want).mean()
assert err < 3, err
PY
done

# EXIF orientation: dimensions and boxes are those of the upright image
"$LNLFER" detect "$img/upright.png" >"$tmp/upright.json" 2>"$tmp/err" || bad "detect upright: $(cat "$tmp/err")"
"$LNLFER" detect "$img/orient6.jpg" >"$tmp/orient6.json" 2>"$tmp/err" || bad "detect orient6: $(cat "$tmp/err")"
"$LNLFER" analyze "$img/orient6.jpg" >"$tmp/orient6-analyze.json" 2>"$tmp/err" || bad "analyze orient6"
"$PYTHON" - "$tmp/upright.json" "$tmp/orient6.json" "$tmp/orient6-analyze.json" <<'PY' && ok "EXIF-rotated JPEG: upright size and boxes" || bad "EXIF-rotated JPEG boxes"
import json, sys
up, rot, ana = (json.load(open(p))[0] for p in sys.argv[1:])
assert (rot["width"], rot["height"]) == (up["width"], up["height"]) == (256, 200), (rot, up)
assert len(up["faces"]) == 1 and len(rot["faces"]) == 1 and len(ana["faces"]) == 1, (up, rot)
for a, b in zip(up["faces"][0]["box"], rot["faces"][0]["box"]):
    assert abs(a - b) < 4, (up["faces"], rot["faces"])
assert all(abs(a - b) < 4 for a, b in zip(up["faces"][0]["box"], ana["faces"][0]["box"]))
PY

# errors, in words, naming the file
"$LNLFER" detect "$img/truncated.jpg" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "truncated.jpg: the file is truncated or damaged (JPEG)" "$tmp/err" \
  && ok "truncated JPEG message" || bad "truncated JPEG: $(cat "$tmp/err")"
"$LNLFER" detect "$tmp/missing.jpg" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "missing.jpg: cannot open: No such file or directory" "$tmp/err" \
  && ok "missing file message" || bad "missing file: $(cat "$tmp/err")"
"$LNLFER" detect "$tmp" >/dev/null 2>"$tmp/err"
grep -q "cannot open: Is a directory" "$tmp/err" && ok "folder message" || bad "folder: $(cat "$tmp/err")"
: >"$tmp/empty.png"
"$LNLFER" detect "$tmp/empty.png" >/dev/null 2>"$tmp/err"
grep -q "empty.png: the file is empty" "$tmp/err" && ok "empty file message" || bad "empty: $(cat "$tmp/err")"
printf 'plain text, not an image' >"$tmp/text.txt"
"$LNLFER" detect "$tmp/text.txt" "$img/bmp.bmp" >/dev/null 2>"$tmp/err"
[ "$(grep -c "not an image format lnlfer can read" "$tmp/err")" -eq 2 ] \
  && ok "unknown format message" || bad "unknown format: $(cat "$tmp/err")"
"$LNLFER" detect "$img/huge.png" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "huge.png: the image is too large (20000 x 20000 pixels" "$tmp/err" \
  && ok "size bound, before decoding" || bad "size bound: $(cat "$tmp/err")"
read_ok detect "$img/100mp.png" >"$tmp/100mp.json" 2>"$tmp/err" \
  && grep -q '"width":.*10000' "$tmp/100mp.json" && ok "100 megapixels read" \
  || bad "100 megapixels: $(cat "$tmp/err")"

# ---- writing -------------------------------------------------------------------------
cp "$PHOTO" "$tmp/in.png"
sum() { cksum <"$1"; }
before=$(sum "$tmp/in.png")
magic() { od -An -tx1 -N12 "$1" | tr -d ' \n'; }
for out in out.png out.jpg out.JPEG out.tif out.tiff out.webp; do
  "$LNLFER" annotate "$tmp/in.png" -o "$tmp/$out" 2>"$tmp/err" || bad "writes $out: $(cat "$tmp/err")"
  m=$(magic "$tmp/$out")
  case $out:$m in
    *.png:89504e470d0a1a0a* | *.jpg:ffd8ff* | *.JPEG:ffd8ff* | *.tif:49492a00* | *.tif:4d4d002a* \
      | *.tiff:49492a00* | *.tiff:4d4d002a* | *.webp:52494646????????57454250) ok "$out is its format" ;;
    *) bad "$out starts with $m" ;;
  esac
done
"$LNLFER" annotate "$tmp/in.png" -o - >"$tmp/stdout.png" 2>"$tmp/err" || bad "-o -: $(cat "$tmp/err")"
case $(magic "$tmp/stdout.png") in 89504e470d0a1a0a*) ok "-o - writes PNG to stdout" ;; *) bad "-o -" ;; esac
"$PYTHON" -c "import sys; from PIL import Image; assert Image.open(sys.argv[1]).size == (512, 512)" \
  "$tmp/stdout.png" && ok "-o - image complete" || bad "-o - image"

"$LNLFER" annotate "$tmp/in.png" -o "$tmp/j.png" --json - >"$tmp/stdout.json" 2>"$tmp/err" \
  && "$PYTHON" -c "import json, sys; assert len(json.load(open(sys.argv[1]))['faces']) == 1" \
    "$tmp/stdout.json" && [ ! -e ./- ] && ok "--json - writes to stdout" || bad "--json -: $(cat "$tmp/err")"
"$LNLFER" annotate "$tmp/in.png" -o - --json - >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "it is the --json output" "$tmp/err" && ok "-o - with --json - refused" \
  || bad "-o - --json -: $(cat "$tmp/err")"

"$LNLFER" annotate "$tmp/in.png" -o "$tmp/out.bmp" 2>"$tmp/err"
[ $? -eq 2 ] && [ ! -e "$tmp/out.bmp" ] && grep -q "unknown image format" "$tmp/err" \
  && ok "unknown extension refused" || bad "unknown extension: $(cat "$tmp/err")"
"$LNLFER" annotate "$tmp/in.png" -o "$tmp/noext" 2>/dev/null
[ $? -eq 2 ] && [ ! -e "$tmp/noext" ] && ok "no extension refused" || bad "no extension"

# never over the input, by name, through a symbolic link or a hard link; --json neither
ln -s in.png "$tmp/link.png"
ln "$tmp/in.png" "$tmp/hard.png"
mkdir "$tmp/sub"
for out in "$tmp/in.png" "$tmp/./sub/../in.png" "$tmp/link.png" "$tmp/hard.png"; do
  "$LNLFER" annotate "$tmp/in.png" -o "$out" 2>"$tmp/err"
  [ $? -eq 2 ] && grep -q "it is the input image" "$tmp/err" && [ "$(sum "$tmp/in.png")" = "$before" ] \
    && ok "refuses -o $(basename "$out") (the input)" || bad "-o $out over the input: $(cat "$tmp/err")"
done
"$LNLFER" annotate "$tmp/in.png" -o "$tmp/o.png" --json "$tmp/hard.png" 2>"$tmp/err"
[ $? -eq 2 ] && [ "$(sum "$tmp/in.png")" = "$before" ] && [ ! -e "$tmp/o.png" ] \
  && ok "refuses --json over the input" || bad "--json over the input: $(cat "$tmp/err")"
"$LNLFER" annotate "$tmp/in.png" -o "$tmp/same.png" --json "$tmp/sub/../same.png" 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "it is the --json output" "$tmp/err" && [ ! -e "$tmp/same.png" ] \
  && ok "refuses --json equal to -o (new file)" || bad "--json = -o: $(cat "$tmp/err")"
echo old >"$tmp/both.png"
ln "$tmp/both.png" "$tmp/both.json"
"$LNLFER" annotate "$tmp/in.png" -o "$tmp/both.png" --json "$tmp/both.json" 2>"$tmp/err"
[ $? -eq 2 ] && [ "$(cat "$tmp/both.png")" = old ] && ok "refuses --json hard-linked to -o" \
  || bad "--json linked to -o: $(cat "$tmp/err")"

# a link to another file: that file is replaced, the link stays
echo old >"$tmp/target.png"
ln -s target.png "$tmp/out-link.png"
"$LNLFER" annotate "$tmp/in.png" -o "$tmp/out-link.png" 2>/dev/null
[ -L "$tmp/out-link.png" ] && [ "$(magic "$tmp/target.png" | cut -c1-8)" = 89504e47 ] \
  && ok "writes through a link to another file" || bad "link to another file"

# a failed write (WebP is at most 16383 pixels wide) keeps the old file, leaves no temporary
echo old >"$tmp/wide.webp"
"$LNLFER" annotate "$img/wide.png" -o "$tmp/wide.webp" 2>"$tmp/err"
[ $? -eq 1 ] && [ "$(cat "$tmp/wide.webp")" = old ] && grep -q "wide.webp: cannot write" "$tmp/err" \
  && ok "failed write keeps the old file" || bad "failed write: $(cat "$tmp/err")"
[ -z "$(find "$tmp" -maxdepth 1 -name '.*.??????' -print)" ] && ok "no temporary file left" \
  || bad "temporary files left: $(find "$tmp" -maxdepth 1 -name '.*')"
# a successful one replaces the file whole
echo old >"$tmp/replaced.json"
"$LNLFER" annotate "$tmp/in.png" -o "$tmp/replaced.png" --json "$tmp/replaced.json" 2>/dev/null \
  && "$PYTHON" -c "import json, sys; json.load(open(sys.argv[1]))" "$tmp/replaced.json" \
  && ok "--json replaces the old file" || bad "--json replace"
"$LNLFER" annotate "$tmp/in.png" -o "$tmp/no-such-dir/out.png" 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "cannot write: No such file or directory" "$tmp/err" \
  && ok "missing output folder message" || bad "missing folder: $(cat "$tmp/err")"

# analyze --crops writes through the same writer
mkdir "$tmp/crops"
"$LNLFER" analyze --crops "$tmp/crops" "$tmp/in.png" >/dev/null 2>"$tmp/err" || bad "--crops: $(cat "$tmp/err")"
n=0
for c in "$tmp/crops"/*.png; do
  [ "$(magic "$c" | cut -c1-8)" = 89504e47 ] && n=$((n + 1))
done
[ "$n" -ge 1 ] && [ -z "$(find "$tmp/crops" -name '.*' -print)" ] && ok "--crops writes PNG crops" \
  || bad "--crops wrote $n crops"

[ "$fail" -eq 0 ] && echo "all image tests passed"
exit "$fail"
