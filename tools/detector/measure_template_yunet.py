#!/usr/bin/python3
"""The alignment template for YuNet's five landmarks, measured as
tools/detector/measure_template.py measures BlazeFace's: each training-set crop is pasted,
upscaled to 128 px, in the middle of a 320 px grey canvas, YuNet (ONNX Runtime, one pass at
native resolution, tools/detector/yunet_ort.py) runs on it, and the landmarks of the most
confident face are mapped back to fractions of the crop side.

    scripts/trixie-root run --bind /work/shared python3 tools/detector/measure_template_yunet.py \
        ../shared/data --out weights/align-template-yunet.json

Output, in weights/align-template.json's schema: per data set the median of the four points
the engine aligns with (right eye, left eye, nose tip, mouth centre = mean of the two mouth
corners) as "points" and of all five YuNet landmarks as "points5"; "rafdb_to_ferplus";
"template" (the 27:11 FER+ / RAF-DB training mix, as measure_template.py). Shipped weights
whose recipe names the template "rafdb" align to the "rafdb" points.
"""
import argparse
import json
import os
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from measure_template import CANVAS, FACE, sample_files, similarity_fit  # noqa: E402
from yunet_ort import DEFAULT_MODEL, run_pass, session  # noqa: E402

NAMES5 = ["right_eye", "left_eye", "nose", "right_mouth", "left_mouth"]


def measure(sess, files, min_score):
    """(N, 5, 2) landmarks in crop fractions of the crops where a face was found."""
    points = []
    off = (CANVAS - FACE) // 2
    for path in files:
        crop = Image.open(path).convert("RGB").resize((FACE, FACE), Image.BILINEAR)
        canvas = Image.new("RGB", (CANVAS, CANVAS), (128, 128, 128))
        canvas.paste(crop, (off, off))
        dets = run_pass(sess, canvas, 1.0, min_score)
        if len(dets):
            lm = dets[0, 5:15].reshape(5, 2)
            points.append((lm - off) / FACE)
    return np.array(points)


def four(points5):
    """Right eye, left eye, nose, mouth centre: the engine's LNL_ALIGN_POINTS."""
    p = np.asarray(points5)
    return np.concatenate([p[..., :3, :], p[..., 3:5, :].mean(axis=-2, keepdims=True)], axis=-2)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("data", nargs="?",
                   default=os.path.join(HERE, "..", "..", "..", "shared", "data"))
    p.add_argument("--per-dataset", type=int, default=700)
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--min-score", type=float, default=0.3)
    p.add_argument("--out")
    args = p.parse_args()
    sess = session(args.model, 1)
    result = {}
    for name, files in sample_files(args.data, args.per_dataset).items():
        pts = measure(sess, files, args.min_score)
        med5 = np.median(pts, axis=0)
        med4 = np.median(four(pts), axis=0)
        # spread: median absolute deviation of each point, in crop fractions
        mad = np.median(np.abs(four(pts) - med4), axis=0)
        result[name] = {"images": len(files), "detected": len(pts),
                        "points": np.round(med4, 4).tolist(),
                        "points5": np.round(med5, 4).tolist(),
                        "mad": np.round(mad, 4).tolist()}
        print(f"{name}: landmarks in {len(pts)}/{len(files)} crops; median (eyes, nose, mouth) "
              f"{np.round(med4, 4).tolist()}, MAD {np.round(mad, 4).tolist()}")
    fer, raf = np.array(result["ferplus"]["points"]), np.array(result["rafdb"]["points"])
    result["rafdb_to_ferplus"] = np.round(similarity_fit(fer, raf), 4).tolist()
    fer5, raf5 = np.array(result["ferplus"]["points5"]), np.array(result["rafdb"]["points5"])
    result["template"] = {"points": np.round((27 * fer + 11 * raf) / 38, 4).tolist(),
                          "points5": np.round((27 * fer5 + 11 * raf5) / 38, 4).tolist(),
                          "names": ["right_eye", "left_eye", "nose", "mouth"],
                          "names5": NAMES5,
                          "detector": "YuNet-n (libfacedetection v3, yunet_n_dynamic.onnx)",
                          "units": "fractions of the square crop side, x right, y down"}
    print(json.dumps(result["template"]))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
