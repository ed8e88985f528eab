#!/usr/bin/python3
"""Calibration: the plain CNN that issue 3 quotes as its reference (1.2 M parameters,
117 M multiply-adds, 48x48 grey), trained by our own data pipeline and recipe.

It answers one question: does LNLNet beat a plain network of the same cost on the same
data, augmentation and schedule? The network: four levels of two 3x3 conv + BN + ReLU of
widths 32, 64, 128, 256 with 2x2 max-pooling between them, global average pooling, dropout,
one linear layer to the eight classes (1,174,696 parameters, 117 M multiply-adds).
A development tool only: nothing is exported from it.

    /usr/bin/python3 tools/train/baseline.py --run runs/base-plain

Defaults follow the issue's reference: FER+ alone, dataset crops, 12 epochs; `--set` takes
recipe fields as JSON, e.g. --set '{"use_rafdb": true, "epochs": 20}'. Each epoch appends
one JSON line (seconds, FER+ and RAF-DB validation accuracy of the EMA weights) to
RUN/log.jsonl.
"""
import argparse
import json
import os
import sys

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from data import load_splits  # noqa: E402
from model import ConvBN  # noqa: E402
from train import (EMA, aligned_crops, augment, evaluate, normalise, run_epoch,  # noqa: E402
                   soft_ce, training_set)


class PlainCNN(nn.Module):
    def __init__(self, widths=(32, 64, 128, 256), ncls=8, nreg=9, dropout=0.3):
        super().__init__()
        layers, cin = [], 1
        for i, w in enumerate(widths):
            if i:
                layers.append(nn.MaxPool2d(2))
            layers += [ConvBN(cin, w), ConvBN(w, w)]
            cin = w
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(cin, ncls)
        self.nreg = nreg

    def forward(self, x):
        logits = self.fc(self.dropout(self.features(x).mean((2, 3))))
        # train.evaluate expects LNLNet's outputs: uniform region weights, no region heads
        return logits, torch.full((len(x), self.nreg), 1.0 / self.nreg), None


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--run", default="runs/base-plain")
    p.add_argument("--data", default=os.path.join(HERE, "..", "..", "..", "shared", "data"))
    p.add_argument("--cache", default="runs/cache")
    p.add_argument("--set", default="{}", help="recipe fields to override, as JSON")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    with open(os.path.join(HERE, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(HERE, "recipe.json")) as f:
        rec = json.load(f)
    rec.update({"crop": "dataset", "use_rafdb": False, "epochs": 12})
    rec.update(json.loads(args.set))
    os.makedirs(args.run, exist_ok=True)
    torch.manual_seed(rec["seed"])
    gen = torch.Generator().manual_seed(rec["seed"])

    splits = load_splits(args.data, cfg, args.cache, rec.get("raf_crop", "native"),
                         aligned_crops(args.data, args.cache, rec))
    train_x, train_y, cw = training_set(splits, rec)

    model = PlainCNN(dropout=rec["dropout"]).to(memory_format=torch.channels_last)
    ema = EMA(model, rec["ema_decay"], PlainCNN())
    print("parameters", sum(q.numel() for q in model.parameters()), flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=rec["lr"], weight_decay=rec["weight_decay"])
    steps_per_epoch = len(train_x) // rec["batch"]
    total, step = steps_per_epoch * rec["epochs"], 0

    def batch_loss(idx):
        xb = normalise(augment(train_x[idx], rec, gen), cfg)
        yb = train_y[idx]
        logits = model(xb.contiguous(memory_format=torch.channels_last))[0]
        loss = (soft_ce(logits, yb) * (yb * cw).sum(1)).mean()
        return loss, {"loss": loss.item()}

    for epoch in range(rec["epochs"]):
        step, _, seconds = run_epoch(model, opt, ema, rec, len(train_x), gen, step, total,
                                     batch_loss, epoch)
        fer = evaluate(ema.model, *splits["fer_valid"][:2], cfg)
        raf = evaluate(ema.model, *splits["raf_valid"][:2], cfg, seven=True)
        entry = {"epoch": epoch + 1, "seconds": round(seconds, 1),
                 "fer_valid": fer["acc"], "raf_valid": raf["acc"]}
        print(entry, flush=True)
        with open(os.path.join(args.run, "log.jsonl"), "a") as f:
            f.write(json.dumps(entry) + "\n")


if __name__ == "__main__":
    main()
