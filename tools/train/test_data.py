#!/usr/bin/python3
"""Self-test of the aligned-crop geometry and the distillation targets in data.py (no
dataset, no torch needed).

    /usr/bin/python3 tools/train/test_data.py
"""
import math
import os
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import (aligned_geometry, distilled, fit_similarity, key_of,  # noqa: E402
                  similarity_shape, template_points)
from preprocess import warp_similarity  # noqa: E402

TEMPLATE = [[0.3003, 0.3752], [0.6908, 0.3686], [0.494, 0.588], [0.5008, 0.7797]]


def apply(sim, points):
    a, b, tx, ty = sim
    return [[a * u - b * v + tx, b * u + a * v + ty] for u, v in points]


class FitSimilarity(unittest.TestCase):
    def test_recovers_an_exact_similarity(self):
        sim = (0.9 * math.cos(0.2), 0.9 * math.sin(0.2), 0.07, -0.03)
        np.testing.assert_allclose(fit_similarity(TEMPLATE, apply(sim, TEMPLATE)), sim, atol=1e-12)

    def test_shape(self):
        scale, angle, centre = similarity_shape((0.0, 2.0, 1.0, 0.0))  # 90 degrees, twice
        self.assertAlmostEqual(scale, 2.0)
        self.assertAlmostEqual(angle, 90.0)
        np.testing.assert_allclose(centre, [0.0, 1.0])

    def test_warp_follows_the_convention(self):
        # output point (u, v) shows input point (a u - b v + tx, b u + a v + ty): a pure
        # half-size zoom on the top-left quarter shows that quarter enlarged
        img = np.zeros((8, 8), np.uint8)
        img[:4, :4] = 200
        out = warp_similarity(img, (0.5, 0.0, 0.0, 0.0))
        self.assertTrue((out[1:7, 1:7] == 200).all())


class AlignedGeometry(unittest.TestCase):
    def test_missing_and_implausible_fits_get_the_median(self):
        usual = (0.93, 0.0, 0.03, 0.05)
        near = (0.95, 0.02, 0.02, 0.04)
        tiny = (0.3, 0.0, 0.3, 0.3)  # a third of the usual scale: a detection on a part
        turned = (0.93 * math.cos(1.2), 0.93 * math.sin(1.2), 0.5, -0.2)  # 69 degrees
        landmarks = {
            "ferplus/valid/a.png": apply(usual, TEMPLATE),
            "ferplus/valid/b.png": apply(near, TEMPLATE),
            "ferplus/valid/c.png": apply(usual, TEMPLATE),
            "ferplus/valid/d.png": apply(tiny, TEMPLATE),
            "ferplus/valid/e.png": apply(turned, TEMPLATE),
            "ferplus/valid/f.png": None,
            "rafdb/train/3/g.jpg": apply((1.1, 0.0, -0.05, -0.1), TEMPLATE),
        }
        g = aligned_geometry(landmarks, TEMPLATE)
        self.assertEqual(set(g), set(landmarks))
        np.testing.assert_allclose(g["ferplus/valid/b.png"], near, atol=1e-9)
        median = np.median([usual, near, usual, tiny, turned], axis=0)
        for key in ("d", "e", "f"):
            np.testing.assert_allclose(g[f"ferplus/valid/{key}.png"], median, atol=1e-9)
        # each data set has its own median
        np.testing.assert_allclose(g["rafdb/train/3/g.jpg"], (1.1, 0.0, -0.05, -0.1), atol=1e-9)

    def test_keys(self):
        self.assertEqual(key_of("/d/ferplus/train/fer0000001.png"), "ferplus/train/fer0000001.png")
        self.assertEqual(key_of("../data/rafdb/train/3/train_00001.jpg"),
                         "rafdb/train/3/train_00001.jpg")


class TemplatePoints(unittest.TestCase):
    MEASURED = {"template": {"points": [[0.3, 0.4]], "names": ["eye"]},
                "ferplus": {"points": [[0.31, 0.41]]}, "rafdb": {"points": [[0.27, 0.33]]}}

    def test_named_and_default(self):
        self.assertEqual(template_points(self.MEASURED, {}), [[0.3, 0.4]])
        self.assertEqual(template_points(self.MEASURED, {"raf_crop": "ferplus"}), [[0.31, 0.41]])
        self.assertEqual(template_points(self.MEASURED, {"template": "rafdb"}), [[0.27, 0.33]])
        self.assertEqual(template_points(self.MEASURED, {"template": "mix", "raf_crop": "ferplus"}),
                         [[0.3, 0.4]])

    def test_unknown_name(self):
        with self.assertRaises(ValueError):
            template_points(self.MEASURED, {"template": "tight"})


class Distilled(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        probs = np.array([[0.2, 0.8], [0.6, 0.4], [1.0, 0.0]], np.float32)
        np.savez(os.path.join(self.tmp.name, "t.npz"),
                 split=np.array(["fer_train"] * 2 + ["raf_train"]),
                 name=np.array(["a.png", "b.png", "a.png"]), probs=probs)
        self.rec = {"teacher": "t.npz", "distill": 0.25}

    def tearDown(self):
        self.tmp.cleanup()

    def test_blends_each_image_with_its_own_prediction(self):
        y = np.array([[0.0, 1.0], [1.0, 0.0]], np.float32)
        out = distilled(y, "fer_train", ["b.png", "a.png"], self.rec, self.tmp.name)
        np.testing.assert_allclose(out, [[0.15, 0.85], [0.8, 0.2]], atol=1e-6)
        # the same name in the other split has its own prediction
        out = distilled(y[:1], "raf_train", ["a.png"], self.rec, self.tmp.name)
        np.testing.assert_allclose(out, [[0.25, 0.75]], atol=1e-6)

    def test_off_without_distill(self):
        y = np.eye(2, dtype=np.float32)
        self.assertIs(distilled(y, "fer_train", ["x", "y"], {}, self.tmp.name), y)

    def test_image_without_a_prediction_is_an_error(self):
        with self.assertRaisesRegex(ValueError, "no prediction for 1 fer_train"):
            distilled(np.eye(2, dtype=np.float32), "fer_train", ["a.png", "c.png"], self.rec,
                      self.tmp.name)


if __name__ == "__main__":
    unittest.main()
