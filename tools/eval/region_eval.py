#!/usr/bin/python3
"""Do the region weights point at the regions the prediction depends on? For each
validation face, each region's rectangle of the network input is greyed out in turn and
the drop of the predicted class's probability recorded, through the C engine
(`lnlfer classify`), against the region weights the engine reports for the intact face.

    /usr/bin/python3 tools/eval/region_eval.py ../shared/data --json runs/eval-regions.json

Faces: FER+ valid (arg-max label, unknown/NF dropped) and the RAF-DB validation part the
trainer splits off (md5 of the file name mod 10 == 0), duplicates removed, as
tools/train/evaluate.py scores them. Each face is cut as the weights were trained
(their recipe's crop): for "aligned", along the similarity from the weights' alignment
template (lnl.align) to the detector's landmarks on the crop, exactly as tools/train/data.py
cuts the trainer's validation faces (landmarks measured by tools/train/landmarks.py's
method into --landmarks, shared with the trainer, for the faces not yet in it; a face
without a usable fit gets its data set's median over the faces in that file); then turned
into the network's input (grey, resized with the engine's filter to input_size) and
written as an 8-bit PNG of exactly that size, which `lnlfer classify --align off` then
takes unchanged. A region (x, y, w, h in the config, cells of the half-resolution feature
map) covers input pixels 2x..2(x+w), 2y..2(y+h); greying fills it with the normalisation
mean (mid grey, 0 after normalisation).

Reported per set: the accuracy of the intact faces (to compare with evaluate.py), the
mean Spearman rank correlation between a face's nine region weights and the nine drops,
how often the top-weight region is the most damaging one (chance: 1/9), the mean weight
per region for each (true) class, and the entropy of the weights (mean per face, in nats;
the maximum is ln 9 = 2.197).
"""
import argparse
import concurrent.futures
import csv
import io
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
from data import RAF_TO_FERPLUS, aligned_geometry, key_of, load_image  # noqa: E402
from evaluate import CLASSES, DEFAULT_WEIGHTS, dedup, ferplus_items, rafdb_items  # noqa: E402
from landmarks import CHUNK, measure  # noqa: E402
from model_card import read_metadata  # noqa: E402
from preprocess import resize, to_grey, warp_similarity  # noqa: E402


def spearman(a, b):
    """Spearman's rank correlation (average ranks for ties); None when either is constant."""
    def ranks(v):
        v = np.asarray(v, np.float64)
        order = np.argsort(v, kind="mergesort")
        r = np.empty(len(v))
        r[order] = np.arange(len(v))
        for val in np.unique(v):  # ties share their mean rank
            tie = v == val
            r[tie] = r[tie].mean()
        return r
    ra, rb = ranks(a), ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    den = math.sqrt((ra ** 2).sum() * (rb ** 2).sum())
    return None if den == 0 else float((ra * rb).sum() / den)


def entropy(w):
    w = np.clip(np.asarray(w, np.float64), 1e-12, None)
    w = w / w.sum()
    return float(-(w * np.log(w)).sum())


def region_boxes(cfg):
    """Input-pixel rectangles (x0, y0, x1, y1) of the config's regions (feature-map cells
    at half the input resolution)."""
    return [(2 * x, 2 * y, 2 * (x + w), 2 * (y + h)) for x, y, w, h in cfg["regions"]]


def network_input(img, cfg):
    """uint8 (S, S[, 3]) image that the engine's preprocessing leaves as it is: grey (when
    the network takes one channel) and resized to input_size with the engine's filter."""
    size = cfg["input_size"]
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    planes = [to_grey(img)] if cfg["input_channels"] == 1 else \
        [img[..., c].astype(np.float32) for c in range(3)]
    out = np.stack([resize(p, size) for p in planes], -1)
    out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out[..., 0] if cfg["input_channels"] == 1 else out


def greyed(x, box, value):
    x0, y0, x1, y1 = box
    out = x.copy()
    out[y0:y1, x0:x1] = value
    return out


def landmarks_for(keys, data, path, lnlfer, jobs):
    """Landmarks of `keys` (measured into the shared file `path` when missing); returns
    the whole file's entries."""
    known = {}
    if os.path.exists(path):
        with open(path) as f:
            known = json.load(f)
    todo = [k for k in keys if k not in known]
    chunks = [todo[i:i + CHUNK] for i in range(0, len(todo), CHUNK)]
    with tempfile.TemporaryDirectory() as tmp, \
            concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        def one(i):
            sub = os.path.join(tmp, str(i))
            os.makedirs(sub)
            return measure(lnlfer, data, chunks[i], sub)
        for done, found in enumerate(pool.map(one, range(len(chunks)))):
            known.update(found)
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            with open(path + ".part", "w") as f:
                json.dump(known, f)
            os.replace(path + ".part", path)
            print(f"landmarks: {done + 1}/{len(chunks)} chunks", file=sys.stderr, flush=True)
    return known


def classify(lnlfer, weights, paths, threads, chunk=500):
    """{path: (probabilities[8], region weights)} from `lnlfer classify --align off`."""
    out = {}
    for i in range(0, len(paths), chunk):
        cmd = [lnlfer, "classify", "--align", "off", "--format", "csv", "--threads", str(threads),
               "--weights", weights]
        res = subprocess.run(cmd + paths[i:i + chunk], check=True, capture_output=True, text=True)
        for row in csv.DictReader(io.StringIO(res.stdout)):
            wcols = sorted((k for k in row if k[:1] == "w" and k[1:].isdigit()), key=lambda k: int(k[1:]))
            out[row["file"]] = (np.array([float(row[c]) for c in CLASSES]),
                                np.array([float(row[k]) for k in wcols]))
    return out


def evaluate_set(name, items, scored, cut, cfg, args, tmp):
    """Greys each region of each face in turn; returns the set's figures."""
    boxes = region_boxes(cfg)
    grey = int(round(255 * cfg["mean"]))
    folder = os.path.join(tmp, name)
    os.makedirs(folder)
    files = []
    for i, (path, _) in enumerate(items):
        x = network_input(cut(path), cfg)
        for r in range(-1, len(boxes)):
            f = os.path.join(folder, f"{i:05d}-{r + 1}.png")
            Image.fromarray(x if r < 0 else greyed(x, boxes[r], grey)).save(f)
            files.append(f)
    res = classify(args.lnlfer, args.weights, files, args.threads)
    idx = [CLASSES.index(c) for c in scored]
    nreg = len(boxes)
    rho, top_hit, ent, correct = [], 0, [], 0
    per_class_w = {c: [] for c in scored}
    mean_drop = np.zeros(nreg)
    for i, (path, label) in enumerate(items):
        probs, weights = res[os.path.join(folder, f"{i:05d}-0.png")]
        pred = idx[int(np.argmax(probs[idx]))]
        correct += pred == label
        drops = np.array([probs[pred] - res[os.path.join(folder, f"{i:05d}-{r + 1}.png")][0][pred]
                          for r in range(nreg)])
        mean_drop += drops
        s = spearman(weights, drops)
        if s is not None:
            rho.append(s)
        top_hit += int(np.argmax(weights) == np.argmax(drops))
        ent.append(entropy(weights))
        per_class_w[CLASSES[label]].append(weights)
    n = len(items)
    return {"faces": n, "accuracy_intact": correct / n,
            "spearman_mean": float(np.mean(rho)), "spearman_faces": len(rho),
            "top_weight_is_most_damaging": top_hit / n, "chance": 1 / nreg,
            "weight_entropy_mean_nats": float(np.mean(ent)), "entropy_max_nats": math.log(nreg),
            "mean_drop_per_region": (mean_drop / n).tolist(),
            "mean_weight_per_class": {c: (np.mean(v, 0).tolist() if v else None)
                                      for c, v in per_class_w.items()},
            "faces_per_class": {c: len(v) for c, v in per_class_w.items()}}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("data", nargs="?", default=os.path.join(ROOT, "..", "shared", "data"))
    p.add_argument("--weights", default=DEFAULT_WEIGHTS)
    p.add_argument("--lnlfer", default=os.path.join(ROOT, "build", "cli", "lnlfer"))
    p.add_argument("--landmarks", default="/var/cache/lnlfer-runs/cache/landmarks.json",
                   help="landmarks file shared with the trainer (its cache's landmarks.json)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--limit", type=int, default=0, help="only the first N faces of each set")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args()
    meta = read_metadata(args.weights)
    cfg, recipe = json.loads(meta["lnl.config"]), json.loads(meta.get("lnl.recipe", "{}"))
    fer_items, fer_scored = ferplus_items(os.path.join(args.data, "ferplus", "valid"))
    raf_items, raf_scored = rafdb_items(os.path.join(args.data, "rafdb"), "valid")
    sets = [("ferplus-valid", dedup(fer_items), fer_scored),
            ("rafdb-valid", dedup(raf_items), raf_scored)]
    if args.limit:
        sets = [(n, items[:args.limit], s) for n, items, s in sets]
    crop = recipe.get("crop", "dataset")
    geometry = {}
    if crop == "aligned":
        template = json.loads(meta["lnl.align"])["template"]["points"]
        keys = [key_of(path) for _, items, _ in sets for path, _ in items]
        known = landmarks_for(keys, args.data, args.landmarks, args.lnlfer, 2)
        geometry = aligned_geometry(known, template)

    def cut(path):
        img = load_image(path)
        if crop == "aligned":
            return warp_similarity(img, geometry[key_of(path)])
        if recipe.get("raf_crop") == "ferplus" and key_of(path).startswith("rafdb"):
            return warp_similarity(img, RAF_TO_FERPLUS)
        return img

    out = {"weights": os.path.relpath(args.weights, ROOT), "crop": crop,
           "regions": cfg["regions"], "sets": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, items, scored in sets:
            r = evaluate_set(name, items, scored, cut, cfg, args, tmp)
            out["sets"][name] = r
            print(f"{name}: {r['faces']} faces, intact accuracy {100 * r['accuracy_intact']:.2f} %")
            print(f"  Spearman(weights, drops) mean {r['spearman_mean']:.3f} "
                  f"({r['spearman_faces']} faces)")
            print(f"  top-weight region is the most damaging: {100 * r['top_weight_is_most_damaging']:.1f} % "
                  f"(chance {100 * r['chance']:.1f} %)")
            print(f"  weight entropy mean {r['weight_entropy_mean_nats']:.3f} nats "
                  f"(max {r['entropy_max_nats']:.3f})")
            print("  mean drop per region: " + " ".join(f"{d:.3f}" for d in r["mean_drop_per_region"]))
            print("  mean weight per region, by true class:")
            for c, w in r["mean_weight_per_class"].items():
                if w is not None:
                    print(f"    {c:<10} ({r['faces_per_class'][c]:4d}) " + " ".join(f"{v:.3f}" for v in w))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
