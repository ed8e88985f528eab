#!/usr/bin/python3
"""How much accuracy detection + alignment costs: validation faces are pasted into larger
canvases at random scales, positions and small rotations; `lnlfer analyze` finds, aligns
and classifies them, and the result is compared with `lnlfer classify` on the original
crops. A face the detector misses counts as wrong.

    /usr/bin/python3 tools/eval/align_eval.py ../shared/data
    /usr/bin/python3 tools/eval/align_eval.py ../shared/data --weights NEW.safetensors
    /usr/bin/python3 tools/eval/align_eval.py ../shared/data --per-dataset 300   # a quick look

By default every face of both validation sets is measured (3,529 + 1,235; 12 minutes on
this project's 2 cores while other work shared them): the loss is a difference of two
accuracies on the same faces, and with 600 faces per set its standard error (printed after
the loss) is still about 1.2 points.

To tell where the loss comes from, each pasted face is also cut back out of its canvas
along the known paste transform ("re-cut": the canvas's resampling only, no detection or
alignment) and classified, and the pipeline's accuracy on the faces it found is given
apart from the misses.

With --ort-detector YUNET.onnx (run where onnxruntime is, e.g. the Debian 13 root of
scripts/trixie-root) the faces are found by YuNet under ONNX Runtime with the multi-scale plan
of tools/detector/README.md, aligned in Python exactly as engine/lnl_align.c aligns (to
--template, default weights/align-template-yunet.json's "rafdb" points) and classified by
`lnlfer classify --align off`: the engine's YuNet pipeline measured before it exists.

The detector and the canvases do not depend on the expression weights, so a rerun with new
weights measures the same faces (fixed seed). Most of the time goes to `lnlfer analyze`
(detection on the canvases); --jobs runs that many lnlfer processes at once.

Canvases: 3.5 to 6 times the face side (the face 64 to 160 px wide), a blurred and
darkened copy of the face tiled as background (so the canvas is not flat), rotation
uniform in +-12 degrees, fixed seed. FER+ valid (majority label, 8 classes) and our
RAF-DB validation part (7 classes) are measured separately. For weights trained on aligned
crops (recipe crop "aligned"), `lnlfer classify` aligns each crop itself (--align auto), so
the direct accuracy is that of the crops cut as in training. For weights trained on RAF-DB
re-cropped to the FER+ geometry (recipe raf_crop "ferplus"), RAF-DB's direct accuracy is
measured on the re-cropped faces, as in training and in tools/train/evaluate.py; the
canvases always get the original images (real pixels, no replicated edges).
"""
import argparse
import concurrent.futures
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image, ImageFilter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
from evaluate import (CLASSES, DEFAULT_WEIGHTS, dedup, ferplus_items, rafdb_items,  # noqa: E402
                      recropped, weights_raf_crop)


def make_canvas(path, rng):
    face = Image.open(path).convert("RGB")
    side = int(rng.uniform(64, 160))
    face = face.resize((side, side), Image.BICUBIC)
    angle = rng.uniform(-12, 12)
    # rotate with a margin of the face's own border, then paste
    rot = face.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=(0, 0, 0))
    mask = Image.new("L", face.size, 255).rotate(angle, expand=True)
    canvas_side = int(side * rng.uniform(3.5, 6))
    bg = face.filter(ImageFilter.GaussianBlur(side / 8)).point(lambda v: int(v * 0.6))
    canvas = Image.new("RGB", (canvas_side, canvas_side))
    for y in range(0, canvas_side, side):
        for x in range(0, canvas_side, side):
            canvas.paste(bg, (x, y))
    x = int(rng.uniform(0, canvas_side - rot.size[0]))
    y = int(rng.uniform(0, canvas_side - rot.size[1]))
    canvas.paste(rot, (x, y), mask)
    cx, cy = x + rot.size[0] / 2, y + rot.size[1] / 2
    return canvas, (cx, cy, side), angle


def recut(canvas, where, angle, size, supersample=4):
    """The pasted face cut back out of the canvas (size x size) along the paste transform:
    crop point (u, v) in [0, 1]^2 is canvas point centre + side R(angle) (u - 1/2, v - 1/2),
    R the counter-clockwise rotation of PIL's rotate; bilinear samples on a finer grid,
    box-averaged (antialiasing)."""
    cx, cy, side = where
    t = math.radians(angle)
    a, b = side * math.cos(t), side * math.sin(t)
    n = size * supersample
    # PIL's affine transform maps output pixel centres (X, Y) to input (a X + b Y + c, ...)
    coeffs = (a / n, b / n, cx - (a + b) / 2, -b / n, a / n, cy - (a - b) / 2)
    fine = canvas.transform((n, n), Image.AFFINE, coeffs, resample=Image.BILINEAR)
    return fine.resize((size, size), Image.BOX)


def run_lnlfer(lnlfer, command, files, extra, jobs=1):
    """Runs `lnlfer COMMAND --format json` on chunks of files, `jobs` processes at once."""
    chunk = max(1, min(200, -(-len(files) // max(1, jobs))))

    def one(part):
        cmd = [lnlfer, command, "--format", "json", *extra, *part]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode not in (0, 3):  # 3: no face found in some image (or crop)
            raise subprocess.CalledProcessError(res.returncode, cmd, res.stdout, res.stderr)
        return json.loads(res.stdout)

    parts = [files[i:i + chunk] for i in range(0, len(files), chunk)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(one, parts))
    return {entry["file"]: entry for entries in results for entry in entries}


def fit_transform(points, template, side):
    """lnl_align_transform (engine/lnl_align.c): least-squares similarity taking the template
    (crop fractions x side) onto the landmarks; (6,) crop -> image affine."""
    t = np.asarray(template, np.float64) * side
    q = np.asarray(points, np.float64)
    tc, qc = t - t.mean(0), q - q.mean(0)
    den = (tc ** 2).sum()
    a = (tc[:, 0] * qc[:, 0] + tc[:, 1] * qc[:, 1]).sum() / den
    b = (tc[:, 0] * qc[:, 1] - tc[:, 1] * qc[:, 0]).sum() / den
    pu, pv = t.mean(0)
    qx, qy = q.mean(0)
    return np.array([a, -b, qx - (a * pu - b * pv), b, a, qy - (b * pu + a * pv)])


def align_crop(img, m, side):
    """lnl_align_crop (engine/lnl_align.c): n x n supersampled bilinear samples (pixel
    centres at +0.5, edges repeated), n = ceil(scale) clamped to 1..8, rounded to 0..255."""
    a = np.asarray(img, np.float32)
    h, w = a.shape[:2]
    scale = math.hypot(m[0], m[3])
    n = min(8, max(1, math.ceil(scale))) if scale > 1 else 1
    sub = (np.arange(n) + 0.5) / n
    cu = (np.arange(side)[:, None] + sub[None, :]).reshape(-1)  # side * n
    U, V = np.meshgrid(cu, cu)  # rows: v, columns: u
    x = m[0] * U + m[1] * V + m[2] - 0.5
    y = m[3] * U + m[4] * V + m[5] - 0.5
    x, y = np.clip(x, 0, w - 1), np.clip(y, 0, h - 1)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    top = a[y0, x0] * (1 - fx) + a[y0, x1] * fx
    bot = a[y1, x0] * (1 - fx) + a[y1, x1] * fx
    v = top * (1 - fy) + bot * fy
    v = v.reshape(side, n, side, n, 3).mean(axis=(1, 3))
    return Image.fromarray(np.clip(v + 0.5, 0, 255).astype(np.uint8))


def ort_analyze(canvases, truth, args, tmp, extra):
    """`lnlfer analyze` with YuNet under ONNX Runtime (tools/detector/yunet_ort.py, the
    multi-scale plan) instead of the engine's detector: the face nearest the pasted one (as
    below) is aligned in Python with --template's points (its "template" or --template-key)
    exactly as the engine aligns, and classified by `lnlfer classify --align off`.
    Returns analyze's JSON records, with that face only."""
    sys.path.insert(0, os.path.join(ROOT, "tools", "detector"))
    from multiscale import detect
    from yunet_ort import session
    with open(args.template) as f:
        template = json.load(f)[args.template_key]["points"]
    sess = session(args.ort_detector, 1)
    side = 96  # lnl_model_crop_side: twice the network's 48 px input
    picked, crops = {}, []
    for k, (canvas, (cx, cy, fside)) in enumerate(zip(canvases, truth)):
        img = Image.open(canvas).convert("RGB")
        dets = detect(sess, img, args.ort_threshold)
        best = None
        for d in dets:
            dd = np.hypot(d[0] + d[2] / 2 - cx, d[1] + d[3] / 2 - cy)
            if dd < fside / 2 and (best is None or dd < best[0]):
                best = (dd, d)
        if best is None:
            picked[canvas] = None
            continue
        lm5 = best[1][5:15].reshape(5, 2)
        lm4 = np.concatenate([lm5[:3], lm5[3:5].mean(0, keepdims=True)])
        out = canvas[:-4] + "-ort-crop.png"
        align_crop(img, fit_transform(lm4, template, side), side).save(out)
        picked[canvas] = (best[1], out)
        crops.append(out)
    probs = run_lnlfer(args.lnlfer, "classify", crops, extra + ["--align", "off"], args.jobs)
    found = {}
    for canvas in canvases:
        if picked[canvas] is None:
            found[canvas] = {"faces": []}
            continue
        d, out = picked[canvas]
        found[canvas] = {"faces": [{"box": [float(v) for v in d[:4]], "score": float(d[4]),
                                    "probabilities": probs[out]["probabilities"]}]}
    return found


def evaluate_set(name, items, scored, args, rng, tmp, network_crop=None):
    """network_crop: {pasted image: the crop `classify` gets for the direct accuracy}, for
    sets whose images are not in the network's crop convention; default the image itself."""
    network_crop = network_crop or {}
    canvases, truth, recuts, angles = [], [], [], []
    for i, (path, label) in enumerate(items):
        canvas, where, angle = make_canvas(path, rng)
        out = os.path.join(tmp, f"{name}-{i}.png")
        canvas.save(out)
        canvases.append(out)
        truth.append(where)
        angles.append(angle)
        with Image.open(path) as im:
            size = im.size[0]
        recuts.append(os.path.join(tmp, f"{name}-{i}-recut.png"))
        recut(canvas, where, angle, size).save(recuts[-1])
    if args.keep:
        path = os.path.join(args.keep, "truth.json")
        known = json.load(open(path)) if os.path.exists(path) else {}
        known.update({c: list(t) for c, t in zip(canvases, truth)})
        with open(path, "w") as f:
            json.dump(known, f)
        if args.canvases_only:
            return None
    extra = ["--weights", args.weights] if args.weights else []
    crops = run_lnlfer(args.lnlfer, "classify", [network_crop.get(p, p) for p, _ in items], extra,
                       args.jobs)
    recut_probs = run_lnlfer(args.lnlfer, "classify", recuts, extra, args.jobs)
    if args.ort_detector:
        found = ort_analyze(canvases, truth, args, tmp, extra)
    else:
        found = run_lnlfer(args.lnlfer, "analyze", canvases, extra, args.jobs)
    idx = [CLASSES.index(c) for c in scored]

    def pick(probs):
        p = np.array([probs[c] for c in CLASSES])
        return idx[int(np.argmax(p[idx]))]

    # aligned: per face, whether the pipeline got it right, None when the detector missed it
    direct, recut_ok, aligned, details = [], [], [], []
    for (path, label), canvas, (cx, cy, side), rc, angle in zip(items, canvases, truth, recuts,
                                                                angles):
        direct_pick = pick(crops[network_crop.get(path, path)]["probabilities"])
        recut_pick = pick(recut_probs[rc]["probabilities"])
        direct.append(direct_pick == label)
        recut_ok.append(recut_pick == label)
        faces = found[canvas]["faces"]
        # the detection whose box centre is nearest the pasted face, within half its side
        best = None
        for f in faces:
            x, y, w, h = f["box"]
            d = np.hypot(x + w / 2 - cx, y + h / 2 - cy)
            if d < side / 2 and (best is None or d < best[0]):
                best = (d, f)
        found_pick = pick(best[1]["probabilities"]) if best else None
        aligned.append(found_pick == label if best else None)
        details.append({"image": path, "canvas": canvas, "label": CLASSES[label], "side": side,
                        "angle": angle,
                        "direct": CLASSES[direct_pick], "recut": CLASSES[recut_pick],
                        "found": CLASSES[found_pick] if best else None,
                        "score": best[1]["score"] if best else None})
    n = len(items)
    found_ok = [ok for ok in aligned if ok is not None]
    res = {"images": n, "detected": len(found_ok) / n, "crop_accuracy": float(np.mean(direct)),
           "recut_accuracy": float(np.mean(recut_ok)),
           "found_accuracy": float(np.mean(found_ok)) if found_ok else 0.0,
           "pipeline_accuracy": sum(found_ok) / n}
    res["loss_points"] = 100 * (res["crop_accuracy"] - res["pipeline_accuracy"])
    # standard error of the loss: of the mean of the paired per-face differences
    diff = np.array(direct, float) - np.array([ok is True for ok in aligned], float)
    res["loss_se_points"] = float(100 * diff.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0
    if args.details:
        res["faces"] = details
    print(f"{name}: {n} faces, detected {100 * res['detected']:.1f} %, accuracy on crops "
          f"{100 * res['crop_accuracy']:.2f} %, re-cut from the canvas {100 * res['recut_accuracy']:.2f} %, "
          f"after detect + align {100 * res['pipeline_accuracy']:.2f} % "
          f"(loss {res['loss_points']:.2f} +- {res['loss_se_points']:.2f} points; "
          f"{100 * res['found_accuracy']:.2f} % on the faces found)")
    return res


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("data", nargs="?", default=os.path.join(ROOT, "..", "shared", "data"))
    p.add_argument("--per-dataset", type=int, default=0,
                   help="faces drawn from each set (default 0: every face of both sets)")
    p.add_argument("--lnlfer", default=os.path.join(ROOT, "build", "cli", "lnlfer"))
    p.add_argument("--weights")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--json")
    p.add_argument("--details", action="store_true",
                   help="with --json: one record per face (image, label, each way's class, score)")
    p.add_argument("--keep", metavar="DIR",
                   help="keep the canvases in DIR, with DIR/truth.json: {canvas: [cx, cy, side]}")
    p.add_argument("--canvases-only", action="store_true",
                   help="with --keep: write the canvases and stop (for tools/detector)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="lnlfer processes run at once (default: the number of CPUs)")
    p.add_argument("--ort-detector", metavar="ONNX",
                   help="detect with this YuNet ONNX model under ONNX Runtime and align in Python "
                   "(needs onnxruntime; see ort_analyze) instead of `lnlfer analyze`")
    p.add_argument("--template", default=os.path.join(ROOT, "weights", "align-template-yunet.json"),
                   help="with --ort-detector: alignment template JSON (default: %(default)s)")
    p.add_argument("--template-key", default="rafdb",
                   help="with --ort-detector: which points of --template (default: %(default)s, "
                   "as the shipped recipe's template \"rafdb\")")
    p.add_argument("--ort-threshold", type=float, default=0.6,
                   help="with --ort-detector: lowest detection score (default: %(default)s)")
    args = p.parse_args()
    rng = np.random.default_rng(args.seed)
    fer, fer_scored = ferplus_items(os.path.join(args.data, "ferplus", "valid"))
    raf, raf_scored = rafdb_items(os.path.join(args.data, "rafdb"), "valid")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.keep:
            os.makedirs(args.keep, exist_ok=True)
            tmp = args.keep
        for name, items, scored in (("ferplus-valid", fer, fer_scored), ("rafdb-valid", raf, raf_scored)):
            items = dedup(items)
            # drawn even when all are taken (then in sorted order), so that the random stream,
            # and with it each face's canvas, is the one the README's measurement used
            size = min(args.per_dataset or len(items), len(items))
            pick = rng.choice(len(items), size=size, replace=False)
            items = [items[i] for i in sorted(pick)]
            network_crop = None
            if name.startswith("rafdb") and weights_raf_crop(args.weights or DEFAULT_WEIGHTS) == "ferplus":
                # the direct accuracy on crops in the network's convention, as in training;
                # the canvases get the original (real) RAF-DB image
                os.makedirs(os.path.join(tmp, "raf-crops"), exist_ok=True)
                network_crop = recropped(items, os.path.join(tmp, "raf-crops"))
            results[name] = evaluate_set(name, items, scored, args, rng, tmp, network_crop)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
