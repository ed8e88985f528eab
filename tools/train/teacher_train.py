#!/usr/bin/python3
"""Fine-tune the face-identity teacher (faceres' MobileNet, converted by
tools/train/convert_teacher.py) for expressions: backbone + a new 8-class head, on FER+
train (vote distributions) and the RAF-DB training part (the trainer's split), in colour
where the data has it, at the teacher's own resolution (teacher_recipe.json: input_size).

    nice -n 19 /usr/bin/python3 tools/train/teacher_train.py \\
        --init /var/cache/lnlfer-runs/teacher-faceres/faceres.pt \\
        --run /var/cache/lnlfer-runs/teacher-faceres

Resumable: the same command continues from RUN/last.pt (written after every epoch, with
the optimiser and random-generator states). Each epoch appends one JSON line to
RUN/log.jsonl: loss, seconds, images/s, and for the EMA weights FER+ valid under both
yardsticks ((a) arg-max of the votes, the trainer's de-duplicated set; (b) the FERPlus
reference protocol, data.ferplus_reference_label, on that set) and the RAF-DB validation
part (arg-max over its seven classes): accuracy, mean per-class accuracy, confusion matrix.
RUN/best.pt keeps the EMA weights of the best mean of FER+ (a) and RAF-DB accuracy.

--predict OUT: instead of training, RUN/best.pt predicts every image of the four splits
(without augmentation) into OUT, in tools/train/teacher.py's format (.npz with split, name,
probs; OUT.json with the validation accuracies), for the LNL trainer's recipe `teacher`
(distillation). Its de-duplication is of the colour images, so it keeps every name that
the grey trainer keeps.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from data import ferplus_reference_label, ferplus_votes, load_splits  # noqa: E402
from teacher_model import Teacher  # noqa: E402
from train import (EMA, augment, begin, class_weights, lr_at, run_epoch,  # noqa: E402
                   save_atomic, soft_ce)

CLASSES = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt"]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--init", required=True, help="converted backbone (convert_teacher.py --out)")
    p.add_argument("--run", required=True, help="folder for checkpoints and the log")
    p.add_argument("--recipe", default=os.path.join(HERE, "teacher_recipe.json"))
    p.add_argument("--data", default=os.path.join(HERE, "..", "..", "..", "shared", "data"))
    p.add_argument("--cache", default="/var/cache/lnlfer-runs/cache",
                   help="folder for the decoded datasets")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bench", type=int, default=0, help="time N training steps and exit")
    p.add_argument("--predict", metavar="OUT", help="write RUN/best.pt's predictions to OUT and exit")
    return p.parse_args()


def data_config(rec):
    return {"classes": CLASSES, "input_size": rec["input_size"], "input_channels": 3,
            "mean": 0.0, "std": 1.0, "store": "uint8"}


def confusion_metrics(conf):
    present = conf.sum(1) > 0
    per_class = np.where(present, np.diag(conf) / np.maximum(conf.sum(1), 1), np.nan)
    return {"images": int(conf.sum()), "acc": float(np.trace(conf) / max(conf.sum(), 1)),
            "mean_class_acc": float(np.nanmean(per_class)),
            "per_class": [None if np.isnan(v) else float(v) for v in per_class],
            "confusion": conf.tolist()}


@torch.no_grad()
def predict(model, x, batch=256):
    model.eval()
    out = []
    for i in range(0, len(x), batch):
        xb = torch.from_numpy(x[i:i + batch]).float().div_(255)
        out.append(torch.softmax(model(xb.contiguous(memory_format=torch.channels_last)), -1))
    return torch.cat(out).numpy()


def score(probs, labels, seven=False):
    """Confusion metrics of arg-max predictions; labels: class indices, -1 = not scored."""
    p = probs.copy()
    if seven:  # RAF-DB has no contempt: arg-max over the seven it has
        p[:, CLASSES.index("contempt")] = -1
    conf = np.zeros((len(CLASSES), len(CLASSES)), np.int64)
    keep = labels >= 0
    np.add.at(conf, (labels[keep], p[keep].argmax(1)), 1)
    return confusion_metrics(conf)


def validation_labels(splits, data):
    """Class labels of the validation sets: FER+ (a) arg-max of the votes, (b) the FERPlus
    reference protocol (-1 where it drops the image); RAF-DB its label."""
    votes = ferplus_votes(os.path.join(data, "ferplus", "valid"))
    _, fer_y, fer_n = splits["fer_valid"]
    ref = [ferplus_reference_label(votes[str(n)]) for n in fer_n]
    return {"fer_a": fer_y.argmax(1), "fer_b": np.array([-1 if r is None else r for r in ref]),
            "raf": splits["raf_valid"][1].argmax(1)}


def grey_some(x, p, gen):
    """Turn a random fraction p of a batch's colour images grey (BT.601 luma), as FER+'s
    are: the teacher sees both kinds for every class."""
    if p <= 0:
        return x
    pick = (torch.rand(len(x), generator=gen) < p).view(-1, 1, 1, 1)
    luma = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]).expand_as(x)
    return torch.where(pick, luma, x)


def write_predictions(run, splits, labels, out):
    ck = torch.load(os.path.join(run, "best.pt"))
    model = Teacher(len(CLASSES), ck["recipe"]["dropout"]).to(memory_format=torch.channels_last)
    model.load_state_dict(ck["ema"])
    split_col, names, probs, acc = [], [], [], {}
    for s in ("fer_train", "fer_valid", "raf_train", "raf_valid"):
        x, _, n = splits[s]
        pr = predict(model, x)
        split_col += [s] * len(n)
        names += [str(v) for v in n]
        probs.append(pr)
        if s == "fer_valid":
            acc["fer_valid"] = score(pr, labels["fer_a"])["acc"]
            acc["fer_valid_reference"] = score(pr, labels["fer_b"])["acc"]
        elif s == "raf_valid":
            acc["raf_valid"] = score(pr, labels["raf"], seven=True)["acc"]
    np.savez_compressed(out, split=np.array(split_col), name=np.array(names),
                        probs=np.concatenate(probs).astype(np.float32))
    member = {"run": "faceres-teacher " + os.path.basename(os.path.normpath(run)),
              "epoch": ck["epoch"], "recipe": ck["recipe"], **acc}
    with open(out + ".json", "w") as f:
        json.dump({"runs": [member], **acc, "provenance": ck.get("provenance")}, f, indent=1)
    print(f"wrote {out}", {k: round(v, 4) for k, v in acc.items()})


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    with open(args.recipe) as f:
        rec = json.load(f)
    os.makedirs(args.run, exist_ok=True)
    torch.manual_seed(rec["seed"])
    gen = torch.Generator().manual_seed(rec["seed"])

    t0 = time.time()
    splits = load_splits(args.data, data_config(rec), args.cache, "native")
    print({k: len(v[0]) for k, v in splits.items()}, f"loaded in {time.time() - t0:.0f}s", flush=True)
    labels = validation_labels(splits, args.data)
    if args.predict:
        write_predictions(args.run, splits, labels, args.predict)
        return
    raf_y = splits["raf_train"][1]
    raf_y = raf_y * (1 - rec["raf_label_smoothing"]) + rec["raf_label_smoothing"] / raf_y.shape[1]
    train_x = torch.from_numpy(np.concatenate([splits["fer_train"][0], splits["raf_train"][0]]))
    ys = np.concatenate([splits["fer_train"][1], raf_y]).astype(np.float32)
    train_y = torch.from_numpy(ys)
    cw = class_weights(ys, rec["class_weight_power"])
    del splits["fer_train"], splits["raf_train"]

    model = Teacher(len(CLASSES), rec["dropout"])
    init = torch.load(args.init)
    model.backbone.load_state_dict(init["backbone"])
    model = model.to(memory_format=torch.channels_last)
    head = list(model.head.parameters())
    opt = torch.optim.AdamW([{"params": list(model.backbone.parameters()), "scale": 1.0},
                             {"params": head, "scale": rec["head_lr_factor"]}],
                            lr=rec["lr"], weight_decay=rec["weight_decay"])
    ema = EMA(model, rec["ema_decay"], blank=Teacher(len(CLASSES), rec["dropout"]))
    ema.model = ema.model.to(memory_format=torch.channels_last)
    steps_per_epoch = len(train_x) // rec["batch"]
    total, start_epoch, step, best = begin(args.run, rec, len(train_x), model, ema, opt, gen,
                                           args.bench)

    def batch_loss(idx):
        xb = grey_some(augment(train_x[idx].float().div_(255), rec, gen), rec["grey_p"], gen)
        yb = train_y[idx]
        logits = model(xb.contiguous(memory_format=torch.channels_last))
        loss = (soft_ce(logits, yb) * (yb * cw).sum(1)).mean()
        return loss, {"loss": loss.item()}

    for epoch in range(start_epoch, rec["epochs"]):
        te = time.time()
        done = run_epoch(model, opt, ema, rec, len(train_x), gen, step, total, batch_loss, epoch,
                         args.bench)
        if done is None:
            return
        step, means, train_seconds = done
        fer_p = predict(ema.model, splits["fer_valid"][0])
        raf_p = predict(ema.model, splits["raf_valid"][0])
        entry = {"epoch": epoch + 1, "seconds": round(time.time() - te, 1),
                 "images_per_s": round(steps_per_epoch * rec["batch"] / train_seconds, 1),
                 "loss": means["loss"], "lr": lr_at(step, total, rec),
                 "fer_valid_a": score(fer_p, labels["fer_a"]),
                 "fer_valid_b": score(fer_p, labels["fer_b"]),
                 "raf_valid": score(raf_p, labels["raf"], seven=True)}
        with open(os.path.join(args.run, "log.jsonl"), "a") as f:
            f.write(json.dumps(entry) + "\n")
        print(f"epoch {epoch + 1}: FER+ valid (a) {entry['fer_valid_a']['acc']:.4f} "
              f"(b) {entry['fer_valid_b']['acc']:.4f}  RAF valid {entry['raf_valid']['acc']:.4f}  "
              f"({entry['seconds']:.0f}s, {entry['images_per_s']} img/s)", flush=True)
        sc = (entry["fer_valid_a"]["acc"] + entry["raf_valid"]["acc"]) / 2
        if sc > best:
            best = sc
            save_atomic({"recipe": rec, "epoch": epoch + 1, "ema": ema.model.state_dict(),
                         "provenance": init.get("provenance"), "metrics": entry},
                        os.path.join(args.run, "best.pt"))
        save_atomic({"model": model.state_dict(), "ema": ema.model.state_dict(),
                     "opt": opt.state_dict(), "gen": gen.get_state(), "rng": torch.get_rng_state(),
                     "epoch": epoch + 1, "step": step, "best": best, "recipe": rec},
                    os.path.join(args.run, "last.pt"))


if __name__ == "__main__":
    main()
