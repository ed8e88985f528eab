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
- With the recipe's crop "aligned", every image of both data sets is instead cut the way the
  engine cuts the faces it finds: along the similarity that takes the alignment template
  (weights/align-template.json) onto the detector's landmarks for that image
  (tools/train/landmarks.py, cached as landmarks.json in the cache folder); an image without
  a detection, or whose fit is implausible (aligned_geometry), gets its data set's median.
- De-duplication by md5 of the decoded pixels of the preprocessed image: one copy kept in
  each training set, and any training image that also occurs in a validation set is dropped
  from training (FER2013 repeats images across its splits).
"""
import csv
import functools
import hashlib
import math
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


def key_of(path):
    """An image's key in landmarks.json: its path below the data folder."""
    parts = os.path.normpath(path).split(os.sep)
    return os.path.join(*parts[-3:]) if parts[-3] == "ferplus" else os.path.join(*parts[-4:])


def raf_is_validation(name):
    return int(hashlib.md5(name.encode()).hexdigest(), 16) % 10 == 0


def load_image(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def image_keys(data):
    """Keys (paths relative to the data folder) of every image the trainer reads."""
    keys = []
    for split in ("valid", "train"):
        folder = os.path.join("ferplus", split)
        keys += [os.path.join(folder, f) for f in sorted(os.listdir(os.path.join(data, folder)))
                 if f.endswith(".png")]
    for num in range(7):
        folder = os.path.join("rafdb", "train", str(num))
        keys += [os.path.join(folder, f) for f in sorted(os.listdir(os.path.join(data, folder)))]
    return keys


def fit_similarity(template, points):
    """Least-squares similarity (a, b, tx, ty) taking template points (crop fractions) onto
    landmarks (image fractions), as engine/lnl_align.c fits it: points = (a u - b v + tx,
    b u + a v + ty) for (u, v) in template, which is warp_similarity's convention."""
    t, q = np.asarray(template, np.float64), np.asarray(points, np.float64)
    tc, qc = t - t.mean(0), q - q.mean(0)
    den = (tc ** 2).sum()
    a = (tc[:, 0] * qc[:, 0] + tc[:, 1] * qc[:, 1]).sum() / den
    b = (tc[:, 0] * qc[:, 1] - tc[:, 1] * qc[:, 0]).sum() / den
    tx = q[:, 0].mean() - (a * t[:, 0].mean() - b * t[:, 1].mean())
    ty = q[:, 1].mean() - (b * t[:, 0].mean() + a * t[:, 1].mean())
    return (a, b, tx, ty)


def aligned_geometry(landmarks, template):
    """{image key: similarity} for every key in `landmarks` (keys relative to the data
    folder, "ferplus/..." or "rafdb/..."). Keys without a detection, and the few whose fit
    is far from their data set's median (scale off by more than 0.65-1.5 times, rotation by
    more than 40 degrees, the centre by more than 0.2 of the side: mostly a detection on
    part of the face), get their data set's median similarity."""
    fitted = {k: fit_similarity(template, v) for k, v in landmarks.items() if v is not None}
    out = {}
    for dataset in sorted({k.split(os.sep)[0] for k in landmarks}):
        keys = [k for k in landmarks if k.split(os.sep)[0] == dataset]
        found = np.array([fitted[k] for k in keys if k in fitted]).reshape(-1, 4)
        median = tuple(np.median(found, axis=0)) if len(found) else (1.0, 0.0, 0.0, 0.0)
        m_scale, m_angle, m_centre = similarity_shape(median)
        for k in keys:
            sim = fitted.get(k, median)
            scale, angle, centre = similarity_shape(sim)
            usual = (0.65 <= scale / m_scale <= 1.5 and abs(angle - m_angle) <= 40
                     and np.hypot(*(centre - m_centre)) <= 0.2)
            out[k] = tuple(float(v) for v in (sim if usual else median))
    return out


def template_points(measured, recipe):
    """The alignment template's points for a recipe: its "template" names the median
    geometry of "ferplus" or "rafdb" crops or the "mix" of both (measured by
    tools/detector/measure_template.py into weights/align-template.json); by default FER+'s
    when RAF-DB is re-cropped to it (raf_crop "ferplus"), else the mix."""
    name = recipe.get("template", "ferplus" if recipe.get("raf_crop") == "ferplus" else "mix")
    if name not in ("mix", "ferplus", "rafdb"):
        raise ValueError(f"template must be mix, ferplus or rafdb, not {name!r}")
    return (measured["template"] if name == "mix" else measured[name])["points"]


def similarity_shape(sim):
    """Scale, rotation (degrees) and where the crop's centre falls in the image."""
    a, b, tx, ty = sim
    return (math.hypot(a, b), math.degrees(math.atan2(b, a)),
            np.array([0.5 * a - 0.5 * b + tx, 0.5 * b + 0.5 * a + ty]))


def stored(img, cfg):
    """An image as the splits store it: to_unit's [0, 1] float32, or with cfg "store"
    "uint8" the same rounded to 0..255 bytes (a quarter of the memory, for large colour
    inputs such as the teacher's)."""
    x = to_unit(img, cfg)
    if cfg.get("store", "float32") == "uint8":
        return np.clip(np.rint(x * np.float32(255)), 0, 255).astype(np.uint8)
    return x


def ferplus_reference_label(votes):
    """The FERPlus reference protocol's label (Microsoft's FERPlus code, "majority" mode,
    which published FER+ results use) for one image's ten votes in FERPLUS_COLUMNS order:
    every vote count of 1 is set to 0, and the image is kept only when its top class then
    has more than half of the remaining votes; the class index (0..7), or None when the
    image is dropped (no such majority, or the majority is unknown / NF)."""
    v = np.array([0.0 if float(c) <= 1.0 else float(c) for c in votes], np.float64)
    top = int(np.argmax(v))
    if not v[top] > 0.5 * v.sum() or top >= 8:
        return None
    return top


def ferplus_votes(folder):
    """{file name: its ten votes} from a FER+ split's label.csv."""
    out = {}
    with open(os.path.join(folder, "label.csv"), newline="") as f:
        for row in csv.reader(f):
            if row and row[0].endswith(".png"):
                out[row[0]] = [float(v) for v in row[2:12]]
    return out


def read_ferplus(folder, classes, cfg, geometry=None):
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
            img = load_image(path)
            if geometry is not None:
                img = warp_similarity(img, geometry[key_of(path)])
            xs.append(stored(img, cfg))
            ys.append(dist / dist.sum())
            names.append(row[0])
    return np.stack(xs), np.stack(ys), names


def read_rafdb(folder, classes, cfg, validation, raf_crop, geometry=None):
    xs, ys, names = [], [], []
    for num, cls in sorted(RAF_FOLDERS.items()):
        sub = os.path.join(folder, "train", str(num))
        for name in sorted(os.listdir(sub)):
            if raf_is_validation(name) != validation:
                continue
            y = np.zeros(len(classes), np.float32)
            y[classes.index(cls)] = 1
            img = load_image(os.path.join(sub, name))
            if geometry is not None:
                img = warp_similarity(img, geometry[key_of(os.path.join(sub, name))])
            elif raf_crop == "ferplus":
                img = warp_similarity(img, RAF_TO_FERPLUS)
            xs.append(stored(img, cfg))
            ys.append(y)
            names.append(name)
    return np.stack(xs), np.stack(ys), names


def distilled(y, split, names, rec, root):
    """Training targets under the recipe's distillation (`distill` > 0): `teacher`, an .npz
    written by tools/train/teacher.py (path relative to `root`, the repository), holds an
    ensemble's probabilities per image; each target becomes (1 - distill) * y + distill *
    the ensemble's prediction for that image. y as it is without distillation."""
    w = rec.get("distill", 0)
    if not w:
        return y
    known, probs = teacher_predictions(os.path.join(root, rec["teacher"]))
    missing = [n for n in names if (split, n) not in known]
    if missing:
        raise ValueError(f"{rec['teacher']}: no prediction for {len(missing)} {split} images "
                         f"(e.g. {missing[0]}); rerun tools/train/teacher.py")
    t = probs[[known[(split, n)] for n in names]]
    return ((1 - w) * y + w * t).astype(np.float32)


@functools.lru_cache(maxsize=1)
def teacher_predictions(path):
    """{(split, name): row} and the probabilities of a teacher file, read once per file
    (`distilled` is called once per training split)."""
    z = np.load(path, allow_pickle=False)
    return {(s, n): i for i, (s, n) in enumerate(zip(z["split"], z["name"]))}, z["probs"]


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


def load_splits(data_dir, cfg, cache_dir, raf_crop="native", aligned=None):
    """Returns dict split -> (x [N,C,S,S] float32 in [0,1], y [N,8] float32, names).
    aligned: {image key: similarity} (aligned_geometry) to cut every image along, or None."""
    os.makedirs(cache_dir, exist_ok=True)
    if raf_crop not in ("native", "ferplus"):
        raise ValueError(f"raf_crop must be native or ferplus, not {raf_crop!r}")
    geometry = RAF_TO_FERPLUS if raf_crop == "ferplus" else None
    if aligned is not None:
        geometry = hashlib.md5(repr(sorted(aligned.items())).encode()).hexdigest()
    shape = (cfg["input_size"], cfg["input_channels"], geometry, os.path.abspath(data_dir))
    if cfg.get("store", "float32") != "float32":  # keys of float32 caches as before
        shape += (cfg["store"],)
    key = hashlib.md5(repr(shape).encode()).hexdigest()[:10]
    path = os.path.join(cache_dir, f"splits-{key}.npz")
    if os.path.exists(path):
        z = np.load(path, allow_pickle=False)
        return {s: (z[s + "_x"], z[s + "_y"], list(z[s + "_n"])) for s in
                ("fer_train", "fer_valid", "raf_train", "raf_valid")}
    classes = cfg["classes"]
    fer_valid = read_ferplus(os.path.join(data_dir, "ferplus", "valid"), classes, cfg, aligned)
    raf_valid = read_rafdb(os.path.join(data_dir, "rafdb"), classes, cfg, True, raf_crop, aligned)
    fer_valid = dedup(*fer_valid)
    raf_valid = dedup(*raf_valid)
    held = set(pixel_hashes(fer_valid[0])) | set(pixel_hashes(raf_valid[0]))
    fer_train = dedup(*read_ferplus(os.path.join(data_dir, "ferplus", "train"), classes, cfg,
                                    aligned), exclude=held)
    raf_train = dedup(*read_rafdb(os.path.join(data_dir, "rafdb"), classes, cfg, False, raf_crop,
                                  aligned), exclude=held)
    out = {"fer_train": fer_train, "fer_valid": fer_valid, "raf_train": raf_train,
           "raf_valid": raf_valid}
    np.savez(path, **{f"{s}_{k}": v for s, (x, y, n) in out.items()
                      for k, v in (("x", x), ("y", y), ("n", np.array(n)))})
    return out
