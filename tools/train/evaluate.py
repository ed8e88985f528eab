#!/usr/bin/python3
"""Accuracy of the shipped weights on a folder of labelled faces, measured through the
C engine (`lnlfer classify`), so the numbers are those of what users run.

    /usr/bin/python3 tools/train/evaluate.py ../shared/data/ferplus/valid
    /usr/bin/python3 tools/train/evaluate.py ../shared/data/rafdb --raf-split valid

Folder kinds, detected automatically:
- FER+ split (has label.csv with ten annotator votes), scored with two yardsticks, 8
  classes each:
  (a) label = arg-max of the ten votes (first on ties), images whose arg-max is unknown/NF
      dropped, duplicates counted once (as the trainer measures);
  (b) the FERPlus reference protocol that published FER+ results use
      (data.ferplus_reference_label: vote counts of 1 set to 0, an image kept only when its
      top class has more than half of the remaining votes, unknown/NF dropped), on every
      listed image as that protocol does (no de-duplication).
- RAF-DB root (train/0..6 folders): --raf-split valid|train|all selects our fixed
  validation part (md5 of the file name mod 10 == 0); 7 classes, scored by arg-max over
  the 7 (no contempt). The crops are framed as the weights were trained (their recipe's
  raf_crop): re-cropped to the FER+ geometry (data.RAF_TO_FERPLUS) or RAF-DB's own;
  --raf-crop overrides.
- Weights trained on aligned crops (recipe crop "aligned"): `lnlfer classify` finds the face
  in each crop and aligns it first, as in training (its --align auto).
- Any folder whose subfolders are class names (neutral, happiness, ...): one class each.
Duplicate images (same decoded pixels) are counted once, except under FER+'s yardstick (b).
Prints accuracy, mean per-class accuracy and the confusion matrix (for FER+ of both
yardsticks); --json writes them (FER+: (a) at the top level, (b) under "reference").
"""
import argparse
import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import (FERPLUS_COLUMNS, RAF_FOLDERS, RAF_TO_FERPLUS, ferplus_reference_label,  # noqa: E402
                  load_image, raf_is_validation)
from model_card import read_metadata  # noqa: E402
from preprocess import warp_similarity  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DEFAULT_WEIGHTS = os.path.join(ROOT, "weights", "lnlfer-expression.safetensors")
CLASSES = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt"]


def ferplus_items(folder):
    items = []
    with open(os.path.join(folder, "label.csv"), newline="") as f:
        for row in csv.reader(f):
            if not row or not row[0].endswith(".png"):
                continue
            votes = [float(v) for v in row[2:12]]
            top = int(np.argmax(votes))
            path = os.path.join(folder, row[0])
            if top < 8 and os.path.exists(path):
                items.append((path, CLASSES.index(FERPLUS_COLUMNS[top])))
    return items, CLASSES


def ferplus_reference_items(folder):
    """(path, label) of every listed image that the FERPlus reference protocol keeps."""
    items = []
    with open(os.path.join(folder, "label.csv"), newline="") as f:
        for row in csv.reader(f):
            if not row or not row[0].endswith(".png"):
                continue
            label = ferplus_reference_label([float(v) for v in row[2:12]])
            path = os.path.join(folder, row[0])
            if label is not None and os.path.exists(path):
                items.append((path, CLASSES.index(FERPLUS_COLUMNS[label])))
    return items


def rafdb_items(folder, split):
    items = []
    for num, cls in sorted(RAF_FOLDERS.items()):
        sub = os.path.join(folder, "train", str(num))
        for name in sorted(os.listdir(sub)):
            if split == "all" or raf_is_validation(name) == (split == "valid"):
                items.append((os.path.join(sub, name), CLASSES.index(cls)))
    return items, [c for c in CLASSES if c != "contempt"]


def class_folder_items(folder):
    items = []
    for cls in CLASSES:
        sub = os.path.join(folder, cls)
        if os.path.isdir(sub):
            items += [(os.path.join(sub, n), CLASSES.index(cls)) for n in sorted(os.listdir(sub))]
    present = [c for c in CLASSES if os.path.isdir(os.path.join(folder, c))]
    return items, present


def dedup(items):
    seen, out = set(), []
    for path, label in items:
        with Image.open(path) as im:
            h = hashlib.md5(im.convert("RGB").tobytes()).hexdigest()
        if h not in seen:
            seen.add(h)
            out.append((path, label))
    return out


def classify(lnlfer, weights, paths, threads, chunk=400):
    """Runs `lnlfer classify` and returns {path: probabilities[8]}."""
    probs = {}
    for i in range(0, len(paths), chunk):
        cmd = [lnlfer, "classify", "--format", "csv", "--threads", str(threads)]
        if weights:
            cmd += ["--weights", weights]
        out = subprocess.run(cmd + paths[i:i + chunk], capture_output=True, text=True)
        if out.returncode not in (0, 3):  # 3: no face aligned in some crop (classified anyway)
            raise subprocess.CalledProcessError(out.returncode, cmd, out.stdout, out.stderr)
        rows = csv.DictReader(io.StringIO(out.stdout))
        for row in rows:
            probs[row["file"]] = np.array([float(row[c]) for c in CLASSES])
    return probs


def weights_raf_crop(weights):
    """The raf_crop of the recipe recorded in a weights file ("native" when it has none)."""
    recipe = json.loads(read_metadata(weights).get("lnl.recipe", "{}"))
    return recipe.get("raf_crop", "native")


def recropped(items, folder):
    """Writes each image re-cropped to the FER+ geometry into `folder` as PNG; returns
    {original path: re-cropped path}."""
    out = {}
    for i, (path, _) in enumerate(items):
        dst = os.path.join(folder, f"{i:06d}.png")
        Image.fromarray(warp_similarity(load_image(path), RAF_TO_FERPLUS)).save(dst)
        out[path] = dst
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("folder")
    p.add_argument("--raf-split", default="valid", choices=["valid", "train", "all"])
    p.add_argument("--lnlfer", default=os.path.join(ROOT, "build", "cli", "lnlfer"))
    p.add_argument("--weights", help="weights file (default: the one lnlfer finds)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--raf-crop", default="auto", choices=["auto", "native", "ferplus"],
                   help="RAF-DB framing (auto: as the weights were trained)")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args()

    if os.path.exists(os.path.join(args.folder, "label.csv")):
        kind, (items, scored) = "ferplus", ferplus_items(args.folder)
    elif os.path.isdir(os.path.join(args.folder, "train", "0")):
        kind, (items, scored) = f"rafdb-{args.raf_split}", rafdb_items(args.folder, args.raf_split)
    else:
        kind, (items, scored) = "class-folders", class_folder_items(args.folder)
    if not items:
        sys.exit(f"no labelled images found in {args.folder}")
    items = dedup(items)
    ref_items = ferplus_reference_items(args.folder) if kind == "ferplus" else None
    with tempfile.TemporaryDirectory() as tmp:
        inputs = {path: path for path, _ in items + (ref_items or [])}
        raf_crop = args.raf_crop
        if raf_crop == "auto":
            raf_crop = weights_raf_crop(args.weights or DEFAULT_WEIGHTS)
        if kind.startswith("rafdb") and raf_crop == "ferplus":
            inputs = recropped(items, tmp)
            kind += "-ferplus-geometry"
        by_input = classify(args.lnlfer, args.weights, list(inputs.values()), args.threads)
    results = [(kind, score(items, {p: by_input[inputs[p]] for p, _ in items}, scored, args.folder,
                            kind))]
    if ref_items is not None:
        results.append((kind + "-reference", score(ref_items, {p: by_input[inputs[p]] for p, _ in ref_items},
                                                   scored, args.folder, kind + "-reference")))
    for name, result in results:
        print_result(name, result, name.endswith("-reference"))
    if args.json:
        out = results[0][1]
        if len(results) > 1:
            out = dict(out, reference=results[1][1])
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


def score(items, probs, scored, folder, kind):
    """Accuracy, mean per-class accuracy and confusion matrix of arg-max predictions over
    the scored classes."""
    idx = [CLASSES.index(c) for c in scored]
    conf = np.zeros((len(scored), len(scored)), np.int64)
    for path, label in items:
        pred = idx[int(np.argmax(probs[path][idx]))]  # arg-max over the scored classes
        conf[idx.index(label), idx.index(pred)] += 1
    per_class = np.diag(conf) / np.maximum(conf.sum(1), 1)
    present = conf.sum(1) > 0
    return {"folder": folder, "kind": kind, "images": int(conf.sum()),
            "accuracy": float(np.trace(conf) / conf.sum()),
            "mean_class_accuracy": float(per_class[present].mean()),
            "classes": scored, "per_class_accuracy": [float(v) for v in per_class],
            "confusion": conf.tolist()}


def print_result(kind, result, reference):
    how = ("FERPlus reference protocol, every listed image" if reference
           else "duplicates removed")
    print(f"{kind}: {result['images']} images ({how})")
    print(f"accuracy {100 * result['accuracy']:.2f} %   "
          f"mean per-class accuracy {100 * result['mean_class_accuracy']:.2f} %")
    print("confusion matrix (rows: true, columns: predicted)")
    scored, conf = result["classes"], result["confusion"]
    print(" " * 10 + "".join(f"{c[:8]:>9}" for c in scored) + "   recall")
    for i, c in enumerate(scored):
        print(f"{c:<10}" + "".join(f"{v:9d}" for v in conf[i])
              + f"   {100 * result['per_class_accuracy'][i]:5.1f}")


if __name__ == "__main__":
    main()
