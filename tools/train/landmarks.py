#!/usr/bin/python3
"""Detector landmarks for every training and validation image, for the recipe's
`crop: "aligned"`: each face is then cut along the similarity that takes the alignment
template (weights/align-template.json) onto its own landmarks, as the engine cuts
the faces it finds in a photo, so that the network trains on the crops it will be given.

Each image (the data sets' crops are square) is pasted, upscaled, into the middle of a grey
canvas at the relative size tools/detector/measure_template.py measured the template at (a
128 px face on a 320 px canvas; here 102 on 256, the detector's input size, so that one
network pass does), `lnlfer detect` runs on the canvases, and the four main landmarks (right
eye, left eye, nose tip, mouth) of the most confident face are stored in fractions of the
image side; null when no face is found (the trainer then uses its data set's median
alignment). `lnlfer classify --align` re-cuts a crop the same way in C
(engine/lnl_recrop.c).

    /usr/bin/python3 tools/train/landmarks.py ../shared/data --out runs/cache/landmarks.json

Resumable: entries already in --out are kept and not measured again.
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from data import image_keys  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
CANVAS, FACE = 256, 102  # the face 0.4 of the canvas, as in measure_template.py
CHUNK = 500


def measure(lnlfer, data, keys, tmp):
    canvases = []
    for i, key in enumerate(keys):
        with Image.open(os.path.join(data, key)) as im:
            crop = im.convert("RGB").resize((FACE, FACE), Image.BILINEAR)
        canvas = Image.new("RGB", (CANVAS, CANVAS), (128, 128, 128))
        canvas.paste(crop, ((CANVAS - FACE) // 2, (CANVAS - FACE) // 2))
        out = os.path.join(tmp, f"{i}.bmp")  # fast to write and read
        canvas.save(out)
        canvases.append(out)
    cmd = [lnlfer, "detect", "--max-faces", "1", *canvases]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode not in (0, 3):  # 3: no face found on some canvas
        raise subprocess.CalledProcessError(res.returncode, cmd, res.stdout, res.stderr)
    found = {}
    for key, entry in zip(keys, json.loads(res.stdout)):
        if entry["faces"]:
            lm = entry["faces"][0]["landmarks"][:4]
            found[key] = [[round((x - (CANVAS - FACE) / 2) / FACE, 5),
                           round((y - (CANVAS - FACE) / 2) / FACE, 5)] for x, y in lm]
        else:
            found[key] = None
    return found


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("data", nargs="?", default=os.path.join(ROOT, "..", "shared", "data"))
    p.add_argument("--out", required=True)
    p.add_argument("--lnlfer", default=os.path.join(ROOT, "build", "cli", "lnlfer"))
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--limit", type=int, default=0, help="measure only the first N images")
    args = p.parse_args()
    known = {}
    if os.path.exists(args.out):
        with open(args.out) as f:
            known = json.load(f)
    keys = [k for k in image_keys(args.data) if k not in known]
    if args.limit:
        keys = keys[:args.limit]
    chunks = [keys[i:i + CHUNK] for i in range(0, len(keys), CHUNK)]
    with tempfile.TemporaryDirectory() as tmp, \
            concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        def one(i):
            sub = os.path.join(tmp, str(i))
            os.makedirs(sub)
            return measure(args.lnlfer, args.data, chunks[i], sub)
        for done, found in enumerate(pool.map(one, range(len(chunks)))):
            known.update(found)
            with open(args.out + ".part", "w") as f:
                json.dump(known, f)
            os.replace(args.out + ".part", args.out)
            print(f"{done + 1}/{len(chunks)} chunks", file=sys.stderr, flush=True)
    missing = sum(v is None for v in known.values())
    print(f"{len(known)} images, {missing} without a detection")


if __name__ == "__main__":
    main()
