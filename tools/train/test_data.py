#!/usr/bin/python3
"""Self-test of the aligned-crop geometry, the distillation targets and the FERPlus
reference protocol in data.py, of the model card's tables (model_card.py) and of
tools/eval/region_eval.py's statistics (no dataset, no torch needed).

    /usr/bin/python3 tools/train/test_data.py
"""
import math
import os
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import (aligned_geometry, distilled, ferplus_reference_label,  # noqa: E402
                  fit_similarity, key_of, similarity_shape, stored, template_points)
import model_card  # noqa: E402
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


class FerplusReferenceLabel(unittest.TestCase):
    # votes: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF
    def test_single_votes_are_removed_before_the_majority(self):
        # 5 of 10 is no majority of the raw votes, but the five single votes go first
        self.assertEqual(ferplus_reference_label([5, 1, 1, 1, 1, 1, 0, 0, 0, 0]), 0)
        self.assertEqual(ferplus_reference_label([4, 3, 1, 1, 0, 0, 0, 0, 1, 0]), 0)

    def test_more_than_half_is_needed(self):
        self.assertIsNone(ferplus_reference_label([3, 3, 0, 0, 0, 0, 0, 0, 0, 0]))  # exactly half
        self.assertIsNone(ferplus_reference_label([4, 0, 2, 2, 0, 0, 0, 0, 2, 0]))
        self.assertIsNone(ferplus_reference_label([1] * 10))  # nothing left

    def test_unknown_and_not_a_face_are_dropped(self):
        self.assertIsNone(ferplus_reference_label([2, 0, 0, 0, 0, 0, 0, 0, 8, 0]))
        self.assertIsNone(ferplus_reference_label([0, 0, 0, 0, 0, 0, 0, 0, 2, 8]))
        # remaining unknown votes count towards the total the majority is taken of
        self.assertIsNone(ferplus_reference_label([4, 0, 0, 0, 0, 0, 0, 0, 4, 2]))

    def test_every_class_including_contempt(self):
        for c in range(8):
            votes = [0] * 10
            votes[c], votes[(c + 1) % 8] = 7, 3
            self.assertEqual(ferplus_reference_label(votes), c)


class Stored(unittest.TestCase):
    def test_uint8_is_the_rounded_unit_image(self):
        img = (np.arange(48 * 48 * 3) % 256).astype(np.uint8).reshape(48, 48, 3)
        cfg = {"input_size": 48, "input_channels": 3, "mean": 0.0, "std": 1.0}
        unit = stored(img, cfg)
        self.assertEqual(unit.dtype, np.float32)
        as_bytes = stored(img, dict(cfg, store="uint8"))
        self.assertEqual(as_bytes.dtype, np.uint8)
        np.testing.assert_array_equal(as_bytes, img.transpose(2, 0, 1))  # same size: unchanged
        np.testing.assert_allclose(as_bytes / 255.0, unit, atol=0.5 / 255 + 1e-6)


class ModelCardTables(unittest.TestCase):
    LOG = [{"epoch": 1, "seconds": 269.4, "loss": 1.4741, "fer_valid": {"acc": 0.73934, "region_weights": [0.25, 0.7501]},
            "raf_valid": {"acc": 0.6494}},
           {"epoch": 2, "seconds": 273.0, "loss": 1.2, "fer_valid": {"acc": 0.8, "region_weights": [0.5, 0.5]},
            "raf_valid": {"acc": 0.71344}}]
    ALIGN = {"ferplus-valid": {"images": 3529, "detected": 0.98812, "crop_accuracy": 0.82034,
                               "recut_accuracy": 0.8254, "pipeline_accuracy": 0.815, "found_accuracy": 0.8248,
                               "loss_points": 0.541, "loss_se_points": 0.49},
             "other": {"images": 5, "detected": 1.0, "crop_accuracy": 0.8, "pipeline_accuracy": 0.6,
                       "loss_points": 20.0}}

    def card(self):
        return ("# card\n\n" + model_card.curve_table(self.LOG) + "\ntext\n\n"
                + "| set | faces | detected | accuracy on the crops | re-cut | after detect + align | "
                "on the faces found | loss (points) |\n|---|---|---|---|---|---|---|---|\n"
                + model_card.align_rows(self.ALIGN) + "\n\n## next\n")

    def test_tables_read_back_print_the_same(self):
        card = self.card()
        log = model_card.log_from_card(card)
        self.assertEqual([e["epoch"] for e in log], [1, 2])
        self.assertAlmostEqual(log[0]["fer_valid"]["acc"], 0.7393)
        self.assertEqual(model_card.curve_table(log), model_card.curve_table(self.LOG))
        align = model_card.align_from_card(card)
        self.assertIsNone(align["other"]["recut_accuracy"])
        self.assertNotIn("loss_se_points", align["other"])
        self.assertEqual(model_card.align_rows(align), model_card.align_rows(self.ALIGN))

    def test_missing_table(self):
        with self.assertRaises(ValueError):
            model_card.log_from_card("no table here\n")


class RegionEvalStatistics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "eval"))
        import region_eval
        cls.re = region_eval

    def test_spearman(self):
        self.assertAlmostEqual(self.re.spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1.0)
        self.assertAlmostEqual(self.re.spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1.0)
        self.assertAlmostEqual(self.re.spearman([1, 2, 3], [1, 5, 2]), 0.5)
        # ties get their mean rank: ranks (1.5, 1.5, 3) against (1, 2, 3)
        self.assertAlmostEqual(self.re.spearman([0, 0, 1], [1, 2, 3]), 0.8660254, places=6)
        self.assertIsNone(self.re.spearman([1, 1, 1], [1, 2, 3]))

    def test_entropy(self):
        self.assertAlmostEqual(self.re.entropy([1 / 9] * 9), np.log(9))
        self.assertAlmostEqual(self.re.entropy([1, 0, 0]), 0.0, places=6)

    def test_region_boxes_and_greying(self):
        cfg = {"regions": [[0, 0, 12, 12], [6, 12, 12, 12]]}
        self.assertEqual(self.re.region_boxes(cfg), [(0, 0, 24, 24), (12, 24, 36, 48)])
        x = np.full((48, 48), 7, np.uint8)
        g = self.re.greyed(x, (12, 24, 36, 48), 128)
        self.assertTrue((g[24:48, 12:36] == 128).all())
        self.assertEqual(int((g == 128).sum()), 24 * 24)
        self.assertTrue((x == 7).all())  # the input is left as it was

    def test_network_input_is_left_unchanged_by_the_engine_resize(self):
        # a 48x48 grey input resized to 48 is itself: the engine takes it as it is
        from preprocess import resize
        img = (np.arange(48 * 48) * 7 % 256).astype(np.uint8).reshape(48, 48)
        x = self.re.network_input(img, {"input_size": 48, "input_channels": 1})
        np.testing.assert_array_equal(x, img)
        np.testing.assert_allclose(resize(x.astype(np.float32), 48), x, atol=1e-4)


if __name__ == "__main__":
    unittest.main()
