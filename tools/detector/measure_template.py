#!/usr/bin/python3
"""Measure where the detector's landmarks fall in the expression network's training
crops, to define the alignment template (engine/lnl_align.c).

Each crop is pasted, upscaled, in the middle of a grey canvas (the detector needs some
context around a face), `lnlfer detect` runs on the canvases, and the four main landmarks
(right eye, left eye, nose tip, mouth) are mapped back to fractions of the crop side.
Prints the per-dataset medians and the training-mix template as JSON, and the similarity
from the FER+ framing to RAF-DB's as `rafdb_to_ferplus` (tools/train/data.py
RAF_TO_FERPLUS): a recipe with raf_crop "ferplus" re-crops RAF-DB faces with it, and the
export then uses the FER+ medians as the template.

    /usr/bin/python3 tools/detector/measure_template.py ../shared/data --out weights/align-template.json
"""
import argparse
import json
import os
import subprocess
import tempfile

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
CANVAS, FACE = 320, 128  # canvas side and the side the crop is scaled to


def sample_files(data, n):
    fer = os.path.join(data, "ferplus", "valid")
    fer_files = sorted(f for f in os.listdir(fer) if f.endswith(".png"))[:n]
    raf_files = []
    for d in range(7):
        sub = os.path.join(data, "rafdb", "train", str(d))
        raf_files += [os.path.join(sub, f) for f in sorted(os.listdir(sub))[: n // 7]]
    return {"ferplus": [os.path.join(fer, f) for f in fer_files], "rafdb": raf_files}


def measure(lnlfer, files, tmp):
    canvases = []
    for i, path in enumerate(files):
        crop = Image.open(path).convert("RGB").resize((FACE, FACE), Image.BILINEAR)
        canvas = Image.new("RGB", (CANVAS, CANVAS), (128, 128, 128))
        canvas.paste(crop, ((CANVAS - FACE) // 2, (CANVAS - FACE) // 2))
        out = os.path.join(tmp, f"{i}.png")
        canvas.save(out)
        canvases.append(out)
    points = []
    for k in range(0, len(canvases), 200):
        cmd = [lnlfer, "detect", "--max-faces", "1", *canvases[k:k + 200]]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode not in (0, 3):  # 3: no face found on some canvas
            raise subprocess.CalledProcessError(res.returncode, cmd, res.stdout, res.stderr)
        for entry in json.loads(res.stdout):
            if entry["faces"]:
                lm = np.array(entry["faces"][0]["landmarks"][:4])
                points.append((lm - (CANVAS - FACE) / 2) / FACE)
    return np.array(points)


def similarity_fit(dst, src):
    """Similarity (a, b, tx, ty) taking the template frame to a dataset's crop:
    src = (a x - b y + tx, b x + a y + ty) for (x, y) in dst. Fitted by least squares in
    the other direction (crop landmarks onto the template) and inverted."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(src, dst):
        rows += [[x, -y, 1, 0], [y, x, 0, 1]]
        rhs += [u, v]
    a, b, tx, ty = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)[0]
    inv = np.linalg.inv(np.array([[a, -b], [b, a]]))
    t = -inv @ np.array([tx, ty])
    return np.array([inv[0, 0], inv[1, 0], t[0], t[1]])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("data", nargs="?", default=os.path.join(ROOT, "..", "shared", "data"))
    p.add_argument("--per-dataset", type=int, default=700)
    p.add_argument("--lnlfer", default=os.path.join(ROOT, "build", "cli", "lnlfer"))
    p.add_argument("--out")
    args = p.parse_args()
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, files in sample_files(args.data, args.per_dataset).items():
            pts = measure(args.lnlfer, files, tmp)
            med = np.median(pts, axis=0)
            result[name] = {"images": len(files), "detected": len(pts),
                            "points": np.round(med, 4).tolist()}
            print(f"{name}: landmarks found in {len(pts)}/{len(files)} crops; median "
                  f"right eye {med[0]}, left eye {med[1]}, nose {med[2]}, mouth {med[3]}")
    fer, raf = np.array(result["ferplus"]["points"]), np.array(result["rafdb"]["points"])
    result["rafdb_to_ferplus"] = np.round(similarity_fit(fer, raf), 4).tolist()
    # the training mix is about 27 k FER+ and 11 k RAF-DB faces
    result["template"] = {"points": np.round((27 * fer + 11 * raf) / 38, 4).tolist(),
                          "names": ["right_eye", "left_eye", "nose", "mouth"],
                          "units": "fractions of the square crop side, x right, y down"}
    print(json.dumps(result["template"]))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
