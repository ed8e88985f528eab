#!/usr/bin/python3
"""Draws the plug-in's menu icon, data/lnlfer.png (24 x 24): a face in a detection box's
corners. Drawn at 8 times the size and scaled down, for smooth edges.
usage: data/make-icon.py [OUTPUT]"""
import sys

from PIL import Image, ImageDraw

S = 8  # supersampling
N = 24 * S
img = Image.new("RGBA", (N, N), (0, 0, 0, 0))
d = ImageDraw.Draw(img)


def px(v):
    return round(v * S)


# The box's four corners (the annotations' box colour for happiness, a warm orange).
box = (255, 140, 30, 255)
w = px(2)
for x0, y0, dx, dy in ((1, 1, 1, 1), (23, 1, -1, 1), (1, 23, 1, -1), (23, 23, -1, -1)):
    d.line([(px(x0), px(y0 + 6 * dy)), (px(x0), px(y0)), (px(x0 + 6 * dx), px(y0))],
           fill=box, width=w, joint="curve")
# The face: a disc with two eyes and a smile.
face = (250, 215, 120, 255)
ink = (60, 40, 30, 255)
d.ellipse([px(5), px(5), px(19), px(19)], fill=face, outline=ink, width=px(1.2))
d.ellipse([px(8.6), px(9), px(10.6), px(11.2)], fill=ink)
d.ellipse([px(13.4), px(9), px(15.4), px(11.2)], fill=ink)
d.arc([px(8.5), px(9.5), px(15.5), px(16.5)], start=25, end=155, fill=ink, width=px(1.3))

img.resize((24, 24), Image.LANCZOS).save(sys.argv[1] if len(sys.argv) > 1 else "data/lnlfer.png")
