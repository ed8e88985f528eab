#!/usr/bin/env python3
"""Exit 0 when two image files hold the same pixels (size, mode and values), else 1."""
import sys

from PIL import Image, ImageChops

a, b = (Image.open(p) for p in sys.argv[1:3])
if a.size != b.size or a.mode != b.mode:
    print(f"{sys.argv[1]}: {a.size} {a.mode} vs {b.size} {b.mode}", file=sys.stderr)
    sys.exit(1)
box = ImageChops.difference(a.convert("RGBA"), b.convert("RGBA")).getbbox()
if box:
    print(f"{sys.argv[1]} and {sys.argv[2]} differ in {box}", file=sys.stderr)
sys.exit(1 if box else 0)
