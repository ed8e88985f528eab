#!/usr/bin/python3
"""Cache the teacher's predictions on K seeded views of every training image, for the
student's consistent distillation (train.py recipe field distill_views).

    nice -n 19 /usr/bin/python3 tools/train/teacher_views.py \\
        --teacher /var/cache/lnlfer-runs/teacher-faceres \\
        --recipe tools/train/recipe_distill.json \\
        --out /var/cache/lnlfer-runs/teacher-views.npz

View k of an image is views.seeded_view's: a function of (the recipe's view_seed, or its
seed; the image's id from split and file name; k) and of the recipe's augmentation fields
alone. The teacher (TEACHER/best.pt, EMA weights, eval mode) sees it on the image's colour
crop at its own size (112 px), cut as the student's recipe cuts (crop, template, raf_crop);
the student later renders the same view of its 48 px grey crop. Stored (views.write_cache):
split, name, id and the teacher's logits, float16 (N, K, 8), with the seed, the view fields
and the teacher's epoch as JSON; train.py refuses a cache whose views its recipe would not
make. Resumable: each finished view is kept in OUT.parts/ and skipped by a rerun (which may
ask for more views).
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
from data import load_splits  # noqa: E402
from teacher_model import Teacher  # noqa: E402
from teacher_train import CLASSES, data_config  # noqa: E402
from train import aligned_crops, training_parts  # noqa: E402
from views import image_ids, seeded_view, view_recipe, write_cache  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--teacher", required=True, help="teacher_train.py run folder (its best.pt)")
    p.add_argument("--recipe", default=os.path.join(HERE, "recipe_distill.json"),
                   help="the student's recipe (its augmentation, crop and seed)")
    p.add_argument("--out", required=True, help="the cache (.npz)")
    p.add_argument("--views", type=int, default=8, help="K: views per image")
    p.add_argument("--data", default=os.path.join(HERE, "..", "..", "..", "shared", "data"))
    p.add_argument("--cache", default="/var/cache/lnlfer-runs/cache",
                   help="folder for the decoded datasets (and the landmarks)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--limit", type=int, default=0, help="only the first N images of each split")
    return p.parse_args()


def load_teacher(folder):
    ck = torch.load(os.path.join(folder, "best.pt"))
    net = Teacher(len(CLASSES), 0.0)
    net.load_state_dict(ck["ema"])
    net = net.to(memory_format=torch.channels_last)
    net.eval()
    return net, ck


@torch.no_grad()
def view_logits(net, x, ids, k, seed, rec, batch):
    """The teacher's logits (float16, (N, classes)) on view k of uint8 crops x (N, 3, S, S)."""
    out = []
    for i in range(0, len(x), batch):
        xb = torch.from_numpy(x[i:i + batch]).float().div_(255)
        v = seeded_view(xb, seed, ids[i:i + batch], np.full(len(xb), k), rec)
        out.append(net(v.contiguous(memory_format=torch.channels_last)).numpy().astype(np.float16))
    return np.concatenate(out)


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    with open(args.recipe) as f:
        rec = json.load(f)
    net, ck = load_teacher(args.teacher)
    seed = rec.get("view_seed", rec["seed"])
    t0 = time.time()
    splits = load_splits(args.data, data_config(ck["recipe"]), args.cache,
                         rec.get("raf_crop", "native"), aligned_crops(args.data, args.cache, rec))
    print(f"loaded in {time.time() - t0:.0f}s", flush=True)
    parts = training_parts(rec)
    lim = args.limit or None
    x = np.concatenate([splits[s][0][:lim] for s in parts])
    labels = np.concatenate([splits[s][1][:lim] for s in parts]).argmax(1)
    split = [s for s in parts for _ in splits[s][2][:lim]]
    names = [str(n) for s in parts for n in splits[s][2][:lim]]
    del splits
    ids = image_ids(zip(split, names))
    meta = {"seed": seed, "view": view_recipe(rec), "views": args.views,
            "teacher": {"run": os.path.abspath(args.teacher), "epoch": ck["epoch"],
                        "input_size": ck["recipe"]["input_size"]}}
    parts_dir = args.out + ".parts"
    os.makedirs(parts_dir, exist_ok=True)
    # what the finished views depend on (not K: a rerun with more views adds to them)
    same = {k: v for k, v in meta.items() if k != "views"}
    same["images"] = len(x)
    with open(os.path.join(parts_dir, "meta.json"), "a+") as f:
        f.seek(0)
        held = f.read()
        if held and json.loads(held) != json.loads(json.dumps(same)):
            raise SystemExit(f"{parts_dir} holds views of another recipe, teacher or image set: "
                             "remove it to start again")
        if not held:
            json.dump(same, f)
    logits = []
    for k in range(args.views):
        path = os.path.join(parts_dir, f"view-{k}.npy")
        if os.path.exists(path):
            logits.append(np.load(path))
            continue
        tv = time.time()
        lk = view_logits(net, x, ids, k, seed, rec, args.batch)
        np.save(path + ".tmp.npy", lk)
        os.replace(path + ".tmp.npy", path)
        logits.append(lk)
        acc = float((lk.astype(np.float32).argmax(1) == labels).mean())
        print(f"view {k + 1}/{args.views}: {len(x)} images in {time.time() - tv:.0f}s "
              f"({len(x) / (time.time() - tv):.1f} images/s), teacher agrees with the label "
              f"on {100 * acc:.2f} %", flush=True)
    write_cache(args.out, split, names, np.stack(logits, 1), meta)
    print(f"wrote {args.out} ({os.path.getsize(args.out) / 1e6:.1f} MB)", flush=True)


if __name__ == "__main__":
    main()
