#!/usr/bin/python3
"""Measures YuNet's multi-scale plans on a WIDER FACE folder with ONNX Runtime.

    scripts/trixie-root run --bind /work/shared --bind /tmp python3 tools/detector/plan_eval.py \
        ../shared/data/wider-subset --photos ../shared/data/photos-dlib --cache /tmp/yunet-cache \
        --json tools/detector/results/plans.json

Every pass (image, scale) runs once and is cached (detections >= 0.02 after the pass's NMS).
"Scale k photo": the WIDER photo upscaled k times (antialiased bilinear) stands for a
high-resolution photo with k times larger faces; a pass at relative scale r of that photo is a
pass at scale k r of the original, scored against the original ground truth.

Prints and writes:
- recall by face width as the network sees it (box width x scale), at scores >= 0.5, per
  scale: the window of face sizes one pass finds;
- per plan and photo scale: AP easy / medium / hard (tools/eval/wider_eval.py protocol),
  multiply-adds per photo (1324 per padded input pixel, counted from the ONNX graph);
- for the chosen plan: threshold vs recall of faces >= 32 px wide vs false faces per photo.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools", "eval"))
import multiscale  # noqa: E402
import wider_eval as we  # noqa: E402
from yunet_ort import pad32, run_pass, session  # noqa: E402

MAC_PER_PIXEL = 1324  # YuNet-n, per padded input pixel (tools/detector/README.md)


class PassCache:
    def __init__(self, folder, sess):
        self.folder, self.sess = folder, sess
        os.makedirs(folder, exist_ok=True)
        self.images = {}

    def image(self, path):
        if path not in self.images:
            self.images = {path: Image.open(path).convert("RGB")}  # keep one decoded
        return self.images[path]

    def get(self, path, scale):
        f = os.path.join(self.folder, "%s@%.5f.npy" % (we.image_key(path), scale))
        if os.path.exists(f):
            return np.load(f)
        dets = run_pass(self.sess, self.image(path), scale, 0.02)
        np.save(f, dets)
        return dets


def macs(width, height, ranges):
    total = 0
    for s, _, _ in ranges:
        total += MAC_PER_PIXEL * pad32(max(1, round(height * s))) * pad32(max(1, round(width * s)))
    return total


def size_recall(images, paths, cache, scales, thr=0.5):
    """{scale: [(native width bin, faces, found)]}: non-invalid faces, IoU >= 0.5; the same
    faces in every column, seen by the network at native width x scale."""
    bins = [0, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 512]
    out = {}
    for s in scales:
        n = np.zeros(len(bins) - 1, int)
        f = np.zeros(len(bins) - 1, int)
        for image, path in zip(images, paths):
            d = cache.get(path, s)
            d = d[d[:, 4] >= thr]
            gt = image["boxes"]
            valid = ~image["invalid"]
            found = np.zeros(len(gt), bool)
            if len(d) and len(gt):
                _, matched = we.match_image(we.sort_by_score(d[:, :5]), gt, valid)
                found[matched[matched >= 0]] = True
            b = np.digitize(gt[:, 2], bins) - 1
            for i in np.where(valid)[0]:
                if 0 <= b[i] < len(n):
                    n[b[i]] += 1
                    f[b[i]] += found[i]
        out[str(s)] = [{"native_width": [bins[i], bins[i + 1]], "faces": int(n[i]),
                        "recall": round(float(f[i] / n[i]), 4) if n[i] else None}
                       for i in range(len(n))]
    return out


def plan_detections(images, paths, cache, k, ranges_fn):
    """{key: (N, 15)} for the photo upscaled k times, in original pixels."""
    dets, work = {}, 0
    for image, path in zip(images, paths):
        img = cache.image(path)
        W, H = img.width * k, img.height * k
        ranges = ranges_fn(W, H)
        # scale relative to the k-times photo -> relative to the original; widths likewise
        per = [cache.get(path, round(s * k, 5)) for s, _, _ in ranges]
        orig_ranges = [(s * k, lo / k, hi / k) for s, lo, hi in ranges]
        dets[we.image_key(path)] = multiscale.merge(per, orig_ranges)
        work += macs(W, H, ranges)
    return dets, work / len(images)


def threshold_curve(images, dets, thresholds, min_width=32):
    rows = []
    for t in thresholds:
        n = found = fp = 0
        for image in images:
            d = dets.get(we.image_key(image["file"]), np.zeros((0, 15)))
            d = we.sort_by_score(d[d[:, 4] >= t][:, :5])
            gt, valid = image["boxes"], ~image["invalid"]
            counted, matched = we.match_image(d, gt, valid)
            big = valid & (gt[:, 2] >= min_width)
            n += int(big.sum())
            found += int(sum(1 for m in matched if m >= 0 and big[m]))
            fp += int((counted & (matched < 0)).sum())
        rows.append({"threshold": t, "recall_ge_%d" % min_width: round(found / n, 4),
                     "false_per_photo": round(fp / len(images), 3)})
    return rows


def photos_check(folder, cache, ranges_fn, ts, min_width=24):
    """tools/eval/photos_check.py's criterion per threshold: annotated faces >= min_width px
    missed, and detections on dogs.jpg."""
    import photos_check as pc
    ann = {}
    for x in ("training.xml", "testing.xml"):
        ann.update(pc.load_imglab(os.path.join(folder, x)))
    names = sorted(ann) + ["dogs.jpg"]
    dets, _ = plan_detections([{"file": n} for n in names],
                              [os.path.join(folder, n) for n in names], cache, 1, ranges_fn)
    rows = []
    for t in ts:
        above = {k: d[d[:, 4] >= t] for k, d in dets.items()}
        missed = sum(len(pc.check_photo(n, ann[n], above[we.image_key(n)][:, :4],
                                        min_width)["missed"]) for n in sorted(ann))
        rows.append({"threshold": t, "missed_ge_%d" % min_width: missed,
                     "dogs": int(len(above["dogs"]))})
    for r in rows:
        r["missed_ge_24"] = r.get("missed_ge_%d" % min_width)
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("folder")
    p.add_argument("--cache", default="/tmp/yunet-cache")
    p.add_argument("--model", default=None)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--photo-scales", default="1,2,4")
    p.add_argument("--size-scales", default="0.25,0.5,1,2,4")
    p.add_argument("--photos", help="also check on this photos-dlib folder")
    p.add_argument("--json")
    args = p.parse_args()
    sess = session(args.model, args.threads) if args.model else session(threads=args.threads)
    images = we.load_ground_truth(args.folder)
    paths = [we.image_path(args.folder, im) for im in images]
    cache = PassCache(args.cache, sess)
    result = {}

    scales = [float(s) for s in args.size_scales.split(",")]
    result["recall_by_native_width"] = sr = size_recall(images, paths, cache, scales)
    print("recall at score >= 0.5 by native face width, per pass scale (seen width = native x "
          "scale):")
    print("%-12s" % "native width" + "".join("%14s" % ("scale " + str(s)) for s in scales))
    for i, row in enumerate(sr[str(scales[0])]):
        cells = []
        for s in scales:
            r = sr[str(s)][i]
            cells.append("%14s" % ("-" if r["recall"] is None else "%.3f" % r["recall"]))
        print("%-12s" % ("%d-%d (%d)" % (*row["native_width"], row["faces"])) + "".join(cells))

    I = math.inf
    plans = {
        "native": lambda W, H: [(1.0, 0, I)],
        "native+1/2 nms": lambda W, H: [(1.0, 0, I), (0.5, 0, I)],
        "native+1/4 nms": lambda W, H: [(1.0, 0, I), (0.25, 0, I)],
        "native+1/2+1/4 nms": lambda W, H: [(1.0, 0, I), (0.5, 0, I), (0.25, 0, I)],
        "native<128 | 1/4>=128": lambda W, H: [(1.0, 0, 128), (0.25, 128, I)],
        "native<256 | 1/4>=256": lambda W, H: [(1.0, 0, 256), (0.25, 256, I)],
        "native<96 | 1/4>=96": lambda W, H: [(1.0, 0, 96), (0.25, 96, I)],
        "native<192 | 1/4>=96": lambda W, H: [(1.0, 0, 192), (0.25, 96, I)],
        "native<128 | 1/2 64-256 | 1/4>=128": lambda W, H: [(1.0, 0, 128), (0.5, 64, 256),
                                                            (0.25, 128, I)],
    }
    for cap in (0.25, 0.5, 2.0, 4.0, 8.0):
        plans["cap %g MP" % cap] = (
            lambda W, H, cap=cap: [(multiscale.native_scale(W, H, cap), 0, I)])
        plans["chosen, cap %g MP" % cap] = lambda W, H, cap=cap: multiscale.plan(W, H, cap)
    plans["chosen"] = lambda W, H: multiscale.plan(W, H)
    only = os.environ.get("PLANS")
    ks = [float(k) for k in args.photo_scales.split(",")]
    result["plans"] = {}
    print("\n%-36s %5s %7s %7s %7s %9s %10s" % ("plan", "photo", "easy", "medium", "hard",
                                                "GMAC", "rec>=32@1FP"))
    for name, fn in plans.items():
        if only and name not in only.split(";"):
            continue
        for k in ks:
            dets, work = plan_detections(images, paths, cache, k, fn)
            recs = {key: d[:, :5] for key, d in dets.items()}
            r = we.evaluate(images, recs, large=32)
            row = {"easy": r["easy"]["ap"], "medium": r["medium"]["ap"], "hard": r["hard"]["ap"],
                   "gmac_per_photo": work / 1e9, "operating_point": r["operating_point"]}
            result["plans"]["%s @x%g" % (name, k)] = row
            print("%-36s %5s %7.4f %7.4f %7.4f %9.2f %10.4f" % (
                name, "x%g" % k, row["easy"], row["medium"], row["hard"], work / 1e9,
                r["operating_point"]["recall_large"]))
            sys.stdout.flush()
            if name == "chosen" and k == 1:
                ts = [0.3, 0.4, 0.5, 0.55, 0.6, 0.62, 0.64, 0.66, 0.68, 0.7, 0.75, 0.8, 0.85,
                      0.9]
                # as the CLI by default (--min-size 16): faces under 16 px wide dropped
                d16 = {key: d[d[:, 2] >= 16] for key, d in dets.items()}
                result["threshold_curve"] = {"min_size_16": threshold_curve(images, d16, ts),
                                             "all_sizes": threshold_curve(images, dets, ts)}
                for c, c0 in zip(*result["threshold_curve"].values()):
                    print("   threshold %.2f: recall of faces >= 32 px %.4f, false faces per "
                          "photo %.3f (with faces < 16 px: %.3f)" % (
                              c["threshold"], c["recall_ge_32"], c["false_per_photo"],
                              c0["false_per_photo"]))
        if args.photos:
            ph = photos_check(args.photos, cache, fn, [0.5, 0.55, 0.6, 0.62, 0.65, 0.7, 0.8,
                                                       0.85, 0.9])
            result["plans"][name + " photos-dlib"] = ph
            print("   photos-dlib, faces >= 24 px missed / detections on dogs.jpg: " + ", ".join(
                "%.2f: %d/%d" % (r["threshold"], r["missed_ge_24"], r["dogs"]) for r in ph))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
