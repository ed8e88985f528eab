#!/usr/bin/python3
"""Reference YuNet face detector over ONNX Runtime: the spec the C engine follows.

    scripts/trixie-root run --bind /work/shared python3 tools/detector/yunet_ort.py \
        IMAGE... [--draw OUT.png] [--plan native|single] [--threshold 0.02]

Prints `lnlfer detect --format json` records (box x, y, w, h, score, 5 landmarks).

One pass (`run_pass`), as OpenCV's FaceDetectorYN decodes libfacedetection's YuNet v3:
- input: the image (resized by `scale` with PIL's antialiased bilinear filter when
  scale != 1), BGR, float 0..255, no mean or scaling, NCHW, padded with zeros at the right and
  bottom to a multiple of 32 (pad = ((side - 1) // 32 + 1) * 32);
- outputs per stride s in 8, 16, 32: cls, obj (N, 1) already sigmoided, bbox (N, 4), kps
  (N, 10), row-major over the (pad_h / s) x (pad_w / s) grid, anchor index = r * cols + c;
- score = sqrt(clamp01(cls) * clamp01(obj));
  cx = (c + bbox0) s, cy = (r + bbox1) s, w = exp(bbox2) s, h = exp(bbox3) s,
  box = (cx - w / 2, cy - h / 2, w, h); landmark k = ((c + kps[2k]) s, (r + kps[2k+1]) s),
  k = right eye, left eye (of the person), nose tip, right mouth corner, left mouth corner;
- all coordinates divided by `scale` (back to image pixels);
- candidates below `min_score` dropped, then greedy NMS (IoU > 0.3 suppressed, boxes as
  continuous x, y, w, h) in descending score order.

The multi-scale plan (`detect`) is in tools/detector/README.md.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
from PIL import Image, ImageDraw

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DEFAULT_MODEL = os.path.normpath(os.path.join(ROOT, "..", "shared", "models", "yunet",
                                              "yunet_n_dynamic.onnx"))
STRIDES = (8, 16, 32)
NMS_IOU = 0.3
LANDMARK_NAMES = ["right_eye", "left_eye", "nose", "right_mouth", "left_mouth"]


def session(model=DEFAULT_MODEL, threads=0):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])


def pad32(side):
    return ((side - 1) // 32 + 1) * 32


def resized(img, scale):
    """PIL RGB image scaled by `scale` (antialiased bilinear, as engine/lnl_resample.c)."""
    if scale == 1:
        return img
    w = max(1, int(round(img.width * scale)))
    h = max(1, int(round(img.height * scale)))
    return img.resize((w, h), Image.BILINEAR)


def network_input(img):
    """PIL RGB image -> (1, 3, pad_h, pad_w) float32 BGR 0..255, zero padded."""
    a = np.asarray(img.convert("RGB"), dtype=np.float32)
    h, w = a.shape[:2]
    x = np.zeros((1, 3, pad32(h), pad32(w)), dtype=np.float32)
    x[0, :, :h, :w] = a[:, :, ::-1].transpose(2, 0, 1)
    return x


def decode(outputs, names, pad_h, pad_w, min_score):
    """Raw outputs -> (N, 15) x, y, w, h, score, 10 landmark coordinates (network pixels)."""
    out = dict(zip(names, outputs))
    rows = []
    for s in STRIDES:
        cols, nrows = pad_w // s, pad_h // s
        cls = np.clip(out["cls_%d" % s][0, :, 0], 0, 1)
        obj = np.clip(out["obj_%d" % s][0, :, 0], 0, 1)
        score = np.sqrt(cls * obj)
        keep = np.where(score >= min_score)[0]
        if len(keep) == 0:
            continue
        assert len(score) == cols * nrows
        r, c = (keep // cols).astype(np.float64), (keep % cols).astype(np.float64)
        bb = out["bbox_%d" % s][0, keep].astype(np.float64)
        kp = out["kps_%d" % s][0, keep].astype(np.float64)
        cx, cy = (c + bb[:, 0]) * s, (r + bb[:, 1]) * s
        w, h = np.exp(bb[:, 2]) * s, np.exp(bb[:, 3]) * s
        lm = np.empty((len(keep), 10))
        lm[:, 0::2] = (kp[:, 0::2] + c[:, None]) * s
        lm[:, 1::2] = (kp[:, 1::2] + r[:, None]) * s
        rows.append(np.column_stack([cx - w / 2, cy - h / 2, w, h, score[keep], lm]))
    return np.concatenate(rows) if rows else np.zeros((0, 15))


def iou_one(box, boxes):
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[0] + box[2], boxes[:, 0] + boxes[:, 2])
    y2 = np.minimum(box[1] + box[3], boxes[:, 1] + boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    return inter / (box[2] * box[3] + boxes[:, 2] * boxes[:, 3] - inter + 1e-12)


def nms(dets, iou=NMS_IOU):
    """Greedy NMS, descending score (stable), suppress IoU > iou."""
    if len(dets) == 0:
        return dets
    dets = dets[np.argsort(-dets[:, 4], kind="stable")]
    alive = np.ones(len(dets), dtype=bool)
    keep = []
    for i in range(len(dets)):
        if not alive[i]:
            continue
        keep.append(i)
        rest = np.where(alive)[0]
        rest = rest[rest > i]
        if len(rest):
            alive[rest[iou_one(dets[i], dets[rest]) > iou]] = False
    return dets[keep]


def run_pass(sess, img, scale=1.0, min_score=0.02, do_nms=True):
    """One YuNet pass over PIL RGB `img` scaled by `scale`: (N, 15) in image pixels."""
    small = resized(img, scale)
    x = network_input(small)
    names = [o.name for o in sess.get_outputs()]
    outputs = sess.run(names, {sess.get_inputs()[0].name: x})
    dets = decode(outputs, names, x.shape[2], x.shape[3], min_score)
    sx, sy = small.width / img.width, small.height / img.height
    dets[:, [0, 2, 5, 7, 9, 11, 13]] /= sx
    dets[:, [1, 3, 6, 8, 10, 12, 14]] /= sy
    return nms(dets) if do_nms else dets


def records(path, img, dets):
    faces = [{"box": [round(float(v), 2) for v in d[:4]], "score": round(float(d[4]), 5),
              "landmarks": [[round(float(d[5 + 2 * k]), 2), round(float(d[6 + 2 * k]), 2)]
                            for k in range(5)]} for d in dets]
    return {"file": path, "width": img.width, "height": img.height, "faces": faces}


def draw(img, dets, out, threshold):
    im = img.copy()
    g = ImageDraw.Draw(im)
    colours = [(255, 0, 0), (0, 0, 255), (0, 255, 0), (255, 0, 255), (0, 255, 255)]
    lw = max(1, int(round(max(img.size) / 500)))
    for d in dets:
        if d[4] < threshold:
            continue
        x, y, w, h = d[:4]
        g.rectangle([x, y, x + w, y + h], outline=(255, 255, 0), width=lw)
        g.text((x, max(0, y - 12)), "%.2f" % d[4], fill=(255, 255, 0))
        for k in range(5):
            px, py = d[5 + 2 * k], d[6 + 2 * k]
            r = max(2, w / 40)
            g.ellipse([px - r, py - r, px + r, py + r], fill=colours[k])
    im.save(out)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("images", nargs="+")
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--threshold", type=float, default=0.02, help="lowest score kept")
    p.add_argument("--plan", choices=["single", "multi"], default="multi",
                   help="single: one pass at native resolution; multi: the multi-scale plan "
                   "of tools/detector/README.md (default)")
    p.add_argument("--draw", help="draw the (first) image's faces into this PNG")
    p.add_argument("--draw-threshold", type=float, default=0.5)
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args()
    sess = session(args.model, args.threads)
    out = []
    for i, path in enumerate(args.images):
        img = Image.open(path).convert("RGB")
        if args.plan == "single":
            dets = run_pass(sess, img, 1.0, args.threshold)
        else:
            from multiscale import detect
            dets = detect(sess, img, args.threshold)
        out.append(records(path, img, dets))
        if args.draw and i == 0:
            draw(img, dets, args.draw, max(args.threshold, args.draw_threshold))
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    sys.exit(main())
