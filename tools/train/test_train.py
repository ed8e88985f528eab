#!/usr/bin/python3
"""Self-test of the trainer's seeded views (views.py), the cache of teacher views, the
shared training epoch and the student's distillation and region terms (train.py), on
synthetic tensors and a small LNLNet: no dataset needed, torch (Debian's python3-torch) is.

    /usr/bin/python3 tools/train/test_train.py
"""
import copy
import json
import os
import sys
import tempfile
import unittest

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import train  # noqa: E402
import views  # noqa: E402
from model import LNLNet  # noqa: E402

torch.set_num_threads(1)  # leave the CPU to the training runs
with open(os.path.join(HERE, "recipe.json")) as f:
    RECIPE = json.load(f)
with open(os.path.join(HERE, "config.json")) as f:
    SMALL = dict(json.load(f), unet_widths=[4, 8, 8, 8], decoder_widths=[8, 8],
                 feature_channels=8, local_width=8, nonlocal_inner=4, attention_hidden=4)


def smooth_faces(n, size, channels, seed=0):
    """Smooth random colour images (a few Gaussian blobs), [0,1]."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    out = torch.zeros(n, channels, size, size)
    for _ in range(4):
        cy, cx = torch.rand(2, n, 1, 1, generator=g)
        amp = torch.rand(n, channels, 1, 1, generator=g)
        out += amp * torch.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 0.02).unsqueeze(1)
    return (out / out.amax((1, 2, 3), keepdim=True)).clamp(0, 1)


class SeededViews(unittest.TestCase):
    REC = dict(RECIPE, occlusion_p=0.5, frame_p=0.3, frame_zoom=0.4)

    def test_a_view_depends_on_seed_image_and_k_alone(self):
        x = smooth_faces(6, 48, 1)
        ids = views.image_ids([("fer_train", f"{i}.png") for i in range(6)])
        ks = np.array([0, 1, 2, 0, 1, 2])
        a = views.seeded_view(x, 7, ids, ks, self.REC)
        # the same images in another order and another batch: the same views
        order = [5, 3, 1]
        b = views.seeded_view(x[order], 7, ids[order], ks[order], self.REC)
        torch.testing.assert_close(b, a[order], rtol=0, atol=0)
        again = views.seeded_view(x, 7, ids, ks, self.REC)
        self.assertTrue(torch.equal(a, again))
        other_k = views.seeded_view(x, 7, ids, ks + 3, self.REC)
        other_seed = views.seeded_view(x, 8, ids, ks, self.REC)
        for c in (other_k, other_seed):
            self.assertGreater(float((c - a).abs().mean()), 0.02)

    def test_uniforms_are_uniform(self):
        u = views.SeededUniforms(1, np.arange(2000, dtype=np.uint64), np.zeros(2000))(3)
        self.assertEqual(tuple(u.shape), (2000, 3))
        self.assertTrue(((u >= 0) & (u < 1)).all())
        self.assertAlmostEqual(float(u.mean()), 0.5, delta=0.02)
        self.assertLess(abs(float(np.corrcoef(u[:, 0], u[:, 1])[0, 1])), 0.06)

    def test_teacher_and_student_see_the_same_geometric_view(self):
        colour = smooth_faces(8, 112, 3, seed=3)
        # the student's crop: the same image at 48 px, grey
        student = views.to_grey(F.interpolate(colour, size=48, mode="area"))
        ids = views.image_ids([("raf_train", f"{i}.jpg") for i in range(8)])
        ks = np.arange(8) % 3
        tv = views.seeded_view(colour, 1, ids, ks, self.REC)
        sv = views.seeded_view(student, 1, ids, ks, self.REC)
        seen = views.to_grey(F.interpolate(tv, size=48, mode="area"))
        err = float((seen - sv).abs().mean())
        other = views.seeded_view(student, 1, ids, ks + 1, self.REC)
        self.assertLess(err, 0.01)
        self.assertGreater(float((other - sv).abs().mean()), 10 * err)

    def test_train_augment_takes_seeded_uniforms(self):
        x = smooth_faces(4, 48, 1)
        ids, ks = views.image_ids([("s", str(i)) for i in range(4)]), np.zeros(4)
        a = train.augment(x, RECIPE, views.SeededUniforms(3, ids, ks))
        self.assertTrue(torch.equal(a, views.seeded_view(x, 3, ids, ks, RECIPE)))


class ViewCache(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.tmp.name, "v.npz")

    def tearDown(self):
        self.tmp.cleanup()

    def test_round_trip(self):
        split = ["fer_train", "fer_train", "raf_train"]
        names = ["a.png", "b.png", "a.png"]
        logits = np.random.default_rng(0).normal(size=(3, 4, 8)).astype(np.float16)
        meta = {"seed": 1, "view": views.view_recipe(RECIPE), "views": 4}
        views.write_cache(self.path, split, names, logits, meta)
        got_meta, rows, ids, got = views.read_cache(self.path)
        self.assertEqual(got_meta, json.loads(json.dumps(meta)))
        self.assertEqual(got.dtype, np.float16)
        np.testing.assert_array_equal(got, logits)
        self.assertEqual(rows, {("fer_train", "a.png"): 0, ("fer_train", "b.png"): 1,
                                ("raf_train", "a.png"): 2})
        np.testing.assert_array_equal(ids, views.image_ids(zip(split, names)))
        np.testing.assert_array_equal(
            views.cache_rows(rows, [("raf_train", "a.png"), ("fer_train", "a.png")], "v"), [2, 0])
        with self.assertRaisesRegex(ValueError, "no views of 1 training images"):
            views.cache_rows(rows, [("raf_train", "b.png")], "v")
        views.check_cache(got_meta, RECIPE, "v")
        with self.assertRaisesRegex(ValueError, "other views"):
            views.check_cache(got_meta, dict(RECIPE, rotate_deg=20), "v")
        with self.assertRaisesRegex(ValueError, "other views"):
            views.check_cache(got_meta, dict(RECIPE, view_seed=2), "v")
        self.assertLess(os.path.getsize(self.path), 2000)


class RunEpoch(unittest.TestCase):
    def test_steps_learning_rate_scale_and_means(self):
        net = torch.nn.Linear(2, 1)
        ema = train.EMA(net, 0.9, blank=torch.nn.Linear(2, 1))
        opt = torch.optim.SGD([{"params": [net.weight], "scale": 0.5},
                               {"params": [net.bias]}], lr=1.0)
        rec = {"batch": 4, "lr": 0.1, "warmup_steps": 0, "final_lr_fraction": 0.1}
        x = torch.randn(10, 2)
        seen = []

        def batch_loss(idx):
            seen.append(idx)
            loss = net(x[idx]).pow(2).mean()
            return loss, {"loss": 1.0, "other": float(len(idx))}
        step, means, seconds = train.run_epoch(net, opt, ema, rec, 10, torch.Generator(), 3, 10,
                                               batch_loss, 0)
        self.assertEqual(step, 5)  # two batches of four; the last two images wait
        self.assertEqual(len(torch.cat(seen).unique()), 8)
        self.assertEqual(means, {"loss": 1.0, "other": 4.0})
        lr = train.lr_at(4, 10, rec)
        self.assertAlmostEqual(opt.param_groups[0]["lr"], 0.5 * lr)
        self.assertAlmostEqual(opt.param_groups[1]["lr"], lr)
        self.assertFalse(torch.equal(ema.model.weight, net.weight))


class Begin(unittest.TestCase):
    def test_from_the_start_or_from_last(self):
        net = torch.nn.Linear(2, 1)
        ema = train.EMA(net, 0.9, blank=torch.nn.Linear(2, 1))
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        gen = torch.Generator().manual_seed(4)
        rec = {"batch": 4, "epochs": 3}
        with tempfile.TemporaryDirectory() as run:
            self.assertEqual(train.begin(run, rec, 10, net, ema, opt, gen), (6, 0, 0, -1.0))
            torch.save({"model": net.state_dict(), "ema": ema.model.state_dict(),
                        "opt": opt.state_dict(), "gen": gen.get_state(),
                        "rng": torch.get_rng_state(), "epoch": 2, "step": 4, "best": 0.7},
                       os.path.join(run, "last.pt"))
            after = torch.rand(3, generator=gen)
            self.assertEqual(train.begin(run, rec, 10, net, ema, opt, gen), (6, 2, 4, 0.7))
            self.assertTrue(torch.equal(torch.rand(3, generator=gen), after))  # its state back
            self.assertEqual(train.begin(run, rec, 10, net, ema, opt, gen, bench=5), (6, 0, 0, -1.0))


class RegionTerms(unittest.TestCase):
    def test_region_rectangles_are_region_evals(self):
        sys.path.insert(0, os.path.join(HERE, "..", "eval"))
        import region_eval
        self.assertEqual(train.region_inputs(SMALL), region_eval.region_boxes(SMALL))
        boxes = train.region_inputs(SMALL)
        x = torch.randn(3, 1, 48, 48)
        g = train.grey_regions(x, boxes, torch.tensor([4, -1, 8]))
        want = region_eval.greyed(x[0, 0].numpy(), boxes[4], 0.0)
        np.testing.assert_array_equal(g[0, 0].numpy(), want)
        self.assertTrue(torch.equal(g[1], x[1]))
        np.testing.assert_array_equal(g[2, 0].numpy(), region_eval.greyed(x[2, 0].numpy(), boxes[8], 0.0))

    def test_occlusion_drops(self):
        boxes = [(0, 0, 4, 4), (4, 4, 8, 8)]

        def net(x):  # class 0 lives in the top-left corner, class 1 elsewhere
            a = x[:, 0, :4, :4].mean((1, 2))
            return (torch.stack([a, 0.5 * torch.ones_like(a)], 1),)
        x = torch.full((2, 1, 8, 8), 2.0)
        x[1, :, :4, :4] = -2.0
        d = train.occlusion_drops(net, x, boxes)
        p = torch.softmax(torch.tensor([2.0, 0.5]), 0)
        q = torch.softmax(torch.tensor([0.0, 0.5]), 0)
        # face 0 predicts class 0, which greying region 0 hurts; face 1 predicts class 1,
        # which greying region 0 (-2 -> 0) hurts too; region 1 never matters
        torch.testing.assert_close(d, torch.tensor([[p[0] - q[0], 0.0],
                                                    [torch.softmax(torch.tensor([-2.0, 0.5]), 0)[1] - q[1], 0.0]]))

    def test_attention_drop_loss_ranks_as_the_drops(self):
        scores = torch.zeros(1, 3, requires_grad=True)
        loss = train.attention_drop_loss(torch.softmax(scores, 1), torch.tensor([[0.3, 0.0, 0.1]]), 0.5)
        loss.backward()
        g = scores.grad[0]
        self.assertLess(g[0], g[2])  # descent raises the most damaging region most
        self.assertLess(g[2], g[1])

    def test_region_dropout_and_entropy_floor(self):
        w = torch.tensor([[0.5, 0.25, 0.25], [1 / 3, 1 / 3, 1 / 3]])
        torch.testing.assert_close(train.region_dropout_loss(w, torch.tensor([0, -1])),
                                   torch.tensor(-np.log(0.5), dtype=torch.float32))
        self.assertEqual(float(train.region_dropout_loss(w, torch.tensor([-1, -1]))), 0.0)
        self.assertEqual(float(train.entropy_floor_loss(w[1:], 1.0)), 0.0)  # ln 3 > 1
        collapsed = torch.tensor([[0.98, 0.01, 0.01]])
        self.assertGreater(float(train.entropy_floor_loss(collapsed, 1.0)), 0.8)


class StudentLoss(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)
        self.model = LNLNet(SMALL)
        self.model.dropout.p = 0.0
        self.ema = copy.deepcopy(self.model).eval()
        self.x = torch.randn(6, 1, 48, 48)
        self.y = torch.softmax(torch.randn(6, 8), 1)
        self.cw = torch.ones(8)
        self.boxes = train.region_inputs(SMALL)

    def grads(self, rec, soft=None, which=None, dw=0.0, T=1.0):
        self.model.zero_grad()
        torch.manual_seed(1)
        loss, logged = train.student_loss(self.model, self.ema, self.x, self.y, soft, which,
                                          self.cw, rec, self.boxes, dw, T)
        loss.backward()
        return loss, logged, torch.cat([p.grad.flatten() for p in self.model.parameters()
                                        if p.grad is not None])

    def test_off_by_default_is_the_shipped_loss(self):
        loss, logged, g = self.grads(RECIPE)
        torch.manual_seed(1)
        logits, _, region_logits = self.model(self.x)
        want = (train.soft_ce(logits, self.y).mean()
                + RECIPE["region_loss_weight"] * train.soft_ce(region_logits, self.y.unsqueeze(1)).mean())
        torch.testing.assert_close(loss, want)
        self.assertEqual(set(logged), {"loss", "region_loss"})
        # the new fields' own values do nothing while their weight is 0
        rec = dict(RECIPE, region_drop_weight=0, attention_drop_weight=0, entropy_weight=0,
                   entropy_floor=5.0, attention_drop_faces=4)
        loss0, _, g0 = self.grads(rec, which=torch.tensor([0, 1, 2, -1, -1, 3]))
        self.assertTrue(torch.equal(loss0, loss))
        self.assertTrue(torch.equal(g0, g))

    def test_each_term_changes_the_gradients(self):
        _, _, g = self.grads(RECIPE)
        soft = torch.softmax(torch.randn(6, 8), 1)
        cases = {"distill_loss": ({}, {"soft": soft, "dw": 0.5, "T": 2.0}),
                 "region_drop_loss": ({"region_drop_weight": 1.0},
                                      {"which": torch.tensor([0, 1, 2, -1, -1, 3])}),
                 "attention_drop_loss": ({"attention_drop_weight": 1.0, "attention_drop_faces": 3}, {}),
                 "entropy_loss": ({"entropy_weight": 1.0, "entropy_floor": 3.0}, {})}
        for name, (fields, kw) in cases.items():
            with self.subTest(name):
                loss, logged, gt = self.grads(dict(RECIPE, **fields), **kw)
                self.assertIn(name, logged)
                self.assertGreater(logged[name], 0)
                self.assertGreater(float((gt - g).abs().max()), 1e-6)

    def test_distill_weight_blends_hard_and_soft(self):
        soft = torch.softmax(torch.randn(6, 8), 1)
        loss, logged, _ = self.grads(RECIPE, soft=soft, dw=0.25, T=3.0)
        self.assertAlmostEqual(logged["loss"], 0.75 * logged["hard_loss"] + 0.25 * logged["distill_loss"],
                               places=5)
        logits = self.model(self.x)[0]
        kd = (train.soft_ce(logits / 3, soft) * 9).mean()
        self.assertAlmostEqual(logged["distill_loss"], float(kd), places=4)


class TeacherTargetsOff(unittest.TestCase):
    def test_no_teacher_without_the_fields(self):
        t = train.TeacherTargets(RECIPE, [], None, None, SMALL)
        self.assertFalse(t.active())
        x = smooth_faces(4, 48, 1)
        xb, soft = t.augment(x, torch.arange(4), RECIPE, torch.Generator().manual_seed(2), None)
        self.assertIsNone(soft)
        self.assertTrue(torch.equal(xb, train.augment(x, RECIPE, torch.Generator().manual_seed(2))))

    def test_views_from_the_cache(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "v.npz")
            keys = [("fer_train", "a.png"), ("raf_train", "b.jpg")]
            logits = np.zeros((2, 3, 8), np.float16)
            logits[1, 2, 5] = 4.0
            rec = dict(RECIPE, distill_views=path, distill_T=2.0)
            views.write_cache(path, [k[0] for k in keys], [k[1] for k in keys], logits,
                              {"seed": rec["seed"], "view": views.view_recipe(rec)})
            t = train.TeacherTargets(rec, keys[::-1], None, None, SMALL)
            self.assertTrue(t.active())
            x = smooth_faces(2, 48, 1)
            xb, soft = t.augment(x, torch.tensor([0, 1]), rec, None, torch.tensor([2, 0]))
            # row 0 of the student is raf_train/b.jpg, here shown its view 2
            torch.testing.assert_close(soft[0], torch.softmax(torch.tensor(logits[1, 2]).float() / 2, 0))
            torch.testing.assert_close(soft[1], torch.full((8,), 1 / 8))
            ids = views.image_ids(keys[::-1])
            self.assertTrue(torch.equal(xb, views.seeded_view(x, rec["seed"], ids, np.array([2, 0]), rec)))
            with self.assertRaisesRegex(ValueError, "other views"):
                train.TeacherTargets(dict(rec, shift=0.2), keys, None, None, SMALL)
            with self.assertRaisesRegex(ValueError, "exclude"):
                train.TeacherTargets(dict(rec, distill=0.5, teacher="t.npz"), keys, None, None, SMALL)


if __name__ == "__main__":
    unittest.main()
