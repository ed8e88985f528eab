#!/usr/bin/python3
"""Self-test of wider_eval.py on synthetic ground truth; needs no dataset.

    /usr/bin/python3 tools/eval/test_wider_eval.py
"""
import json
import os
import stat
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wider_eval as we  # noqa: E402


def gt_image(name, boxes, easy=None, medium=None, hard=None, invalid=None):
    """Ground-truth entry as in ground_truth.json; keep lists default to all boxes."""
    every = list(range(len(boxes)))
    return {"event": "0--Test", "file": name, "boxes": boxes,
            "keep_easy": every if easy is None else easy,
            "keep_medium": every if medium is None else medium,
            "keep_hard": every if hard is None else hard,
            "invalid": invalid or [0] * len(boxes)}


def load(entries):
    folder = tempfile.mkdtemp()
    with open(os.path.join(folder, "ground_truth.json"), "w") as f:
        json.dump(entries, f)
    return we.load_ground_truth(folder)


def record(name, faces):
    """CLI record; faces = [(box, score), ...]."""
    return {"file": "images/%s.jpg" % name, "width": 1000, "height": 1000,
            "faces": [{"box": list(map(float, b)), "score": float(s), "landmarks": []}
                      for b, s in faces]}


def run(entries, records, **kw):
    return we.evaluate(load(entries), we.records_to_detections(records), **kw)


def box(i, size=40):
    """Well separated face boxes."""
    return [100 * i + 10, 50, size, size]


def reference_ap(images, detections, difficulty, iou_thresh=0.5, thresh_num=1000):
    """Literal, loop-by-loop transcription of the official protocol, used to cross-check
    the vectorised implementation."""
    keys = [we.image_key(im["file"]) for im in images]
    all_scores = [s for k in keys for s in detections.get(k, np.zeros((0, 5)))[:, 4]]
    low, high = min(all_scores), max(all_scores)
    count_face = 0
    pr_curve = np.zeros((thresh_num, 2))
    for im, key in zip(images, keys):
        keep = im["keep_" + difficulty]
        count_face += int(keep.sum())
        pred = detections.get(key, np.zeros((0, 5))).copy()
        if len(pred) == 0 or len(im["boxes"]) == 0:
            continue
        pred[:, 4] = (pred[:, 4] - low) / (high - low)
        pred = pred[np.argsort(-pred[:, 4], kind="stable")]
        recall_list = [0] * len(im["boxes"])
        proposal_list = [1] * len(pred)
        pred_recall = [0] * len(pred)
        for h in range(len(pred)):
            best, best_iou = 0, -1.0
            for g, gb in enumerate(im["boxes"]):
                px2, py2 = pred[h, 0] + pred[h, 2], pred[h, 1] + pred[h, 3]
                gx2, gy2 = gb[0] + gb[2], gb[1] + gb[3]
                iw = min(px2, gx2) - max(pred[h, 0], gb[0]) + 1
                ih = min(py2, gy2) - max(pred[h, 1], gb[1]) + 1
                iou = 0.0
                if iw > 0 and ih > 0:
                    ua = ((px2 - pred[h, 0] + 1) * (py2 - pred[h, 1] + 1)
                          + (gx2 - gb[0] + 1) * (gy2 - gb[1] + 1) - iw * ih)
                    iou = iw * ih / ua
                if iou > best_iou:
                    best, best_iou = g, iou
            if best_iou >= iou_thresh:
                if not keep[best]:
                    recall_list[best] = -1
                    proposal_list[h] = -1
                elif recall_list[best] == 0:
                    recall_list[best] = 1
            pred_recall[h] = recall_list.count(1)
        for t in range(thresh_num):
            thresh = 1 - (t + 1) / thresh_num
            above = [i for i in range(len(pred)) if pred[i, 4] >= thresh]
            if above:
                r = above[-1]
                pr_curve[t, 0] += proposal_list[:r + 1].count(1)
                pr_curve[t, 1] += pred_recall[r]
    prec = np.array([tp / p if p else 0.0 for p, tp in pr_curve])
    rec = pr_curve[:, 1] / count_face
    mrec = [0.0] + list(rec) + [1.0]
    mpre = [0.0] + list(prec) + [0.0]
    for i in range(len(mpre) - 1, 0, -1):
        mpre[i - 1] = max(mpre[i - 1], mpre[i])
    return sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]
               for i in range(len(mrec) - 1) if mrec[i + 1] != mrec[i])


class TestWiderEval(unittest.TestCase):
    def test_perfect_detections(self):
        entries = [gt_image("a", [box(0), box(1), box(2)]),
                   gt_image("b", [box(0, 80), box(3, 20)])]
        records = [record("a", [(box(0), 0.9), (box(1), 0.8), (box(2), 0.99)]),
                   record("b", [(box(0, 80), 0.7), (box(3, 20), 0.95)])]
        r = run(entries, records)
        for d in we.DIFFICULTIES:
            self.assertEqual(r[d]["faces"], 5)
            self.assertAlmostEqual(r[d]["ap"], 1.0, places=12)
            self.assertAlmostEqual(r[d]["max_recall"], 1.0, places=12)
        op = r["operating_point"]
        self.assertEqual(op["false_positives"], 0)
        self.assertAlmostEqual(op["recall_all"], 1.0)
        self.assertEqual(op["large_faces"], 1)
        self.assertAlmostEqual(op["recall_large"], 1.0)

    def test_half_the_faces_no_false_positives(self):
        # 10 faces, 5 found, nothing else: precision 1 up to recall 0.5 -> AP exactly 0.5.
        entries = [gt_image("a", [box(i) for i in range(10)])]
        records = [record("a", [(box(i), 0.5 + 0.1 * i) for i in range(5)])]
        self.assertAlmostEqual(run(entries, records)["easy"]["ap"], 0.5, places=12)

    def test_half_the_faces_then_false_positives(self):
        # Found half the faces with higher scores, then 5 false positives with lower scores:
        # low-scored false positives do not lower the envelope -> still 0.5.
        entries = [gt_image("a", [box(i) for i in range(10)])]
        faces = [(box(i), 0.9 - 0.05 * i) for i in range(5)]
        faces += [([100 * i + 10, 500, 40, 40], 0.2 - 0.01 * i) for i in range(5)]
        self.assertAlmostEqual(run(entries, [record("a", faces)])["easy"]["ap"], 0.5,
                               places=12)

    def test_false_positives_ranked_first(self):
        # Per image: a false positive (score 0.9) above a true positive (0.5) on one of two
        # faces: precision 0.5 at recall 0.5 -> AP 0.25.
        entries = [gt_image(n, [box(0), box(1)]) for n in "abc"]
        records = [record(n, [([10, 500, 40, 40], 0.9), (box(0), 0.5)]) for n in "abc"]
        self.assertAlmostEqual(run(entries, records)["easy"]["ap"], 0.25, places=12)

    def test_interleaved_ranks(self):
        # 4 faces; ranked TP, FP, TP, FP: P=1 at R=.25, P=2/3 at R=.5 -> AP = .25 + .5/3.
        entries = [gt_image("a", [box(i) for i in range(4)])]
        faces = [(box(0), 0.9), ([10, 500, 40, 40], 0.7), (box(1), 0.5), ([110, 500, 40, 40], 0.3)]
        self.assertAlmostEqual(run(entries, [record("a", faces)])["easy"]["ap"],
                               0.25 + 0.25 * 2 / 3, places=12)

    def test_detection_on_ignored_face_is_not_false_positive(self):
        # Face 2 is hard-only, face 3 invalid; top-scored detections on them must not count
        # for easy.  The same detections on background would halve the precision.
        entries = [gt_image("a", [box(0), box(1), box(2, 12), box(3, 8)],
                            easy=[0, 1], medium=[0, 1], hard=[0, 1, 2, 3], invalid=[0, 0, 0, 1])]
        ignored = [(box(2, 12), 0.99), (box(3, 8), 0.98), (box(0), 0.6), (box(1), 0.5)]
        r = run(entries, [record("a", ignored)])
        self.assertAlmostEqual(r["easy"]["ap"], 1.0, places=12)
        self.assertEqual(r["easy"]["faces"], 2)
        self.assertEqual(r["hard"]["faces"], 3)  # invalid face 3 is never kept
        self.assertAlmostEqual(r["hard"]["ap"], 1.0, places=12)
        background = [([10, 500, 12, 12], 0.99), ([110, 500, 8, 8], 0.98),
                      (box(0), 0.6), (box(1), 0.5)]
        self.assertAlmostEqual(run(entries, [record("a", background)])["easy"]["ap"], 0.5,
                               places=12)
        # Operating point (all valid faces kept): the invalid face is ignored, the hard-only
        # face is a valid find, so no false positive at all.
        op = r["operating_point"]
        self.assertEqual(op["false_positives"], 0)
        self.assertEqual(op["valid_faces"], 3)
        self.assertAlmostEqual(op["recall_all"], 1.0)

    def test_duplicates_are_false_positives(self):
        # Image a: face found at 0.9, duplicate at 0.8; image b: face found at 0.5.
        # Ranked TP, FP, TP over 2 faces: P=1 at R=.5, P=2/3 at R=1 -> AP = .5 + 1/3.
        entries = [gt_image("a", [box(0)]), gt_image("b", [box(0)])]
        shifted = [box(0)[0] + 2, box(0)[1] + 2, 40, 40]
        records = [record("a", [(box(0), 0.9), (shifted, 0.8)]), record("b", [(box(0), 0.5)])]
        self.assertAlmostEqual(run(entries, records)["easy"]["ap"], 0.5 + 1 / 3, places=12)

    def test_best_iou_face_takes_the_detection(self):
        # A detection overlapping two faces at IoU >= .5 goes to the better one only; when
        # that one is already found it is a false positive, even though the other is free.
        a, b = [0, 0, 100, 100], [20, 0, 100, 100]
        det = [12, 0, 100, 100]
        iou = we.iou_matrix(np.array([det], float), np.array([a, b], float))[0]
        self.assertTrue(iou[0] >= 0.5 and iou[1] > iou[0])
        entries = [gt_image("a", [a, b])]
        r = run(entries, [record("a", [(b, 0.9), (det, 0.8)])])
        # TP then FP, 2 faces: P=1 at R=.5 -> AP .5.
        self.assertAlmostEqual(r["easy"]["ap"], 0.5, places=12)

    def test_iou_official_convention(self):
        # x2 = x + w and +1 pixel: [0,0,9,9] vs [5,0,9,9]: inter 5*10, union 150.
        iou = we.iou_matrix(np.array([[0, 0, 9, 9]], float), np.array([[5, 0, 9, 9]], float))
        self.assertAlmostEqual(iou[0, 0], 50 / 150)
        r = run([gt_image("a", [[0, 0, 9, 9]])], [record("a", [([5, 0, 9, 9], 1.0)])],
                iou_thresh=0.3)
        self.assertAlmostEqual(r["easy"]["ap"], 1.0)

    def test_scores_are_normalised(self):
        entries = [gt_image("a", [box(i) for i in range(4)])]
        faces = [(box(0), 0.9), ([10, 500, 40, 40], 0.7), (box(1), 0.5), ([110, 500, 40, 40], 0.3)]
        logits = [(b, 30 * s - 12) for b, s in faces]
        self.assertAlmostEqual(run(entries, [record("a", logits)])["easy"]["ap"],
                               run(entries, [record("a", faces)])["easy"]["ap"], places=12)

    def test_missing_image_counts_faces(self):
        entries = [gt_image("a", [box(0)]), gt_image("b", [box(0)])]
        r = run(entries, [record("a", [(box(0), 0.9)])])
        self.assertAlmostEqual(r["easy"]["ap"], 0.5, places=12)
        self.assertEqual(r["images_without_detections_record"], ["b"])

    def test_operating_point(self):
        # 2 images, so 2 false positives allowed.  Ranked: TP(large) .95, FP .9, TP .8,
        # FP .7, then FP .6 and .55 (over the budget), TP .4.
        big = [500, 500, 70, 70]
        entries = [gt_image("a", [box(0), big]), gt_image("b", [box(0), box(1), box(2)])]
        records = [record("a", [(big, 0.95), ([10, 800, 40, 40], 0.9), (box(0), 0.8)]),
                   record("b", [([10, 800, 40, 40], 0.7), ([110, 800, 40, 40], 0.6),
                                ([box(1)[0], 50, 90, 90], 0.55), (box(2), 0.4)])]
        op = run(entries, records)["operating_point"]
        self.assertEqual(op["false_positives"], 2)
        self.assertAlmostEqual(op["threshold"], 0.7)
        self.assertEqual(op["valid_faces"], 5)
        self.assertAlmostEqual(op["recall_all"], 2 / 5)
        self.assertEqual(op["large_faces"], 1)
        self.assertAlmostEqual(op["recall_large"], 1.0)
        op = run(entries, records, fp_per_image=0.5)["operating_point"]  # 1 FP allowed
        self.assertAlmostEqual(op["threshold"], 0.8)
        self.assertAlmostEqual(op["recall_all"], 2 / 5)
        op = run(entries, records, fp_per_image=0.0)["operating_point"]
        self.assertAlmostEqual(op["threshold"], 0.95)
        self.assertAlmostEqual(op["recall_all"], 1 / 5)
        op = run(entries, records, large=80)["operating_point"]
        self.assertEqual(op["large_faces"], 0)
        self.assertIsNone(op["recall_large"])

    def test_matches_literal_reference_on_random_data(self):
        rng = np.random.default_rng(1)
        entries, records = [], []
        for i in range(25):
            n = int(rng.integers(0, 8))
            boxes = [[float(rng.integers(0, 600)), float(rng.integers(0, 400)),
                      float(rng.integers(4, 120))] for _ in range(n)]
            boxes = [[x, y, w, round(w * rng.uniform(0.9, 1.4))] for x, y, w in boxes]
            hard = [j for j in range(n) if rng.random() < 0.9]
            medium = [j for j in hard if boxes[j][2] >= 10]
            easy = [j for j in medium if boxes[j][2] >= 30]
            invalid = [int(j not in hard and rng.random() < 0.5) for j in range(n)]
            entries.append(gt_image("img%d" % i, boxes, easy, medium, hard, invalid))
            faces = []
            for b in boxes:
                for _ in range(int(rng.integers(0, 3))):
                    jit = rng.normal(0, 0.15, 4) * b[2]
                    faces.append(([b[0] + jit[0], b[1] + jit[1], b[2] + jit[2], b[3] + jit[3]],
                                  rng.random()))
            for _ in range(int(rng.integers(0, 4))):
                faces.append(([rng.uniform(0, 600), rng.uniform(0, 400), 30, 30], rng.random()))
            records.append(record("img%d" % i, faces))
        images = load(entries)
        detections = we.records_to_detections(records)
        result = we.evaluate(images, detections)
        for d in we.DIFFICULTIES:
            expected = reference_ap(images, detections, d)
            self.assertTrue(0.05 < expected < 0.99, expected)
            self.assertAlmostEqual(result[d]["ap"], expected, places=12)

    def test_cli_runs_lnlfer_in_chunks(self):
        folder = tempfile.mkdtemp()
        entries = [gt_image("im%d" % i, [box(0)]) for i in range(5)]
        with open(os.path.join(folder, "ground_truth.json"), "w") as f:
            json.dump(entries, f)
        log = os.path.join(folder, "calls.txt")
        fake = os.path.join(folder, "fake-lnlfer")
        # Finds the face on every image but im4; records the argument lists.
        with open(fake, "w") as f:
            f.write("#!%s\nimport json, os, sys\n"
                    "open(%r, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n"
                    "assert sys.argv[1:5] == ['detect', '--format', 'json', '--min-size']\n"
                    "out = [{'file': p, 'width': 1000, 'height': 1000, 'faces': [] if 'im4' in p"
                    " else [{'box': %r, 'score': 0.9, 'landmarks': []}]} for p in sys.argv[6:]]\n"
                    "print(json.dumps(out))\n" % (sys.executable, log, box(0)))
        os.chmod(fake, os.stat(fake).st_mode | stat.S_IEXEC)
        out_json = os.path.join(folder, "out.json")
        saved = os.path.join(folder, "dets.json")
        we.main([folder, "--lnlfer", fake, "--lnlfer-args", "--min-size 16", "--chunk", "2",
                 "--json", out_json, "--save-detections", saved])
        with open(log) as f:
            calls = f.read().splitlines()
        self.assertEqual(len(calls), 3)
        self.assertTrue(calls[0].endswith("images/im0.jpg " + folder + "/images/im1.jpg"))
        with open(out_json) as f:
            self.assertAlmostEqual(json.load(f)["easy"]["ap"], 0.8, places=12)
        we.main([folder, "--detections", saved, "--json", out_json])
        with open(out_json) as f:
            self.assertAlmostEqual(json.load(f)["easy"]["ap"], 0.8, places=12)


if __name__ == "__main__":
    unittest.main()
