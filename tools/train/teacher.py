#!/usr/bin/python3
"""Soft targets from an ensemble of trained runs, for the recipe's `teacher` (distillation).

Each run's best checkpoint (RUN/best.pt) predicts every training and validation image,
each cut the way that run was trained (its own recipe's crop), without augmentation; the
expression probabilities are averaged over the runs and written, per image, to OUT (.npz:
`split`, `name`, `probs`), with OUT.json saying which runs went in and what the ensemble
measured on the two validation sets.

    /usr/bin/python3 tools/train/teacher.py runs/s9 runs/s8 runs/main runs/s6 \\
        --out runs/cache/teacher.npz
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from data import load_splits  # noqa: E402
from model import LNLNet  # noqa: E402
from train import aligned_crops, normalise  # noqa: E402

SPLITS = ("fer_train", "fer_valid", "raf_train", "raf_valid")


@torch.no_grad()
def predict(model, x, cfg, batch=512):
    out = []
    for i in range(0, len(x), batch):
        logits, _, _ = model(normalise(torch.from_numpy(x[i:i + batch]), cfg))
        out.append(torch.softmax(logits, -1).numpy())
    return np.concatenate(out)


def accuracy(probs, y, classes, seven):
    p = probs.copy()
    if seven:  # RAF-DB has no contempt
        p[:, classes.index("contempt")] = -1
    return float((p.argmax(1) == y.argmax(1)).mean())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("runs", nargs="+", help="run folders with a best.pt")
    p.add_argument("--out", required=True)
    p.add_argument("--data", default=os.path.join(HERE, "..", "..", "..", "shared", "data"))
    p.add_argument("--cache", default="runs/cache")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    total, count, labels, classes, members = {}, {}, {}, None, []
    for run in args.runs:
        ck = torch.load(os.path.join(run, "best.pt"))
        cfg, rec = ck["cfg"], ck["recipe"]
        if classes is not None and cfg["classes"] != classes:
            raise SystemExit(f"{run}: other classes than the first run")
        classes = cfg["classes"]
        splits = load_splits(args.data, cfg, args.cache, rec.get("raf_crop", "native"),
                             aligned_crops(args.data, args.cache, rec))
        model = LNLNet(cfg)
        model.load_state_dict(ck["ema"])
        model.eval()
        member = {"run": os.path.basename(os.path.normpath(run)), "epoch": ck["epoch"],
                  "recipe": rec}
        for s in SPLITS:
            x, y, names = splits[s]
            probs = predict(model, x, cfg)
            for name, pr, yy in zip(names, probs, y):
                key = (s, str(name))
                total[key] = total.get(key, 0) + pr
                count[key] = count.get(key, 0) + 1
                labels[key] = yy
            if s.endswith("valid"):
                member[s] = accuracy(probs, y, classes, s.startswith("raf"))
        members.append(member)
        print(member["run"], {s: round(member[s], 4) for s in ("fer_valid", "raf_valid")},
              flush=True)

    keys = sorted(total)
    probs = np.stack([total[k] / count[k] for k in keys]).astype(np.float32)
    summary = {"runs": members}
    for s in ("fer_valid", "raf_valid"):
        idx = [i for i, k in enumerate(keys) if k[0] == s]
        y = np.stack([labels[keys[i]] for i in idx])
        summary[s] = accuracy(probs[idx], y, classes, s.startswith("raf"))
    print("ensemble", {s: round(summary[s], 4) for s in ("fer_valid", "raf_valid")})
    np.savez_compressed(args.out, split=np.array([k[0] for k in keys]),
                        name=np.array([k[1] for k in keys]), probs=probs)
    with open(args.out + ".json", "w") as f:
        json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
