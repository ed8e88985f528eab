"""Datasets: FER+ (train/valid, ten-annotator votes) and RAF-DB basic (train, split into our
train and validation parts). Images are decoded once, preprocessed with preprocess.to_unit
and cached as one .npz per split.

Rules (see weights/MODEL_CARD.md):
- FER+: soft target = votes over the eight classes, renormalised; images whose majority
  vote is `unknown` or `NF` are dropped. Label = arg-max of the votes (first on ties).
- RAF-DB: folder number -> FER+ class name; no contempt. Validation part = files whose
  md5(file name) mod 10 == 0 (about 10 %), fixed for ever. With the recipe's raf_crop
  "ferplus", every RAF-DB image is re-cropped to the FER+ crop geometry (RAF_TO_FERPLUS) so
  that the network learns one convention; "native" keeps RAF-DB's own crops.
- De-duplication by md5 of the decoded pixels of the preprocessed image: one copy kept in
  each training set, and any training image that also occurs in a validation set is dropped
  from training (FER2013 repeats images across its splits).
"""
import csv
import hashlib
import os

import numpy as np
from PIL import Image

from preprocess import to_unit, warp_similarity

FERPLUS_COLUMNS = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear",
                   "contempt", "unknown", "NF"]
RAF_FOLDERS = {0: "surprise", 1: "fear", 2: "disgust", 3: "happiness", 4: "sadness",
               5: "anger", 6: "neutral"}


# Similarity (a, b, tx, ty) from a FER+-geometry frame to a RAF-DB aligned crop, both in
# fractions of the side: least-squares fit of the median detector landmarks (eyes, nose,
# mouth) measured on the two datasets by tools/detector/measure_template.py (350 crops
# each; `rafdb_to_ferplus` in weights/align-template.json). RAF-DB faces are about 13 %
# larger in their crop.
RAF_TO_FERPLUS = (1.1304, 0.0103, -0.0737, -0.1284)


def raf_is_validation(name):
    return int(hashlib.md5(name.encode()).hexdigest(), 16) % 10 == 0


def load_image(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def read_ferplus(folder, classes, cfg):
    xs, ys, names = [], [], []
    with open(os.path.join(folder, "label.csv"), newline="") as f:
        for row in csv.reader(f):
            if not row or not row[0].endswith(".png"):
                continue
            votes = np.array([float(v) for v in row[2:12]], np.float32)
            if np.argmax(votes) >= 8:  # majority is unknown or not-a-face
                continue
            path = os.path.join(folder, row[0])
            if not os.path.exists(path):
                continue
            dist = np.array([votes[FERPLUS_COLUMNS.index(c)] for c in classes], np.float32)
            xs.append(to_unit(load_image(path), cfg))
            ys.append(dist / dist.sum())
            names.append(row[0])
    return np.stack(xs), np.stack(ys), names


def read_rafdb(folder, classes, cfg, validation, raf_crop):
    xs, ys, names = [], [], []
    for num, cls in sorted(RAF_FOLDERS.items()):
        sub = os.path.join(folder, "train", str(num))
        for name in sorted(os.listdir(sub)):
            if raf_is_validation(name) != validation:
                continue
            y = np.zeros(len(classes), np.float32)
            y[classes.index(cls)] = 1
            img = load_image(os.path.join(sub, name))
            if raf_crop == "ferplus":
                img = warp_similarity(img, RAF_TO_FERPLUS)
            xs.append(to_unit(img, cfg))
            ys.append(y)
            names.append(name)
    return np.stack(xs), np.stack(ys), names


def pixel_hashes(x):
    return [hashlib.md5(np.ascontiguousarray(img).tobytes()).hexdigest() for img in x]


def dedup(x, y, names, exclude=()):
    """Keep the first copy of each image and drop any that occurs in `exclude`."""
    seen = set(exclude)
    keep = []
    for i, h in enumerate(pixel_hashes(x)):
        if h not in seen:
            seen.add(h)
            keep.append(i)
    return x[keep], y[keep], [names[i] for i in keep]


def load_splits(data_dir, cfg, cache_dir, raf_crop="native"):
    """Returns dict split -> (x [N,C,S,S] float32 in [0,1], y [N,8] float32, names)."""
    os.makedirs(cache_dir, exist_ok=True)
    if raf_crop not in ("native", "ferplus"):
        raise ValueError(f"raf_crop must be native or ferplus, not {raf_crop!r}")
    geometry = RAF_TO_FERPLUS if raf_crop == "ferplus" else None
    key = hashlib.md5(repr((cfg["input_size"], cfg["input_channels"], geometry,
                            os.path.abspath(data_dir))).encode()).hexdigest()[:10]
    path = os.path.join(cache_dir, f"splits-{key}.npz")
    if os.path.exists(path):
        z = np.load(path, allow_pickle=False)
        return {s: (z[s + "_x"], z[s + "_y"], list(z[s + "_n"])) for s in
                ("fer_train", "fer_valid", "raf_train", "raf_valid")}
    classes = cfg["classes"]
    fer_valid = read_ferplus(os.path.join(data_dir, "ferplus", "valid"), classes, cfg)
    raf_valid = read_rafdb(os.path.join(data_dir, "rafdb"), classes, cfg, True, raf_crop)
    fer_valid = dedup(*fer_valid)
    raf_valid = dedup(*raf_valid)
    held = set(pixel_hashes(fer_valid[0])) | set(pixel_hashes(raf_valid[0]))
    fer_train = dedup(*read_ferplus(os.path.join(data_dir, "ferplus", "train"), classes, cfg),
                      exclude=held)
    raf_train = dedup(*read_rafdb(os.path.join(data_dir, "rafdb"), classes, cfg, False, raf_crop),
                      exclude=held)
    out = {"fer_train": fer_train, "fer_valid": fer_valid, "raf_train": raf_train,
           "raf_valid": raf_valid}
    np.savez(path, **{f"{s}_{k}": v for s, (x, y, n) in out.items()
                      for k, v in (("x", x), ("y", y), ("n", np.array(n)))})
    return out
