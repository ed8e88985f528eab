#!/usr/bin/python3
"""Face-detector evaluation on a WIDER FACE folder (the official easy / medium / hard protocol).

    /usr/bin/python3 tools/eval/wider_eval.py ../shared/data/wider-subset
    /usr/bin/python3 tools/eval/wider_eval.py ../shared/data/wider-subset --detections dets.json
    /usr/bin/python3 tools/eval/wider_eval.py ../shared/data/wider-subset \
        --lnlfer build/cli/lnlfer --save-detections dets.json

The folder holds `images/<file>.jpg` and `ground_truth.json`: a list of {"event", "file",
"boxes": [[x, y, w, h], ...], "keep_easy", "keep_medium", "keep_hard": zero-based indices of the
faces that count for each difficulty, "invalid": 0/1 per box}.

Detections come either from a JSON file (--detections) or from running
`lnlfer detect --format json IMAGE...` on every image (in chunks); both use the CLI's format
[{"file", "width", "height", "faces": [{"box": [x, y, w, h], "score", "landmarks"}]}], boxes in
image pixels with x, y the top-left corner.  Detections are tied to ground-truth images by the
file name without folder and extension.

Average precision (a reimplementation of the official WIDER FACE evaluation, as in the official
MATLAB kit and its common Python port):
- scores are first normalised to [0, 1] by the minimum and maximum over all detections of the
  evaluated images;
- per image, detections are taken in descending score order; each is compared with every
  ground-truth box by IoU (official convention: x2 = x + w, areas and intersections measured
  with +1 pixel, i.e. (x2 - x1 + 1) * (y2 - y1 + 1)) and assigned to the single box of highest
  IoU.  If that IoU >= 0.5 and the box is not kept for the difficulty (outside its keep list,
  or invalid) the detection is ignored: neither true nor false positive.  If the box is kept
  and not matched yet it becomes a true positive; otherwise (IoU < 0.5, or a duplicate on an
  already matched face) the detection is a false positive;
- precision and recall are accumulated over the whole set at 1000 score thresholds
  1 - (t + 1) / 1000, t = 0..999 (official img_pr_info / dataset_pr_info); recall is divided by
  the number of kept faces of the difficulty, including those on images without detections;
  images without any ground-truth box are skipped, as in the official code;
- AP = area under the precision envelope (official voc_ap).

Operating-point figures (not part of the official protocol):
- "recall at N FP/img": all non-invalid faces are kept (invalid ones ignored), detections are
  matched as above, and all detections of the set are ranked by raw score; the threshold is
  the lowest score at which the false positives number at most N x the number of images
  (detections on images without faces count as false positives here).  The recall is the
  fraction of all non-invalid faces found at that threshold;
- "recall of faces >= 64 px wide": at the same threshold, the fraction of non-invalid faces
  whose ground-truth box WIDTH is at least 64 px (--large) that were found.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DEFAULT_LNLFER = os.path.join(ROOT, "build", "cli", "lnlfer")
DIFFICULTIES = ("easy", "medium", "hard")
THRESH_NUM = 1000


# ---------------------------------------------------------------- inputs


def image_key(path):
    """File name without folder and extension: how detections are tied to ground truth."""
    return os.path.splitext(os.path.basename(str(path)))[0]


def load_ground_truth(folder):
    """List of images: {"file", "event", "boxes" (N, 4) float, "invalid" (N,) bool,
    "keep_<difficulty>" (N,) bool}; invalid boxes are never kept."""
    with open(os.path.join(folder, "ground_truth.json")) as f:
        raw = json.load(f)
    images = []
    for entry in raw:
        boxes = np.asarray(entry["boxes"], dtype=np.float64).reshape(-1, 4)
        n = len(boxes)
        invalid = np.zeros(n, dtype=bool)
        flags = entry.get("invalid") or []
        invalid[: len(flags)] = np.asarray(flags, dtype=bool)
        image = {"file": entry["file"], "event": entry.get("event", ""), "boxes": boxes,
                 "invalid": invalid}
        for difficulty in DIFFICULTIES:
            keep = np.zeros(n, dtype=bool)
            keep[np.asarray(entry.get("keep_" + difficulty, []), dtype=np.int64)] = True
            image["keep_" + difficulty] = keep & ~invalid
        images.append(image)
    return images


def image_path(folder, image):
    name = image["file"]
    if not os.path.splitext(name)[1]:
        name += ".jpg"
    return os.path.join(folder, "images", name)


def records_to_detections(records):
    """CLI JSON records -> {image key: (N, 5) array of x, y, w, h, score}."""
    detections = {}
    for record in records:
        faces = record.get("faces") or []
        rows = [list(face["box"][:4]) + [face["score"]] for face in faces]
        detections[image_key(record["file"])] = np.asarray(rows, dtype=np.float64).reshape(-1, 5)
    return detections


def load_detections(path):
    with open(path) as f:
        return json.load(f)


def run_lnlfer(lnlfer, extra_args, paths, chunk=50):
    """Runs `lnlfer detect --format json [extra args] IMAGE...` on `paths` in chunks and
    returns the concatenated JSON records."""
    records = []
    for start in range(0, len(paths), chunk):
        part = paths[start:start + chunk]
        # every face, however small or many (the CLI's defaults drop faces under 16 px and
        # keep 32); extra_args may set them otherwise
        cmd = [lnlfer, "detect", "--format", "json", "--min-size", "0", "--max-faces", "0"]
        cmd += list(extra_args) + list(part)
        proc = subprocess.run(cmd, stdout=subprocess.PIPE)
        if proc.returncode not in (0, 3):  # 3: some image without a face
            raise SystemExit("%s failed with status %d" % (lnlfer, proc.returncode))
        out = json.loads(proc.stdout.decode())
        got = {image_key(r["file"]) for r in out}
        missing = [p for p in part if image_key(p) not in got]
        if missing:
            raise SystemExit("%s gave no record for %s" % (lnlfer, missing[0]))
        records.extend(out)
        print("detected %d/%d images" % (min(start + chunk, len(paths)), len(paths)),
              file=sys.stderr)
    return records


# ---------------------------------------------------------------- protocol


def normalise_scores(detections, keys):
    """Copy of `detections` restricted to `keys`, scores mapped to [0, 1] by the global
    min / max (all scores 1.0 when they are all equal)."""
    chosen = {k: detections.get(k, np.zeros((0, 5))).copy() for k in keys}
    scores = [d[:, 4] for d in chosen.values() if len(d)]
    if not scores:
        return chosen
    scores = np.concatenate(scores)
    low, high = scores.min(), scores.max()
    for d in chosen.values():
        if len(d):
            d[:, 4] = (d[:, 4] - low) / (high - low) if high > low else 1.0
    return chosen


def iou_matrix(pred, gt):
    """IoU of x, y, w, h boxes, official WIDER convention (x2 = x + w, +1 pixel in sizes)."""
    px1, py1 = pred[:, 0:1], pred[:, 1:2]
    px2, py2 = px1 + pred[:, 2:3], py1 + pred[:, 3:4]
    gx1, gy1 = gt[None, :, 0], gt[None, :, 1]
    gx2, gy2 = gx1 + gt[None, :, 2], gy1 + gt[None, :, 3]
    iw = np.minimum(px2, gx2) - np.maximum(px1, gx1) + 1
    ih = np.minimum(py2, gy2) - np.maximum(py1, gy1) + 1
    inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
    pred_area = (px2 - px1 + 1) * (py2 - py1 + 1)
    gt_area = (gx2 - gx1 + 1) * (gy2 - gy1 + 1)
    return inter / (pred_area + gt_area - inter)


def sort_by_score(dets):
    return dets[np.argsort(-dets[:, 4], kind="stable")]


def match_image(dets, gt_boxes, kept, iou_thresh=0.5):
    """Official per-image matching of score-sorted `dets` against `gt_boxes`.

    Returns (counted, matched): counted[h] is False when detection h is ignored (its best-IoU
    face has IoU >= iou_thresh and is not kept); matched[h] is the index of the kept face that
    detection h found first (a true positive), or -1."""
    counted = np.ones(len(dets), dtype=bool)
    matched = np.full(len(dets), -1, dtype=np.int64)
    if len(dets) == 0 or len(gt_boxes) == 0:
        return counted, matched
    overlaps = iou_matrix(dets[:, :4], gt_boxes)
    found = np.zeros(len(gt_boxes), dtype=bool)
    for h in range(len(dets)):
        best = int(np.argmax(overlaps[h]))
        if overlaps[h, best] < iou_thresh:
            continue
        if not kept[best]:
            counted[h] = False
        elif not found[best]:
            found[best] = True
            matched[h] = best
    return counted, matched


def thresholds(thresh_num=THRESH_NUM):
    return 1 - (np.arange(thresh_num) + 1) / thresh_num


def image_pr_info(scores, counted, matched, thresh_num=THRESH_NUM):
    """(thresh_num, 2) array: counted detections and true positives at each threshold, for
    one image (scores sorted descending, normalised)."""
    n_above = np.searchsorted(-scores, -thresholds(thresh_num), side="right")
    proposals = np.concatenate(([0], np.cumsum(counted)))
    true_pos = np.concatenate(([0], np.cumsum(matched >= 0)))
    return np.stack([proposals[n_above], true_pos[n_above]], axis=1).astype(np.float64)


def voc_ap(recall, precision):
    """Area under the precision envelope, as the official voc_ap."""
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([0.0], precision, [0.0]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    changed = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[changed + 1] - mrec[changed]) * mpre[changed + 1]))


def evaluate_difficulty(images, detections, difficulty, iou_thresh=0.5,
                        thresh_num=THRESH_NUM):
    """Official AP for one difficulty; `detections` already normalised."""
    faces = 0
    pr = np.zeros((thresh_num, 2))
    for image in images:
        kept = image["keep_" + difficulty]
        faces += int(kept.sum())
        dets = detections.get(image_key(image["file"]), np.zeros((0, 5)))
        if len(image["boxes"]) == 0 or len(dets) == 0:
            continue
        dets = sort_by_score(dets)
        counted, matched = match_image(dets, image["boxes"], kept, iou_thresh)
        pr += image_pr_info(dets[:, 4], counted, matched, thresh_num)
    precision = np.divide(pr[:, 1], pr[:, 0], out=np.zeros(thresh_num), where=pr[:, 0] > 0)
    recall = pr[:, 1] / faces if faces else np.zeros(thresh_num)
    return {"faces": faces,
            "ap": voc_ap(recall, precision) if faces else None,
            "max_recall": float(recall[-1]) if faces else None}


def operating_point(images, detections, fp_per_image=1.0, large=64, iou_thresh=0.5):
    """Recall of all non-invalid faces, and of those >= `large` px wide, at the lowest raw
    score threshold with at most fp_per_image false positives per image."""
    scores, tps, fps, large_tps = [], [], [], []
    n_valid = n_large = 0
    for image in images:
        kept = ~image["invalid"]
        is_large = kept & (image["boxes"][:, 2] >= large)
        n_valid += int(kept.sum())
        n_large += int(is_large.sum())
        dets = detections.get(image_key(image["file"]), np.zeros((0, 5)))
        if len(dets) == 0:
            continue
        dets = sort_by_score(dets)
        counted, matched = match_image(dets, image["boxes"], kept, iou_thresh)
        scores.append(dets[:, 4])
        tps.append(matched >= 0)
        fps.append(counted & (matched < 0))
        large_tps.append(np.array([m >= 0 and bool(is_large[m]) for m in matched], dtype=bool))
    budget = fp_per_image * len(images)
    result = {"fp_per_image_budget": fp_per_image, "large_min_width": large,
              "valid_faces": n_valid, "large_faces": n_large, "threshold": None,
              "false_positives": 0, "recall_all": 0.0 if n_valid else None,
              "recall_large": 0.0 if n_large else None}
    if not scores:
        return result
    scores = np.concatenate(scores)
    order = np.argsort(-scores, kind="stable")
    scores = scores[order]
    cum_tp = np.cumsum(np.concatenate(tps)[order])
    cum_fp = np.cumsum(np.concatenate(fps)[order])
    cum_large = np.cumsum(np.concatenate(large_tps)[order])
    # Only the last detection of a run of equal scores is a possible cut.
    group_end = np.append(scores[1:] != scores[:-1], True)
    ok = np.where(group_end & (cum_fp <= budget))[0]
    if len(ok) == 0:
        return result
    cut = ok[-1]
    result.update({"threshold": float(scores[cut]), "false_positives": int(cum_fp[cut]),
                   "recall_all": float(cum_tp[cut] / n_valid) if n_valid else None,
                   "recall_large": float(cum_large[cut] / n_large) if n_large else None})
    return result


def evaluate(images, detections, iou_thresh=0.5, fp_per_image=1.0, large=64):
    """All figures for `images` (from load_ground_truth) and `detections` (image key ->
    (N, 5) array of raw x, y, w, h, score)."""
    keys = [image_key(image["file"]) for image in images]
    normalised = normalise_scores(detections, keys)
    result = {"images": len(images),
              "faces": int(sum(len(image["boxes"]) for image in images)),
              "invalid_faces": int(sum(image["invalid"].sum() for image in images)),
              "detections": int(sum(len(d) for d in normalised.values())),
              "images_without_detections_record": sorted(k for k in keys if k not in detections),
              "iou": iou_thresh}
    for difficulty in DIFFICULTIES:
        result[difficulty] = evaluate_difficulty(images, normalised, difficulty, iou_thresh)
    chosen = {k: detections[k] for k in keys if k in detections}
    result["operating_point"] = operating_point(images, chosen, fp_per_image, large, iou_thresh)
    return result


# ---------------------------------------------------------------- output


def fmt(value, spec="%.4f"):
    return "-" if value is None else spec % value


def format_report(result):
    lines = ["%d images, %d faces (%d invalid), %d detections" % (
        result["images"], result["faces"], result["invalid_faces"], result["detections"])]
    missing = result["images_without_detections_record"]
    if missing:
        lines.append("warning: %d images have no detection record (counted as no detections)"
                     % len(missing))
    lines.append("%-10s %6s %8s %11s" % ("difficulty", "faces", "AP", "max recall"))
    for difficulty in DIFFICULTIES:
        r = result[difficulty]
        lines.append("%-10s %6d %8s %11s" % (difficulty, r["faces"], fmt(r["ap"]),
                                            fmt(r["max_recall"])))
    op = result["operating_point"]
    lines.append("at <= %g FP/image (raw score >= %s, %d false positives):" % (
        op["fp_per_image_budget"], fmt(op["threshold"], "%.4g"), op["false_positives"]))
    lines.append("  recall, all %d valid faces:        %s" % (op["valid_faces"],
                                                             fmt(op["recall_all"])))
    lines.append("  recall, %d faces >= %d px wide:    %s" % (
        op["large_faces"], op["large_min_width"], fmt(op["recall_large"])))
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] + "\n\nPrints AP for easy / medium / hard, "
        "the recall of all valid faces at N false positives\nper image, and the recall of "
        "faces >= 64 px wide at the same threshold (definitions below).",
        epilog=__doc__[__doc__.index("Average precision"):],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", help="WIDER-format folder: images/ and ground_truth.json")
    parser.add_argument("--detections", metavar="FILE.json",
                        help="read detections (lnlfer detect --format json output) instead "
                        "of running lnlfer")
    parser.add_argument("--lnlfer", default=DEFAULT_LNLFER,
                        help="lnlfer executable to run when --detections is not given "
                        "(default: %(default)s)")
    parser.add_argument("--lnlfer-args", default="", metavar="ARGS",
                        help="extra arguments for `lnlfer detect`, one shell-quoted string")
    parser.add_argument("--chunk", type=int, default=50,
                        help="images per lnlfer call (default: %(default)s)")
    parser.add_argument("--save-detections", metavar="FILE.json",
                        help="write lnlfer's detections here, for later --detections runs")
    parser.add_argument("--iou", type=float, default=0.5,
                        help="IoU for a match (default: %(default)s, the official value)")
    parser.add_argument("--fp-per-image", type=float, default=1.0,
                        help="false positives per image of the operating point "
                        "(default: %(default)s)")
    parser.add_argument("--large", type=int, default=64,
                        help="minimum ground-truth box width, in pixels, of the 'large' "
                        "faces (default: %(default)s)")
    parser.add_argument("--json", metavar="OUT", help="also write the figures as JSON")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    images = load_ground_truth(args.folder)
    if args.detections:
        records = load_detections(args.detections)
    else:
        paths = [image_path(args.folder, image) for image in images]
        records = run_lnlfer(args.lnlfer, shlex.split(args.lnlfer_args), paths, args.chunk)
        if args.save_detections:
            with open(args.save_detections, "w") as f:
                json.dump(records, f)
    result = evaluate(images, records_to_detections(records), args.iou, args.fp_per_image,
                      args.large)
    print(format_report(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
