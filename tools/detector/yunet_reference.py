#!/usr/bin/python3
"""Reference outputs of the original YuNet-n ONNX model under ONNX Runtime, for the engine's
YuNet parity test (tests/test_yunet.c). Run it where onnxruntime is installed, for example
the Debian 13 root (ONNX Runtime 1.21):

    scripts/trixie-root run --bind /work/shared python3 tools/detector/yunet_reference.py \
        --onnx ../shared/models/yunet/yunet_n_dynamic.onnx --out tests/data/yunet-golden.json

"raw": the network's twelve outputs on a 128 x 96 crop of tests/data/astronaut.png (BGR,
0..255, exactly what the engine feeds), per stride cls, obj, bbox, kps in the engine's
channels-first layout ([k][rows][cols], flattened).
"photos": the faces decoded from ONNX Runtime's outputs on whole photos or crops of the
repository's photos, at their own size (padded bottom/right with zeros to a multiple of
32), decoded as OpenCV's FaceDetectorYN (score = sqrt(cls * obj), boxes and landmarks per
stride), score >= THRESHOLD, then hard NMS at IoU NMS_IOU, best first: box [x, y, w, h],
score, five landmarks, in image pixels.
"""
import argparse
import json
import os

import numpy as np
import onnxruntime as ort
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
STRIDES = (8, 16, 32)
THRESHOLD = 0.5
NMS_IOU = 0.3
RAW = {"file": "tests/data/astronaut.png", "crop": [160, 48, 128, 96]}
# file, crop [x, y, w, h] (null: whole); sizes 512x512, 333x250 (not a multiple of 32),
# 110x110 and 1000x728 (a JPEG of five faces)
PHOTOS = [("tests/data/astronaut.png", None), ("tests/data/astronaut.png", [100, 20, 333, 250]),
          ("tests/data/astronaut-face.png", None), ("tests/data/face-api-sample5.jpg", None)]


def load(path, crop):
    rgb = np.asarray(Image.open(os.path.join(ROOT, path)).convert("RGB"))
    if crop:
        x, y, w, h = crop
        rgb = rgb[y:y + h, x:x + w]
    return rgb


def net_input(rgb):
    h, w = rgb.shape[:2]
    ph, pw = -(-h // 32) * 32, -(-w // 32) * 32
    x = np.zeros((1, 3, ph, pw), np.float32)
    x[0, :, :h, :w] = rgb[:, :, ::-1].transpose(2, 0, 1)  # BGR, 0..255
    return x


def run(sess, x):
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, {sess.get_inputs()[0].name: x})))


def iou(a, b):
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def decode(out, ph, pw):
    faces = []
    for s in STRIDES:
        cols = pw // s
        cls = np.clip(out[f"cls_{s}"][0, :, 0], 0, 1)
        obj = np.clip(out[f"obj_{s}"][0, :, 0], 0, 1)
        score = np.sqrt(cls * obj)
        bbox, kps = out[f"bbox_{s}"][0], out[f"kps_{s}"][0]
        for i in np.nonzero(score >= THRESHOLD)[0]:
            row, col = divmod(int(i), cols)
            b = bbox[i].astype(np.float64)
            cx, cy = (col + b[0]) * s, (row + b[1]) * s
            w, h = np.exp(b[2]) * s, np.exp(b[3]) * s
            marks = [[(col + float(kps[i, 2 * k])) * s, (row + float(kps[i, 2 * k + 1])) * s]
                     for k in range(5)]
            faces.append({"score": float(score[i]), "box": [cx - w / 2, cy - h / 2, w, h],
                          "landmarks": marks})
    faces.sort(key=lambda f: -f["score"])
    kept = []
    for f in faces:
        if all(iou(f["box"], k["box"]) <= NMS_IOU for k in kept):
            kept.append(f)
    near = [f["score"] for f in faces if abs(f["score"] - THRESHOLD) < 1e-3]
    if near:
        raise SystemExit(f"a score lies within 1e-3 of the threshold ({near}): pick other photos")
    return kept


def rounded(v):
    return [float(f"{x:.7g}") for x in v]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--onnx", required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    sess = ort.InferenceSession(args.onnx, providers=["CPUExecutionProvider"])
    x = net_input(load(RAW["file"], RAW["crop"]))
    out = run(sess, x)
    raw = {}
    for s in STRIDES:
        rows, cols = x.shape[2] // s, x.shape[3] // s
        for name in ("cls", "obj", "bbox", "kps"):
            t = out[f"{name}_{s}"][0]  # [rows * cols, k]
            raw[f"{name}_{s}"] = rounded(t.reshape(rows, cols, -1).transpose(2, 0, 1).reshape(-1))
    photos = []
    for path, crop in PHOTOS:
        rgb = load(path, crop)
        x = net_input(rgb)
        faces = decode(run(sess, x), x.shape[2], x.shape[3])
        photos.append({"file": path, "crop": crop, "width": rgb.shape[1], "height": rgb.shape[0],
                       "faces": [{"score": float(f"{f['score']:.7g}"), "box": rounded(f["box"]),
                                  "landmarks": [rounded(m) for m in f["landmarks"]]}
                                 for f in faces]})
        print(f"{path} {crop}: {rgb.shape[1]}x{rgb.shape[0]}, {len(faces)} faces")
    doc = {"runtime": f"onnxruntime {ort.__version__}", "model": os.path.basename(args.onnx),
           "threshold": THRESHOLD, "nms_iou": NMS_IOU,
           "raw": {"file": RAW["file"], "crop": RAW["crop"], "outputs": raw}, "photos": photos}
    with open(args.out, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {args.out} (onnxruntime {ort.__version__})")


if __name__ == "__main__":
    main()
