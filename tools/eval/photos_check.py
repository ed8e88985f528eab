#!/usr/bin/python3
"""Face-detector check on dlib's example photos: every annotated face >= 32 px wide must be
found and dogs.jpg must have no detection.

    /usr/bin/python3 tools/eval/photos_check.py ../shared/data/photos-dlib
    /usr/bin/python3 tools/eval/photos_check.py ../shared/data/photos-dlib --detections dets.json

Faces come from dlib imglab files in the folder (default training.xml and testing.xml:
<image file=...><box top= left= width= height= [ignore='1']/>; ignored boxes are skipped).
Detections come from `lnlfer detect --format json IMAGE...` (or --detections, same JSON:
[{"file", "width", "height", "faces": [{"box": [x, y, w, h], "score", "landmarks"}]}]).

Matching: dlib's boxes are tight squares on the face (brows to chin), smaller than most
detectors' boxes, so a detection and a face match when
    IoU >= 0.3, or
    the face box's centre lies inside the detection and detection width / face width is
    within [0.5, 2.0].
Faces and detections are paired one to one, best IoU first.  A face counts as found when it
gets a detection.  Required faces are those >= --min-width (32) px wide; smaller ones are
reported but do not fail the check.  Detections matching no face are reported ("other"),
but do not fail the check (the photos have unannotated faces).  Images in the folder that
are neither annotated nor negatives (e.g. bald_guys.jpg) are shown with their detection
count only.

Exit status: 0 when every required face is found and the negatives (dogs.jpg) have no
detection, 1 otherwise.
"""
import argparse
import json
import os
import shlex
import sys
import xml.etree.ElementTree as ET

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wider_eval import DEFAULT_LNLFER, image_key, run_lnlfer  # noqa: E402

IOU_MATCH = 0.3
WIDTH_RATIO = (0.5, 2.0)


def load_imglab(path):
    """{file name: (N, 4) array of x, y, w, h} from a dlib imglab XML file."""
    faces = {}
    for image in ET.parse(path).getroot().iter("image"):
        boxes = [[float(b.get(k)) for k in ("left", "top", "width", "height")]
                 for b in image.iter("box") if b.get("ignore", "0") in ("0", "")]
        faces[image.get("file")] = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return faces


def iou(a, b):
    """IoU of two x, y, w, h boxes (continuous coordinates)."""
    iw = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    ih = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def matches(det, face):
    """Matching criterion (see the module help); returns (is_match, iou)."""
    overlap = iou(det, face)
    cx, cy = face[0] + face[2] / 2, face[1] + face[3] / 2
    centre_inside = det[0] <= cx <= det[0] + det[2] and det[1] <= cy <= det[1] + det[3]
    ratio = det[2] / face[2] if face[2] > 0 else 0.0
    close_size = WIDTH_RATIO[0] <= ratio <= WIDTH_RATIO[1]
    return overlap >= IOU_MATCH or (centre_inside and close_size), overlap


def assign(dets, faces):
    """One-to-one pairing, best IoU first: list with, per face, the detection index or -1."""
    pairs = []
    for i, face in enumerate(faces):
        for j, det in enumerate(dets):
            ok, overlap = matches(det, face)
            if ok:
                pairs.append((-overlap, i, j))
    face_to_det = [-1] * len(faces)
    used = set()
    for _, i, j in sorted(pairs):
        if face_to_det[i] < 0 and j not in used:
            face_to_det[i] = j
            used.add(j)
    return face_to_det


def check_photo(name, faces, dets, min_width):
    """Per-photo result: found / missed required faces, small faces, other detections."""
    face_to_det = assign(dets, faces)
    result = {"file": name, "found": [], "missed": [], "small_found": [], "small_missed": [],
              "detections": len(dets), "other_detections": len(dets) - sum(
                  1 for j in face_to_det if j >= 0)}
    for face, j in zip(faces, face_to_det):
        key = ("" if face[2] >= min_width else "small_") + ("found" if j >= 0 else "missed")
        result[key].append({"face": face.tolist(),
                            "detection": dets[j].tolist() if j >= 0 else None})
    return result


def box_text(box):
    return "[%s]" % " ".join("%.0f" % v for v in box)


def format_photo(r):
    line = "%-28s %2d/%-2d found" % (r["file"], len(r["found"]),
                                    len(r["found"]) + len(r["missed"]))
    if r["small_found"] or r["small_missed"]:
        line += ", small %d/%d" % (len(r["small_found"]),
                                   len(r["small_found"]) + len(r["small_missed"]))
    line += ", %d other detection(s)" % r["other_detections"]
    lines = [line + ("  MISSED" if r["missed"] else "")]
    for m in r["missed"]:
        lines.append("    missed face %s" % box_text(m["face"]))
    for m in r["small_missed"]:
        lines.append("    missed small face %s (not required)" % box_text(m["face"]))
    return lines


def detections_by_key(records, min_score):
    dets = {}
    for record in records:
        rows = [list(f["box"][:4]) + [f["score"]] for f in record.get("faces") or []]
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, 5)
        dets[image_key(record["file"])] = rows[rows[:, 4] >= min_score, :4]
    return dets


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__[__doc__.index("Faces come from"):],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", help="folder with the photos and the imglab XML files")
    parser.add_argument("--xml", action="append",
                        help="imglab file, relative to the folder; repeatable "
                        "(default: training.xml and testing.xml)")
    parser.add_argument("--negative", action="append",
                        help="photo that must have no detection; repeatable "
                        "(default: dogs.jpg)")
    parser.add_argument("--detections", metavar="FILE.json",
                        help="read detections (lnlfer detect --format json output) instead "
                        "of running lnlfer")
    parser.add_argument("--lnlfer", default=DEFAULT_LNLFER,
                        help="lnlfer executable (default: %(default)s)")
    parser.add_argument("--lnlfer-args", default="", metavar="ARGS",
                        help="extra arguments for `lnlfer detect`, one shell-quoted string")
    parser.add_argument("--min-score", type=float, default=float("-inf"),
                        help="drop detections scoring below this (default: keep all)")
    parser.add_argument("--min-width", type=float, default=32,
                        help="faces at least this wide (px) must be found "
                        "(default: %(default)s)")
    parser.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    args = parser.parse_args(argv)
    args.xml = args.xml or ["training.xml", "testing.xml"]
    args.negative = args.negative or ["dogs.jpg"]
    return args


def main(argv=None):
    args = parse_args(argv)
    annotated = {}
    for xml in args.xml:
        annotated.update(load_imglab(os.path.join(args.folder, xml)))
    others = sorted(f for f in os.listdir(args.folder)
                    if f.lower().endswith((".jpg", ".jpeg", ".png"))
                    and f not in annotated and f not in args.negative)
    if args.detections:
        with open(args.detections) as f:
            records = json.load(f)
    else:
        names = sorted(annotated) + list(args.negative) + others
        paths = [os.path.join(args.folder, n) for n in names]
        records = run_lnlfer(args.lnlfer, shlex.split(args.lnlfer_args), paths)
    dets = detections_by_key(records, args.min_score)
    empty = np.zeros((0, 4))

    photos = [check_photo(n, annotated[n], dets.get(image_key(n), empty), args.min_width)
              for n in sorted(annotated)]
    negatives = {n: len(dets.get(image_key(n), empty)) for n in args.negative}
    unannotated = {n: len(dets[image_key(n)]) for n in others if image_key(n) in dets}
    not_run = [n for n in sorted(annotated) + list(args.negative) if image_key(n) not in dets]

    for r in photos:
        print("\n".join(format_photo(r)))
    for n, count in negatives.items():
        print("%-28s %d detection(s), want 0%s" % (n, count, "  FAIL" if count else ""))
    for n, count in unannotated.items():
        print("%-28s %d detection(s) (not annotated, not checked)" % (n, count))
    missed = sum(len(r["missed"]) for r in photos)
    required = missed + sum(len(r["found"]) for r in photos)
    false_alarms = sum(negatives.values())
    ok = missed == 0 and false_alarms == 0 and not not_run
    if not_run:
        print("no detection record for: %s" % " ".join(not_run))
    print("%s: %d/%d faces >= %g px found, %d detection(s) on negatives" % (
        "PASS" if ok else "FAIL", required - missed, required, args.min_width, false_alarms))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"photos": photos, "negatives": negatives, "unannotated": unannotated,
                       "missing_records": not_run, "required_faces": required,
                       "missed": missed, "pass": ok}, f, indent=2)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
