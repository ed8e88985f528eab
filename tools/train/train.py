#!/usr/bin/python3
"""Train LNLNet on FER+ train + RAF-DB train (our train part).

    /usr/bin/python3 tools/train/train.py --data ../shared/data --run runs/main

Resumable: rerunning the same command continues from RUN/last.pt. Each epoch appends one
JSON line to RUN/log.jsonl (losses, validation accuracies, mean region weights) and keeps
RUN/best.pt (best mean of the two validation accuracies, EMA weights).
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
from views import SeededUniforms, draw_view, generator_uniforms, render  # noqa: E402

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


def training_set(splits, rec):
    """Training images, their targets (RAF-DB labels smoothed, blended with the teacher when
    the recipe distils) and the class weights, from the recipe."""
    raf_y = splits["raf_train"][1]
    raf_y = raf_y * (1 - rec["raf_label_smoothing"]) + rec["raf_label_smoothing"] / raf_y.shape[1]
    parts = [("fer_train", splits["fer_train"][1])]
    if rec.get("use_rafdb", True):  # false: FER+ alone (RAF-DB still measured)
        parts.append(("raf_train", raf_y))
    train_x = torch.from_numpy(np.concatenate([splits[s][0] for s, _ in parts]))
    # class weights from the labels alone, with or without a teacher
    cw = class_weights(np.concatenate([y for _, y in parts]), rec["class_weight_power"])
    train_y = torch.from_numpy(np.concatenate(
        [distilled(y, s, splits[s][2], rec, os.path.join(HERE, "..", "..")) for s, y in parts])
        .astype(np.float32))
    return train_x, train_y, cw


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
    steps_per_epoch = len(train_x) // rec["batch"]
    total = steps_per_epoch * rec["epochs"]
    start_epoch, step, best = 0, 0, -1.0

    last = os.path.join(args.run, "last.pt")
    if os.path.exists(last) and not args.bench:
        start_epoch, step, best = resume(last, model, ema, opt, gen)

    for epoch in range(start_epoch, rec["epochs"]):
        model.train()
        te = time.time()
        perm = torch.randperm(len(train_x), generator=gen)
        tot = {"loss": 0.0, "region_loss": 0.0}
        for i in range(steps_per_epoch):
            idx = perm[i * rec["batch"]:(i + 1) * rec["batch"]]
            xb, yb = mixup(augment(train_x[idx], rec, gen), train_y[idx], rec, gen)
            xb = normalise(xb, cfg).contiguous(memory_format=torch.channels_last)
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total, rec)
            logits, weights, region_logits = model(xb)
            sw = (yb * cw).sum(1)
            loss = (soft_ce(logits, yb) * sw).mean()
            rloss = (soft_ce(region_logits, yb.unsqueeze(1)).mean(1) * sw).mean()
            opt.zero_grad(set_to_none=True)
            (loss + rec["region_loss_weight"] * rloss).backward()
            opt.step()
            ema.update(model, step)
            step += 1
            tot["loss"] += loss.item()
            tot["region_loss"] += rloss.item()
            if args.bench and i + 1 == args.bench:
                dt = time.time() - te
                print(f"{args.bench * rec['batch'] / dt:.1f} images/s", flush=True)
                return
            if i % 50 == 0:
                print(f"epoch {epoch + 1} step {i}/{steps_per_epoch} loss {loss.item():.3f} "
                      f"{(i + 1) * rec['batch'] / (time.time() - te):.0f} img/s", flush=True)
        fer = evaluate(ema.model, *splits["fer_valid"][:2], cfg)
        raf = evaluate(ema.model, *splits["raf_valid"][:2], cfg, seven=True)
        score = (fer["acc"] + raf["acc"]) / 2
        entry = {"epoch": epoch + 1, "seconds": round(time.time() - te, 1),
                 "loss": tot["loss"] / steps_per_epoch,
                 "region_loss": tot["region_loss"] / steps_per_epoch,
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
                    last)


if __name__ == "__main__":
    main()
