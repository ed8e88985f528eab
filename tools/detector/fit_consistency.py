#!/usr/bin/python3
"""Data and fit behind the detector's consistency check (lnl_detect_consistent in
engine/lnl_detector.c): labels the detection clusters dumped by tests/detect_trace as faces
or not, and fits a logistic regression over the clusters the check concerns (tile passes
ran, the face >= 16 px wide in the whole-image pass, no whole-image detection above the
threshold).

    D=/work/shared/data; T=build/tests/detect_trace; W=weights/blazeface-back.safetensors
    $T $W 0.5 $D/photos-dlib/*.jpg > photos.json
    $T $W 0.1 $D/wider-subset/images/*.jpg > wider.json
    python3 tools/eval/align_eval.py $D --per-dataset 300 --keep canvases   # the canvases
    $T $W 0.5 canvases/*.png > canvases.json
    python3 tools/detector/fit_consistency.py --photos photos.json --wider wider.json \\
        --canvases canvases.json --canvas-truth canvases/truth.json

Labels: photos-dlib: a cluster matching an annotated face (photos_check.py's matching) is a
face; one that overlaps an annotated face without matching it is not (a part of a face);
others are unknown (the photos have unannotated faces) except on dogs.jpg, where every
cluster is a false detection. WIDER: IoU >= 0.4 with a ground-truth box is a face, < 0.2 with
all is not, in between unknown. Canvases (align_eval.py): the cluster nearest the pasted face
within half its side is a face, the others (on the blurred background copies) are not.

Features (as in the C code): the best tile and whole-image scores in logits above the
threshold's (the whole-image one no lower than the evidence floor, -4), log2 of the width in
whole-image network pixels. Prints a weighted logistic fit (each data set and class weighs
the same) and, for the check as it is in the trace ("now"), the rule of the C code or --coef
("rule") and no check: photos_check.py's result, align_eval.py's detected fraction and the
WIDER clusters dropped. --wider-out writes the WIDER detections under the rule for
`tools/eval/wider_eval.py --detections`. The logistic fit kept too few pasted faces (93.7 %
of FER+); the C code's round coefficients were chosen by scanning TILE = 1, WHOLE and LOG2PX
in steps of 0.05 for the widest gap between the dogs and the pasted faces, BIAS in between,
with every photos-dlib face kept.
"""
import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "eval"))
from photos_check import check_photo, load_imglab, matches  # noqa: E402
from photos_check import iou as iou_xywh  # noqa: E402


CHECK_MIN_PX = 16.0
# CHECK_TILE, CHECK_WHOLE, CHECK_LOG2PX, CHECK_BIAS in engine/lnl_detector.c
C_RULE = (1.0, 1.5, -1.2, 6.25)
EVIDENCE_MARGIN = -4.0


def logit(p):
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def label_photos(records, folder):
    faces = {}
    for xml in ("training.xml", "testing.xml"):
        faces.update(load_imglab(os.path.join(folder, xml)))
    for r in records:
        name = os.path.basename(r["file"])
        for c in r["clusters"]:
            if name == "dogs.jpg":
                c["label"] = 0
            elif name in faces:
                gt = faces[name]
                if any(matches(np.asarray(c["box"]), g)[0] for g in gt):
                    c["label"] = 1
                elif any(iou_xywh(c["box"], g) > 0 for g in gt):
                    c["label"] = 0
            c["set"] = "photos"


def label_wider(records, folder):
    gt = {g["file"]: np.asarray(g["boxes"], dtype=np.float64).reshape(-1, 4)
          for g in json.load(open(os.path.join(folder, "ground_truth.json")))}
    for r in records:
        boxes = gt[os.path.splitext(os.path.basename(r["file"]))[0]]
        r["clusters"] = [c for c in r["clusters"] if None not in c["box"]]  # old traces
        for c in r["clusters"]:
            best = max([iou_xywh(c["box"], b) for b in boxes] + [0.0])
            if best >= 0.4:
                c["label"] = 1
            elif best < 0.2:
                c["label"] = 0
            c["set"] = "wider"


def label_canvases(records, truth):
    for r in records:
        cx, cy, side = truth[r["file"]] if r["file"] in truth else truth[
            os.path.basename(r["file"])]
        dist = [np.hypot(c["box"][0] + c["box"][2] / 2 - cx, c["box"][1] + c["box"][3] / 2 - cy)
                for c in r["clusters"]]
        near = int(np.argmin(dist)) if dist and min(dist) < side / 2 else -1
        for i, c in enumerate(r["clusters"]):
            c["label"] = int(i == near)
            c["set"] = "ferplus" if "ferplus" in os.path.basename(r["file"]) else "rafdb"


def features(c, threshold):
    """What the rule looks at: the tile and whole-image scores in logits above the
    threshold's (the whole-image one no lower than the evidence floor), log2 of the width."""
    t = logit(threshold)
    whole = logit(c["whole"]) - t if c["whole"] > 0 else EVIDENCE_MARGIN
    return [float(logit(c["tile"]) - t), float(max(whole, EVIDENCE_MARGIN)), np.log2(c["px"])]


def concerned(c, threshold):
    """Clusters the check decides on: tiles ran and found it, >= 16 px wide."""
    return c["tiled"] and c["px"] >= CHECK_MIN_PX and c["tile"] >= threshold


def fit_logistic(x, y, weight, l2=1e-3, iters=50):
    """Weighted logistic regression by Newton's method; returns [w..., bias]."""
    X = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(X.shape[1])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-X @ w))
        g = X.T @ (weight * (p - y)) + l2 * w
        H = (X * (weight * p * (1 - p))[:, None]).T @ X + l2 * np.eye(len(w))
        w -= np.linalg.solve(H, g)
    return w


def c_rule(c, threshold, coef):
    """The rule of lnl_detect_consistent (keep it in step with the C code)."""
    if not concerned(c, threshold):
        return True
    x = np.asarray(features(c, threshold))
    return float(np.dot(coef[:3], x) + coef[3]) >= 0


def simulate(records, threshold, keep):
    """lnl_detect's output from the trace: the kept clusters with score >= threshold."""
    return [{"file": r["file"], "faces": [{"box": c["box"], "score": c["score"]}
                                         for c in r["clusters"]
                                         if c["score"] >= threshold and keep(c, threshold)]}
            for r in records]


def canvas_rate(records, truth):
    """align_eval.py's detected fraction: a kept face within half the side of the pasted one."""
    hits = {}
    for r in records:
        cx, cy, side = truth[os.path.basename(r["file"])]
        ok = any(np.hypot(f["box"][0] + f["box"][2] / 2 - cx, f["box"][1] + f["box"][3] / 2 - cy)
                 < side / 2 for f in r["faces"])
        name = "ferplus" if "ferplus" in os.path.basename(r["file"]) else "rafdb"
        hits.setdefault(name, []).append(ok)
    return {k: float(np.mean(v)) for k, v in hits.items()}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--photos")
    p.add_argument("--photos-folder", default="/work/shared/data/photos-dlib")
    p.add_argument("--wider")
    p.add_argument("--wider-folder", default="/work/shared/data/wider-subset")
    p.add_argument("--canvases", action="append", default=[])
    p.add_argument("--canvas-truth", action="append", default=[])
    p.add_argument("--dump", help="write the labelled clusters the check concerns (TSV)")
    p.add_argument("--coef", help="evaluate this rule instead of the C code's: "
                   "TILE,WHOLE,LOG2PX,BIAS")
    p.add_argument("--wider-out", help="write the WIDER detections under the rule (for "
                   "tools/eval/wider_eval.py --detections)")
    args = p.parse_args()
    rows = []  # (cluster, threshold)
    photos = wider = None
    canvases = []
    if args.photos:
        photos = json.load(open(args.photos))
        label_photos(photos, args.photos_folder)
        rows += [(c, 0.5) for r in photos for c in r["clusters"]]
    if args.wider:
        wider = json.load(open(args.wider))
        label_wider(wider, args.wider_folder)
        rows += [(c, 0.1) for r in wider for c in r["clusters"]]
    truth = {}
    for t in args.canvas_truth:
        truth.update({os.path.basename(k): v for k, v in json.load(open(t)).items()})
    for path in args.canvases:
        rec = json.load(open(path))
        label_canvases(rec, truth)
        canvases += rec
        rows += [(c, 0.5) for r in rec for c in r["clusters"]]
    rows = [(c, t) for c, t in rows if "label" in c and concerned(c, t)]
    if args.dump:
        with open(args.dump, "w") as f:
            f.write("set\tlabel\tthreshold\tscore\ttile\twhole\tpx\ttile_n\twhole_n\tkept\n")
            for c, t in rows:
                f.write("%s\t%d\t%g\t%.4f\t%.4f\t%.4f\t%.1f\t%d\t%d\t%d\n" % (
                    c["set"], c["label"], t, c["score"], c["tile"], c["whole"], c["px"],
                    c.get("tile_n", -1), c.get("whole_n", -1), c["kept"]))
    sets = sorted({c["set"] for c, _ in rows})
    for s in sets:
        sub = [c for c, _ in rows if c["set"] == s]
        pos = sum(c["label"] for c in sub)
        print("%-8s concerned clusters: %d faces (%d kept now), %d not faces (%d kept now)" % (
            s, pos, sum(c["kept"] for c in sub if c["label"]), len(sub) - pos,
            sum(c["kept"] for c in sub if not c["label"])))
    x = np.asarray([features(c, t) for c, t in rows])
    y = np.asarray([c["label"] for c, _ in rows], dtype=np.float64)
    # each data set and class weighs the same in total
    weight = np.ones(len(rows))
    for s in sets:
        for lab in (0, 1):
            m = np.asarray([c["set"] == s and c["label"] == lab for c, _ in rows])
            if m.any():
                weight[m] = 1.0 / m.sum()
    w = fit_logistic(x, y, weight)
    print("logistic fit (features relative to the threshold's logit): tile %.4f whole %.4f "
          "log2px %.4f bias %.4f" % tuple(w))
    coef = np.asarray([float(v) for v in args.coef.split(",")] if args.coef else C_RULE)
    print("rule %s:" % ",".join("%.4g" % v for v in coef))
    for name, keep in (("now", lambda c, t: c["kept"]),
                       ("rule", lambda c, t: c_rule(c, t, coef)),
                       ("no check", lambda c, t: True)):
        line = "  %-8s" % name
        if photos:
            faces = {}
            for xml in ("training.xml", "testing.xml"):
                faces.update(load_imglab(os.path.join(args.photos_folder, xml)))
            dets = {os.path.basename(r["file"]): np.asarray([f["box"] for f in r["faces"]]
                                                            ).reshape(-1, 4)
                    for r in simulate(photos, 0.5, keep)}
            res = [check_photo(n, g, dets[n], 32) for n, g in faces.items()]
            found = sum(len(r["found"]) for r in res)
            line += " photos %d/%d, dogs %d" % (found, found + sum(len(r["missed"]) for r in res),
                                                len(dets.get("dogs.jpg", [])))
        if canvases:
            rates = canvas_rate(simulate(canvases, 0.5, keep), truth)
            line += " canvases " + " ".join("%s %.1f %%" % (k, 100 * v)
                                            for k, v in sorted(rates.items()))
        if wider:
            kept = [c for r in wider for c in r["clusters"] if c["score"] >= 0.1]
            dropped = [c for c in kept if not keep(c, 0.1)]
            line += " wider dropped %d faces, %d non-faces" % (
                sum(c.get("label") == 1 for c in dropped), sum(c.get("label") == 0 for c in dropped))
        print(line)
    if args.wider_out and wider:
        with open(args.wider_out, "w") as f:
            json.dump(simulate(wider, 0.1, lambda c, t: c_rule(c, t, coef)), f)


if __name__ == "__main__":
    main()
