#!/usr/bin/python3
"""Train LNLNet on FER+ train + RAF-DB train (our train part).

    /usr/bin/python3 tools/train/train.py --data ../shared/data --run runs/main

Resumable: rerunning the same command continues from RUN/last.pt. Each epoch appends one
JSON line to RUN/log.jsonl (losses, validation accuracies, mean region weights) and keeps
RUN/best.pt (best mean of the two validation accuracies, EMA weights).

With --recipe tools/train/recipe_distill.json: consistent distillation from the teacher's
cached views (tools/train/teacher_views.py) and the region terms (README, Training).
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import (aligned_geometry, distilled, image_keys, load_splits,  # noqa: E402
                  template_points)
from model import LNLNet, count_macs  # noqa: E402
from views import (SeededUniforms, cache_rows, check_cache, draw_view,  # noqa: E402
                   generator_uniforms, read_cache, render)

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--config", default=os.path.join(HERE, "config.json"))
    p.add_argument("--recipe", default=os.path.join(HERE, "recipe.json"))
    p.add_argument("--data", default=os.path.join(HERE, "..", "..", "..", "shared", "data"))
    p.add_argument("--run", default="runs/main", help="folder for checkpoints and the log")
    p.add_argument("--cache", default="runs/cache", help="folder for the decoded datasets")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, help="override the recipe's epoch count")
    p.add_argument("--bench", type=int, default=0, help="time N training steps and exit")
    return p.parse_args()


def augment(x, rec, gen):
    """Batched face augmentation on [0,1] images (views.draw_view, views.render), drawn from
    the trainer's generator; `gen` may also be a views.SeededUniforms, for seeded views."""
    u = gen if isinstance(gen, SeededUniforms) else generator_uniforms(len(x), gen)
    return render(x, draw_view(len(x), rec, u))


def mixup(x, y, rec, gen):
    """With the recipe's mixup alpha > 0 (off when absent): each batch blended with a
    shuffled copy of itself, images and soft targets alike, by one weight drawn from
    Beta(alpha, alpha) (kept at least 0.5, so that each image stays mostly itself)."""
    alpha = rec.get("mixup", 0)
    if alpha <= 0:
        return x, y
    # torch's Beta takes no generator: the draw is seeded from the trainer's generator, whose
    # state the checkpoints keep, so a resumed run draws the same weights
    seed = int(torch.randint(0, 2 ** 31 - 1, (1,), generator=gen))
    lam = float(np.random.default_rng(seed).beta(alpha, alpha))
    lam = max(lam, 1 - lam)
    perm = torch.randperm(len(x), generator=gen)
    return lam * x + (1 - lam) * x[perm], lam * y + (1 - lam) * y[perm]


def normalise(x, cfg):
    return (x - cfg["mean"]) / cfg["std"]


def soft_ce(logits, target):
    return -(target * F.log_softmax(logits, -1)).sum(-1)


@torch.no_grad()
def evaluate(model, x, y, cfg, seven=False, batch=512):
    """Accuracy (arg-max of the target = FER+ majority / RAF label), per-class accuracy,
    confusion matrix and mean region weights."""
    model.eval()
    ncls = len(cfg["classes"])
    conf = np.zeros((ncls, ncls), np.int64)
    wsum = torch.zeros(len(cfg["regions"]))
    for i in range(0, len(x), batch):
        xb = normalise(torch.from_numpy(x[i:i + batch]), cfg)
        logits, weights, _ = model(xb)
        if seven:  # RAF-DB has no contempt: arg-max over the seven it has
            logits[:, cfg["classes"].index("contempt")] = -1e9
        pred = logits.argmax(1).numpy()
        true = y[i:i + batch].argmax(1)
        np.add.at(conf, (true, pred), 1)
        wsum += weights.sum(0)
    acc = float(np.trace(conf) / conf.sum())
    present = conf.sum(1) > 0
    per_class = np.where(present, np.diag(conf) / np.maximum(conf.sum(1), 1), np.nan)
    return {"acc": acc, "mean_class_acc": float(np.nanmean(per_class)),
            "per_class": [None if np.isnan(v) else float(v) for v in per_class],
            "confusion": conf.tolist(), "region_weights": (wsum / len(x)).tolist()}


class EMA:
    """Exponential moving average of a model's weights, kept in `blank` (a fresh instance of
    the model's network; by default an LNLNet of the model's configuration)."""

    def __init__(self, model, decay, blank=None):
        self.decay = decay
        self.model = blank if blank is not None else LNLNet(model.cfg)
        self.model.load_state_dict(model.state_dict())
        self.model.eval()

    @torch.no_grad()
    def update(self, model, step):
        # warm-up: an average over the first few hundred steps would still be mostly the
        # random initialisation, so the decay grows from 0.1 towards its final value
        decay = min(self.decay, (1 + step) / (10 + step))
        for e, m in zip(self.model.state_dict().values(), model.state_dict().values()):
            if e.dtype.is_floating_point:
                e.mul_(decay).add_(m, alpha=1 - decay)
            else:
                e.copy_(m)


def lr_at(step, total, rec):
    warm = rec["warmup_steps"]
    if step < warm:
        return rec["lr"] * (step + 1) / warm
    t = (step - warm) / max(1, total - warm)
    return rec["lr"] * (rec["final_lr_fraction"] + (1 - rec["final_lr_fraction"]) * 0.5 * (1 + math.cos(math.pi * t)))


def class_weights(y, power):
    mass = y.sum(0) + 1.0
    w = (mass.mean() / mass) ** power
    return torch.from_numpy((w / (w * mass / mass.sum()).sum()).astype(np.float32))


def aligned_crops(data, cache, rec):
    """For the recipe's crop "aligned": {image key: similarity} from the detector's landmarks
    (measured by tools/train/landmarks.py into the cache folder first when missing)."""
    crop = rec.get("crop", "dataset")
    if crop not in ("dataset", "aligned"):
        raise ValueError(f"crop must be dataset or aligned, not {crop!r}")
    if crop == "dataset":
        return None
    path = os.path.join(cache, "landmarks.json")
    known = {}
    if os.path.exists(path):
        with open(path) as f:
            known = json.load(f)
    if any(k not in known for k in image_keys(data)):
        subprocess.run([sys.executable, os.path.join(HERE, "landmarks.py"), data, "--out", path],
                       check=True)
        with open(path) as f:
            known = json.load(f)
    with open(os.path.join(HERE, "..", "..", "weights", "align-template.json")) as f:
        template = template_points(json.load(f), rec)
    return aligned_geometry(known, template)


def training_parts(rec):
    """The splits the student trains on, in the order training_set concatenates them."""
    return ["fer_train"] + (["raf_train"] if rec.get("use_rafdb", True) else [])


def training_set(splits, rec):
    """Training images, their targets (RAF-DB labels smoothed, blended with the teacher when
    the recipe distils) and the class weights, from the recipe."""
    raf_y = splits["raf_train"][1]
    raf_y = raf_y * (1 - rec["raf_label_smoothing"]) + rec["raf_label_smoothing"] / raf_y.shape[1]
    # use_rafdb false: FER+ alone (RAF-DB still measured)
    parts = [(s, splits[s][1] if s == "fer_train" else raf_y) for s in training_parts(rec)]
    train_x = torch.from_numpy(np.concatenate([splits[s][0] for s, _ in parts]))
    # class weights from the labels alone, with or without a teacher
    cw = class_weights(np.concatenate([y for _, y in parts]), rec["class_weight_power"])
    train_y = torch.from_numpy(np.concatenate(
        [distilled(y, s, splits[s][2], rec, os.path.join(HERE, "..", "..")) for s, y in parts])
        .astype(np.float32))
    return train_x, train_y, cw


def training_keys(splits, rec):
    """(split, name) of each training image, in training_set's order."""
    return [(s, str(n)) for s in training_parts(rec) for n in splits[s][2]]


def run_epoch(model, opt, ema, rec, n, gen, step, total, batch_loss, epoch, bench=0):
    """One epoch of optimiser steps over n training images in an order drawn from gen: for
    each batch of rec["batch"] indices, batch_loss(idx) returns (the loss to minimise,
    {name: number} averaged over the epoch; "loss" is printed); the learning rate follows
    lr_at, times each parameter group's "scale" (1 when absent); the EMA follows every step.
    Returns (step, the averages, seconds); with bench > 0 prints the images/s of that many
    steps instead and returns None."""
    model.train()
    te = time.time()
    steps = n // rec["batch"]
    perm = torch.randperm(n, generator=gen)
    sums = {}
    for i in range(steps):
        loss, logged = batch_loss(perm[i * rec["batch"]:(i + 1) * rec["batch"]])
        for g in opt.param_groups:
            g["lr"] = lr_at(step, total, rec) * g.get("scale", 1.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        ema.update(model, step)
        step += 1
        for k, v in logged.items():
            sums[k] = sums.get(k, 0.0) + v
        if bench and i + 1 == bench:
            print(f"{bench * rec['batch'] / (time.time() - te):.1f} images/s", flush=True)
            return None
        if i % 50 == 0:
            print(f"epoch {epoch + 1} step {i}/{steps} loss {logged['loss']:.3f} "
                  f"{(i + 1) * rec['batch'] / (time.time() - te):.0f} img/s", flush=True)
    return step, {k: v / steps for k, v in sums.items()}, time.time() - te


def region_inputs(cfg):
    """Input-pixel rectangles (x0, y0, x1, y1) of the regions, as tools/eval/region_eval.py
    greys them (feature-map cells at half the input resolution)."""
    return [(2 * x, 2 * y, 2 * (x + w), 2 * (y + h)) for x, y, w, h in cfg["regions"]]


def grey_regions(x, boxes, which):
    """Normalised inputs x with region which[i] of image i greyed out (0 = the
    normalisation mean, as region_eval fills it); which[i] < 0 leaves image i as it is."""
    _, _, h, w = x.shape
    yy = torch.arange(h).view(1, h, 1)
    xx = torch.arange(w).view(1, 1, w)
    b = torch.tensor(boxes + [(0, 0, 0, 0)])[which.clamp(min=-1)]  # -1: the empty box
    mask = ((xx >= b[:, 0, None, None]) & (xx < b[:, 2, None, None])
            & (yy >= b[:, 1, None, None]) & (yy < b[:, 3, None, None])).unsqueeze(1)
    return x.masked_fill(mask, 0.0)


def region_dropout_loss(weights, which):
    """-log(1 - weight of the greyed region), mean over the images that had one greyed: a
    region that shows nothing should get no weight."""
    hit = which >= 0
    if not hit.any():
        return weights.sum() * 0
    w = weights[hit].gather(1, which[hit].unsqueeze(1)).squeeze(1)
    return -torch.log((1 - w).clamp(min=1e-6)).mean()


def entropy_floor_loss(weights, floor):
    """Mean of max(0, floor - entropy of the weights in nats): against a map collapsed onto
    one region."""
    ent = -(weights * torch.log(weights.clamp(min=1e-12))).sum(1)
    return F.relu(floor - ent).mean()


@torch.no_grad()
def occlusion_drops(net, x, boxes):
    """region_eval's drops for normalised inputs x: how much the probability of the class
    that `net` predicts on the intact face falls when each region is greyed out in turn;
    (n, regions). net is run in eval mode (the EMA weights, which are what gets exported)."""
    n, r = len(x), len(boxes)
    which = torch.arange(-1, r).repeat_interleave(n)  # intact first, then region by region
    probs = torch.softmax(net(grey_regions(x.repeat(r + 1, 1, 1, 1), boxes, which))[0], -1)
    probs = probs.view(r + 1, n, -1)
    pred = probs[0].argmax(1)
    on_pred = probs.gather(2, pred.view(1, n, 1).expand(r + 1, n, 1)).squeeze(2)
    return (on_pred[0:1] - on_pred[1:]).t()


def attention_drop_loss(weights, drops, tau):
    """Cross-entropy of the region weights against softmax(standardised drops / tau): the
    attention learns to rank the regions as greying them out hurts."""
    z = (drops - drops.mean(1, keepdim=True)) / (drops.std(1, keepdim=True) + 0.01)
    return soft_ce(torch.log(weights.clamp(min=1e-8)), torch.softmax(z / tau, -1)).mean()


def teacher_soft(teacher_logits, T):
    return torch.softmax(teacher_logits.float() / T, -1)


def distill_loss(logits, soft, T):
    """Hinton's soft-target term: T^2 x cross-entropy of the student at temperature T
    against the teacher's probabilities at T (teacher_soft), per image."""
    return soft_ce(logits / T, soft) * (T * T)


def save_atomic(obj, path):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def resume(last, model, ema, opt, gen):
    """Restores a run from its last.pt (model, EMA, optimiser, both random states);
    returns (epoch, step, best) to go on from."""
    ck = torch.load(last)
    model.load_state_dict(ck["model"])
    ema.model.load_state_dict(ck["ema"])
    opt.load_state_dict(ck["opt"])
    gen.set_state(ck["gen"])
    torch.set_rng_state(ck["rng"])
    print(f"resumed after epoch {ck['epoch']}", flush=True)
    return ck["epoch"], ck["step"], ck["best"]


def student_loss(model, ema_net, xb, yb, soft, which, cw, rec, boxes, dw=0.0, T=1.0):
    """The student's loss on a batch of normalised views xb: class-weighted soft
    cross-entropy with the targets yb (blended (1 - dw) : dw with distill_loss on the
    teacher's soft targets when there are any), the per-region heads' deep supervision, and
    the recipe's region terms when on (region_drop_weight with the regions greyed out,
    `which`; attention_drop_weight with the drops that ema_net measures; entropy_weight
    with entropy_floor). Returns (the loss, {name: value} for the log)."""
    logits, weights, region_logits = model(xb)
    sw = (yb * cw).sum(1)
    loss = (soft_ce(logits, yb) * sw).mean()
    logged = {}
    if soft is not None:
        kd = distill_loss(logits, soft, T).mean()
        logged.update(hard_loss=loss.item(), distill_loss=kd.item())
        loss = (1 - dw) * loss + dw * kd
    rloss = (soft_ce(region_logits, yb.unsqueeze(1)).mean(1) * sw).mean()
    full = loss + rec["region_loss_weight"] * rloss
    logged.update(loss=loss.item(), region_loss=rloss.item())
    if which is not None and rec.get("region_drop_weight", 0) > 0:
        term = region_dropout_loss(weights, which)
        full = full + rec["region_drop_weight"] * term
        logged["region_drop_loss"] = term.item()
    if rec.get("attention_drop_weight", 0) > 0:
        n = rec.get("attention_drop_faces", 8)
        drops = occlusion_drops(ema_net, xb[:n], boxes)
        term = attention_drop_loss(weights[:n], drops, rec.get("attention_drop_tau", 0.5))
        full = full + rec["attention_drop_weight"] * term
        logged["attention_drop_loss"] = term.item()
    if rec.get("entropy_weight", 0) > 0:
        term = entropy_floor_loss(weights, rec["entropy_floor"])
        full = full + rec["entropy_weight"] * term
        logged["entropy_loss"] = term.item()
    return full, logged


class TeacherTargets:
    """The teacher's soft targets for a batch's view, at the recipe's distill_T: from the
    cache of seeded views (distill_views, tools/train/teacher_views.py; each epoch picks
    one of the K views of each image) or computed online (distill_online: a
    teacher_train.py run folder, whose best.pt sees the batch's view of the colour crops at
    its own size). None of it without either."""

    def __init__(self, rec, splits_keys, data, cache, cfg):
        self.T = rec.get("distill_T", 1.0)
        self.logits = self.online = None
        root = os.path.join(HERE, "..", "..")
        if rec.get("distill_views") and rec.get("distill_online"):
            raise ValueError("distill_views and distill_online exclude each other")
        if (rec.get("distill_views") or rec.get("distill_online")) and rec.get("distill"):
            raise ValueError("distill (fixed predictions blended into the labels) and "
                             "distill_views / distill_online exclude each other")
        if rec.get("distill_views"):
            path = os.path.join(root, rec["distill_views"])
            meta, rows, ids, logits = read_cache(path)
            check_cache(meta, rec, path)
            r = cache_rows(rows, splits_keys, path)
            self.ids, self.logits = ids[r], torch.from_numpy(logits[r])
            self.seed = meta["seed"]
            print(f"teacher views: {path}, {logits.shape[1]} per image", flush=True)
        elif rec.get("distill_online"):
            from teacher_model import Teacher as TeacherNet
            from teacher_train import data_config
            ck = torch.load(os.path.join(root, rec["distill_online"], "best.pt"))
            self.online = TeacherNet(len(cfg["classes"]), 0.0).to(memory_format=torch.channels_last)
            self.online.load_state_dict(ck["ema"])
            self.online.eval()
            colour = load_splits(data, data_config(ck["recipe"]), cache, rec.get("raf_crop", "native"),
                                 aligned_crops(data, cache, rec))
            # the colour crops' de-duplication may keep more images than the grey one's
            keys = [(s, str(n)) for s in training_parts(rec) for n in colour[s][2]]
            where = {k: i for i, k in enumerate(keys)}
            if any(k not in where for k in splits_keys):
                raise ValueError("the teacher's colour crops lack some of the student's images")
            rows = [where[k] for k in splits_keys]
            self.colour = torch.from_numpy(np.concatenate([colour[s][0] for s in training_parts(rec)])[rows])

    def active(self):
        return self.views_on() or self.online is not None

    def views_on(self):
        return self.logits is not None

    def augment(self, x, idx, rec, gen, epoch_views):
        """The batch's view of the student's images x and the teacher's soft targets on it."""
        if self.views_on():
            k = epoch_views[idx]
            xb = augment(x, rec, SeededUniforms(self.seed, self.ids[idx.numpy()], k.numpy()))
            return xb, teacher_soft(self.logits[idx, k], self.T)
        if self.online is None:
            return augment(x, rec, gen), None
        p = draw_view(len(x), rec, generator_uniforms(len(x), gen))
        with torch.no_grad():
            xt = render(self.colour[idx].float().div_(255), p)
            t = self.online(xt.contiguous(memory_format=torch.channels_last))
        return render(x, p), teacher_soft(t, self.T)


def begin(run, rec, n, model, ema, opt, gen, bench=0):
    """A run's total step count and the (epoch, step, best) to start from: its last.pt's
    when it has one (except for a --bench), else the beginning."""
    total = n // rec["batch"] * rec["epochs"]
    last = os.path.join(run, "last.pt")
    if os.path.exists(last) and not bench:
        return (total,) + resume(last, model, ema, opt, gen)
    return total, 0, 0, -1.0


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    with open(args.config) as f:
        cfg = json.load(f)
    with open(args.recipe) as f:
        rec = json.load(f)
    if args.epochs:
        rec["epochs"] = args.epochs
    os.makedirs(args.run, exist_ok=True)
    torch.manual_seed(rec["seed"])
    gen = torch.Generator().manual_seed(rec["seed"])

    t0 = time.time()
    splits = load_splits(args.data, cfg, args.cache, rec.get("raf_crop", "native"),
                         aligned_crops(args.data, args.cache, rec))
    print({k: len(v[0]) for k, v in splits.items()}, f"loaded in {time.time() - t0:.0f}s", flush=True)
    train_x, train_y, cw = training_set(splits, rec)
    teacher = TeacherTargets(rec, training_keys(splits, rec), args.data, args.cache, cfg)
    dw = rec.get("distill_weight", 0.5) if teacher.active() else 0.0
    boxes = region_inputs(cfg)

    model = LNLNet(cfg)
    model.dropout.p = rec.get("dropout", 0.3)
    nparams = sum(p.numel() for n, p in model.state_dict().items()
                  if "num_batches" not in n and "local.heads" not in n)
    macs = count_macs(model, cfg["input_size"], cfg["input_channels"])
    print(f"params {nparams}, multiply-adds per face {macs}", flush=True)
    # channels-last convolutions train about 10 % faster on CPU (measured with torch 1.13)
    model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=rec["lr"], weight_decay=rec["weight_decay"])
    ema = EMA(model, rec["ema_decay"])
    total, start_epoch, step, best = begin(args.run, rec, len(train_x), model, ema, opt, gen,
                                           args.bench)

    def batch_loss(idx):
        xb, soft = teacher.augment(train_x[idx], idx, rec, gen, epoch_views)
        yb = train_y[idx]
        if soft is not None:  # mixup blends the teacher's targets with the labels
            xb, both = mixup(xb, torch.cat([yb, soft], 1), rec, gen)
            yb, soft = both[:, :yb.shape[1]], both[:, yb.shape[1]:]
        else:
            xb, yb = mixup(xb, yb, rec, gen)
        xb = normalise(xb, cfg)
        which = None
        if rec.get("region_drop_p", 0) > 0:  # one region greyed out, as region_eval does
            pick = torch.rand(len(xb), generator=gen) < rec["region_drop_p"]
            which = torch.randint(len(boxes), (len(xb),), generator=gen).masked_fill(~pick, -1)
            xb = grey_regions(xb, boxes, which)
        return student_loss(model, ema.model, xb.contiguous(memory_format=torch.channels_last),
                            yb, soft, which, cw, rec, boxes, dw, teacher.T)

    epoch_views = None
    for epoch in range(start_epoch, rec["epochs"]):
        if teacher.views_on():  # which of its K views each image shows this epoch
            epoch_views = torch.randint(teacher.logits.shape[1], (len(train_x),), generator=gen)
        done = run_epoch(model, opt, ema, rec, len(train_x), gen, step, total, batch_loss, epoch,
                         args.bench)
        if done is None:
            return
        step, means, seconds = done
        fer = evaluate(ema.model, *splits["fer_valid"][:2], cfg)
        raf = evaluate(ema.model, *splits["raf_valid"][:2], cfg, seven=True)
        score = (fer["acc"] + raf["acc"]) / 2
        entry = {"epoch": epoch + 1, "seconds": round(seconds, 1), **means,
                 "lr": lr_at(step, total, rec), "fer_valid": fer, "raf_valid": raf}
        with open(os.path.join(args.run, "log.jsonl"), "a") as f:
            f.write(json.dumps(entry) + "\n")
        print(f"epoch {epoch + 1}: FER+ valid {fer['acc']:.4f}  RAF valid {raf['acc']:.4f}  "
              f"({entry['seconds']:.0f}s)", flush=True)
        if score > best:
            best = score
            save_atomic({"cfg": cfg, "recipe": rec, "epoch": epoch + 1, "ema": ema.model.state_dict(),
                         "fer_valid": fer, "raf_valid": raf}, os.path.join(args.run, "best.pt"))
        save_atomic({"model": model.state_dict(), "ema": ema.model.state_dict(),
                     "opt": opt.state_dict(), "gen": gen.get_state(), "rng": torch.get_rng_state(),
                     "epoch": epoch + 1, "step": step, "best": best, "cfg": cfg, "recipe": rec},
                    os.path.join(args.run, "last.pt"))


if __name__ == "__main__":
    main()
