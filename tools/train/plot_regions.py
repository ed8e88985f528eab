#!/usr/bin/python3
"""Draw the "gradually updated" region weights from a training log:
left, each region's validation-mean weight after every epoch; right, the final means
painted over the region layout of the 48x48 input.

    /usr/bin/python3 tools/train/plot_regions.py runs/main/log.jsonl -o weights/region-weights.png
"""
import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("log")
    p.add_argument("--config", default=None, help="config.json (default: next to this script)")
    p.add_argument("-o", "--out", required=True)
    p.add_argument("--split", default="fer_valid", choices=["fer_valid", "raf_valid"])
    args = p.parse_args()
    import os
    cfg_path = args.config or os.path.join(os.path.dirname(os.path.abspath(__file__)), "config.json")
    with open(cfg_path) as f:
        cfg = json.load(f)
    entries = [json.loads(line) for line in open(args.log) if line.strip()]
    epochs = [e["epoch"] for e in entries]
    w = np.array([e[args.split]["region_weights"] for e in entries])  # epochs x R
    regions = cfg["regions"]
    cell = cfg["input_size"] / (cfg["input_size"] // 2)

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
    for r in range(w.shape[1]):
        ax1.plot(epochs, w[:, r], marker="o", ms=3, label=f"w{r}")
    ax1.axhline(1 / len(regions), color="grey", lw=0.8, ls="--")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel(f"mean region weight ({args.split.replace('_', ' ')})")
    ax1.set_title("Region weights during training")
    ax1.legend(ncol=3, fontsize=8)

    # final means: each pixel gets the average weight of the regions covering it
    size = cfg["input_size"]
    acc = np.zeros((size, size))
    cnt = np.zeros((size, size))
    for (x, y, rw, rh), v in zip(regions, w[-1]):
        x0, y0, x1, y1 = (int(round(t * cell)) for t in (x, y, x + rw, y + rh))
        acc[y0:y1, x0:x1] += v
        cnt[y0:y1, x0:x1] += 1
    im = ax2.imshow(acc / np.maximum(cnt, 1), cmap="inferno", extent=(0, size, size, 0))
    for r, ((x, y, rw, rh), v) in enumerate(zip(regions, w[-1])):
        cx, cy = (x + rw / 2) * cell, (y + rh / 2) * cell
        ax2.text(cx, cy, f"w{r}\n{v:.3f}", ha="center", va="center", fontsize=8,
                 color="white" if v < w[-1].max() * 0.8 else "black")
    ax2.set_title(f"Final mean weights over the {size}x{size} face crop (epoch {epochs[-1]})")
    fig.colorbar(im, ax=ax2, fraction=0.046)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
