#!/bin/sh
# Times libvips, GdkPixbuf and GEGL decoding 100-megapixel photos to upright 8-bit RGB
# (tools/bench/image_libs.c), with the peak memory of each run, and `lnlfer detect` on the
# same files (decode + detection, the CLI's whole cost). The figures in BENCHMARKS.md
# ("Image decoding library") come from this script.
# Needs, on top of scripts/install-deps: libgdk-pixbuf-2.0-dev libgegl-dev (one-off, for
# the comparison only), and a built build/cli/lnlfer.
# usage: tools/bench/image_libs.sh [WORKDIR] [RUNS]   (default /tmp/lnlfer-image-libs, 3)
set -eu
cd "$(dirname "$0")/../.."
dir=${1:-/tmp/lnlfer-image-libs}
runs=${2:-3}
mkdir -p "$dir"
for lib in vips pixbuf gegl; do
  case $lib in
    vips) flags="-DUSE_VIPS $(pkg-config --cflags --libs vips)" ;;
    pixbuf) flags="-DUSE_PIXBUF $(pkg-config --cflags --libs gdk-pixbuf-2.0)" ;;
    gegl) flags="-DUSE_GEGL $(pkg-config --cflags --libs gegl-0.4)" ;;
  esac
  # shellcheck disable=SC2086 # $flags is a list of compiler options
  cc -O2 tools/bench/image_libs.c -o "$dir/decode-$lib" $flags
done
# The sample photo enlarged to 10000 x 10000 with grain (so that JPEG has detail to code),
# as JPEG (quality 90), the same JPEG stored on its side with EXIF orientation 6, PNG, TIFF.
[ -e "$dir/photo.tif" ] || /usr/bin/python3 - "$dir" <<'PY'
import sys
import numpy as np
from PIL import Image
Image.MAX_IMAGE_PIXELS = None
d = sys.argv[1]
img = Image.open("tests/data/astronaut.png").convert("RGB").resize((10000, 10000), Image.BICUBIC)
a = np.asarray(img).astype(np.int16)
a += np.random.default_rng(0).normal(0, 6, a.shape[:2]).astype(np.int16)[..., None]
img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
img.save(f"{d}/photo.jpg", quality=90)
e = Image.Exif()
e[0x0112] = 6
img.transpose(Image.Transpose.ROTATE_90).save(f"{d}/photo-orientation6.jpg", quality=90, exif=e.tobytes())
img.save(f"{d}/photo.png")
img.save(f"{d}/photo.tif")
PY
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) logical CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
# Interleaved (run, file, library), so that a busy machine slows every library alike.
run=1
while [ "$run" -le "$runs" ]; do
  for f in photo.jpg photo-orientation6.jpg photo.png photo.tif; do
    for lib in vips pixbuf gegl lnlfer; do
      if [ "$lib" = lnlfer ]; then
        cmd="build/cli/lnlfer detect $dir/$f"
      else
        cmd="$dir/decode-$lib $dir/$f"
      fi
      # shellcheck disable=SC2086 # $cmd is a command line
      /usr/bin/time -f "%e s, peak %M KB" $cmd 2>"$dir/time" >"$dir/out" || true
      echo "run $run $f $lib: $(grep -o 'decoded in [0-9.]* s' "$dir/out" || echo '-'); wall $(tail -n 1 "$dir/time")"
    done
  done
  run=$((run + 1))
done
