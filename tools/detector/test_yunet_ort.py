#!/usr/bin/python3
"""Self-test of the YuNet reference (decoding, NMS, one pass, the multi-scale plan and merge)
and of align_eval's Python port of the engine's alignment; numpy and PIL only (no model, no
ONNX Runtime, no dataset).

    /usr/bin/python3 tools/detector/test_yunet_ort.py
"""
import math
import os
import sys
import unittest

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "eval"))
import multiscale  # noqa: E402
import yunet_ort as yo  # noqa: E402

NAMES = ["cls_%d" % s for s in yo.STRIDES] + ["obj_%d" % s for s in yo.STRIDES] + \
    ["bbox_%d" % s for s in yo.STRIDES] + ["kps_%d" % s for s in yo.STRIDES]


def zero_outputs(pad_h, pad_w):
    out = {}
    for s in yo.STRIDES:
        n = (pad_h // s) * (pad_w // s)
        out["cls_%d" % s] = np.zeros((1, n, 1), np.float32)
        out["obj_%d" % s] = np.zeros((1, n, 1), np.float32)
        out["bbox_%d" % s] = np.zeros((1, n, 4), np.float32)
        out["kps_%d" % s] = np.zeros((1, n, 10), np.float32)
    return out


def one_face(out, pad_w, stride=8, r=2, c=3, cls=0.81, obj=1.0):
    i = r * (pad_w // stride) + c
    out["cls_%d" % stride][0, i, 0] = cls
    out["obj_%d" % stride][0, i, 0] = obj
    out["bbox_%d" % stride][0, i] = [0.5, 0.25, math.log(2), math.log(3)]
    out["kps_%d" % stride][0, i] = np.arange(10) / 10
    return out


class FakeSession:
    """ORT session stand-in: records the input, answers one face at stride 8, (r, c) = (2, 3)."""

    class Named:
        def __init__(self, name):
            self.name = name

    def __init__(self):
        self.inputs = []

    def get_outputs(self):
        return [self.Named(n) for n in NAMES]

    def get_inputs(self):
        return [self.Named("input")]

    def run(self, names, feeds):
        x = feeds["input"]
        self.inputs.append(x)
        out = one_face(zero_outputs(x.shape[2], x.shape[3]), x.shape[3])
        return [out[n] for n in names]


class Decode(unittest.TestCase):
    def test_score_box_landmarks(self):
        out = one_face(zero_outputs(64, 96), 96)
        d = yo.decode([out[n] for n in NAMES], NAMES, 64, 96, 0.5)
        self.assertEqual(d.shape, (1, 15))
        # score sqrt(0.81 * 1); cx = (3 + 0.5) 8, cy = (2 + 0.25) 8, w = 2 * 8, h = 3 * 8
        np.testing.assert_allclose(d[0, :5], [28 - 8, 18 - 12, 16, 24, 0.9], rtol=1e-6)
        kx = (np.arange(0, 10, 2) / 10 + 3) * 8
        ky = (np.arange(1, 10, 2) / 10 + 2) * 8
        np.testing.assert_allclose(d[0, 5::2], kx, rtol=1e-6)
        np.testing.assert_allclose(d[0, 6::2], ky, rtol=1e-6)

    def test_clamped_and_thresholded(self):
        out = one_face(zero_outputs(64, 96), 96, cls=1.7, obj=0.25)
        d = yo.decode([out[n] for n in NAMES], NAMES, 64, 96, 0.02)
        self.assertAlmostEqual(d[0, 4], 0.5, places=6)  # cls clamped to 1
        self.assertEqual(len(yo.decode([out[n] for n in NAMES], NAMES, 64, 96, 0.51)), 0)

    def test_other_strides_index(self):
        out = one_face(zero_outputs(64, 96), 96, stride=32, r=1, c=2)
        d = yo.decode([out[n] for n in NAMES], NAMES, 64, 96, 0.5)
        np.testing.assert_allclose(d[0, :2], [(2.5 * 32) - 32, (1.25 * 32) - 48], rtol=1e-6)


class Nms(unittest.TestCase):
    def test_suppresses_above_iou(self):
        a = [0, 0, 10, 10, 0.8] + [0] * 10
        b = [1, 0, 10, 10, 0.9] + [0] * 10  # IoU 9/11 with a
        c = [7, 0, 10, 10, 0.7] + [0] * 10  # IoU 3/17 with a, 4/16 with b
        kept = yo.nms(np.array([a, b, c], float))
        np.testing.assert_array_equal(kept[:, 4], [0.9, 0.7])

    def test_empty(self):
        self.assertEqual(len(yo.nms(np.zeros((0, 15)))), 0)


class Pass(unittest.TestCase):
    def test_input_and_scale(self):
        img = Image.new("RGB", (200, 100), (10, 20, 30))
        sess = FakeSession()
        d = yo.run_pass(sess, img, 0.5, 0.5)
        x = sess.inputs[0]
        self.assertEqual(x.shape, (1, 3, 64, 128))  # 50 x 100 padded to multiples of 32
        np.testing.assert_allclose(x[0, :, 0, 0], [30, 20, 10])  # BGR
        self.assertEqual(float(np.abs(x[0, :, 50:, :]).max()), 0.0)  # zero padding
        self.assertEqual(float(np.abs(x[0, :, :, 100:]).max()), 0.0)
        np.testing.assert_allclose(d[0, :4], [40, 12, 32, 48], rtol=1e-6)  # divided by 0.5
        np.testing.assert_allclose(d[0, 5], (0 + 3) * 8 / 0.5, rtol=1e-6)


class Plan(unittest.TestCase):
    def test_small_photo(self):
        p = multiscale.plan(1024, 768)
        self.assertEqual(p, [(1.0, 0.0, 192.0), (0.25, 96.0, math.inf)])

    def test_huge_photo_is_capped(self):
        (s, lo, hi), (s2, lo2, hi2) = multiscale.plan(12000, 8400)
        self.assertAlmostEqual(12000 * 8400 * s * s, multiscale.CAP_MP * 1e6, delta=1)
        self.assertAlmostEqual(s2, s / 4)
        self.assertAlmostEqual(hi * s, 192.0)  # in the first pass's own pixels
        self.assertAlmostEqual(lo2 * s, 96.0)

    def test_tiny_photo_one_pass(self):
        self.assertEqual(multiscale.plan(240, 200), [(1.0, 0.0, math.inf)])

    def test_merge_keeps_each_range_then_nms(self):
        def det(x, w, score):
            return [x, 0, w, w, score] + [0] * 10
        native = np.array([det(0, 50, 0.9), det(500, 300, 0.95), det(1000, 150, 0.7)])
        quarter = np.array([det(2000, 80, 0.99), det(1000, 160, 0.8), det(3000, 400, 0.6)])
        m = multiscale.merge([native, quarter], [(1.0, 0, 192), (0.25, 96, math.inf)])
        # the 300 px native box and the 80 px quarter box are out of range; the two boxes on
        # the face at x = 1000 merge into the better one
        np.testing.assert_array_equal(sorted(m[:, 4]), [0.6, 0.8, 0.9])


class AlignPort(unittest.TestCase):
    """align_eval's port of engine/lnl_align.c."""

    def setUp(self):
        import align_eval
        self.ae = align_eval

    def test_fit_recovers_similarity(self):
        tpl = np.array([[0.3, 0.35], [0.7, 0.35], [0.5, 0.55], [0.5, 0.75]])
        t = math.radians(10)
        a, b = 1.5 * math.cos(t), 1.5 * math.sin(t)
        pts = [(a * u * 96 - b * v * 96 + 40, b * u * 96 + a * v * 96 + 7) for u, v in tpl]
        np.testing.assert_allclose(self.ae.fit_transform(pts, tpl, 96), [a, -b, 40, b, a, 7],
                                   atol=1e-9)

    def test_crop_identity_and_supersampling(self):
        a = np.zeros((40, 40, 3), np.uint8)
        a[:, :, 0] = np.arange(40)[None, :] * 5
        img = Image.fromarray(a)
        crop = np.asarray(self.ae.align_crop(img, [1, 0, 4, 0, 1, 6], 16))
        np.testing.assert_array_equal(crop[:, :, 0], a[6:22, 4:20, 0])
        # scale 2: 2 x 2 samples per crop pixel, the mean of each 2 x 2 block
        half = np.asarray(self.ae.align_crop(img, [2, 0, 0, 0, 2, 0], 16)).astype(float)
        np.testing.assert_allclose(half[:, :, 0], (a[0:32:2, 0:32:2, 0] + 2.5).astype(float)
                                   .round(), atol=1)


if __name__ == "__main__":
    unittest.main()
