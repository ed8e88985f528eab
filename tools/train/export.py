#!/usr/bin/python3
"""Export a trained checkpoint to the engine's safetensors weights, and golden
input/output pairs for the engine's parity test.

    /usr/bin/python3 tools/train/export.py runs/main/best.pt \
        --out weights/lnlfer-expression.safetensors --golden tests/data/golden.safetensors

With --random instead of a checkpoint, exports a randomly initialised network of the
configured structure (for tests before trained weights exist).
"""
import argparse
import json
import os
import struct
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import template_points  # noqa: E402
from model import LNLNet, count_macs, export_state  # noqa: E402
from preprocess import preprocess  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DTYPES = {np.dtype(np.float32): "F32", np.dtype(np.uint8): "U8", np.dtype(np.int64): "I64"}


def write_safetensors(path, tensors, metadata):
    """Minimal safetensors writer: header JSON padded to 8 bytes, tensors in name order."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        data = a.tobytes()
        header[name] = {"dtype": DTYPES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def source_commit():
    try:
        return subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=HERE,
                                       stderr=subprocess.DEVNULL).decode().strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def golden_crops(rng):
    """Synthetic face-crop-sized RGB images of several shapes (no dataset images)."""
    crops = []
    for h, w in [(48, 48), (100, 100), (37, 53), (160, 120), (64, 64), (23, 31)]:
        base = rng.integers(0, 256, size=(h, w, 3)).astype(np.float32)
        # smooth some of them so the network sees more than pure noise
        yy, xx = np.mgrid[0:h, 0:w]
        blob = 255 * np.exp(-(((yy - h / 2) / (h / 3)) ** 2 + ((xx - w / 2) / (w / 3)) ** 2))
        img = 0.5 * base + 0.5 * blob[..., None]
        crops.append(np.clip(img, 0, 255).astype(np.uint8))
    return crops


def export_golden(model, cfg, path, seed=7):
    rng = np.random.default_rng(seed)
    model.eval()
    tensors = {}
    crops = golden_crops(rng)
    inputs = np.stack([preprocess(c, cfg) for c in crops])
    with torch.no_grad():
        logits, weights, _ = model(torch.from_numpy(inputs))
        probs = torch.softmax(logits.double(), -1).float()
    for i, c in enumerate(crops):
        tensors[f"crop{i}"] = c
    tensors["inputs"] = inputs
    tensors["probs"] = probs.numpy()
    tensors["weights"] = weights.numpy()
    # plain normalised inputs too, beyond what crops produce
    extra = rng.standard_normal((3, cfg["input_channels"], cfg["input_size"], cfg["input_size"])).astype(np.float32)
    with torch.no_grad():
        lg, wt, _ = model(torch.from_numpy(extra))
    tensors["raw_inputs"] = extra
    tensors["raw_probs"] = torch.softmax(lg.double(), -1).float().numpy()
    tensors["raw_weights"] = wt.numpy()
    write_safetensors(path, tensors, {"crops": str(len(crops))})


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("checkpoint", nargs="?")
    p.add_argument("--random", action="store_true", help="export a randomly initialised network")
    p.add_argument("--config", default=os.path.join(HERE, "config.json"))
    p.add_argument("--out", required=True)
    p.add_argument("--golden")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--align", help="alignment template JSON (tools/detector/measure_template.py)")
    args = p.parse_args()
    meta = {"lnl.source_commit": source_commit()}
    if args.random:
        with open(args.config) as f:
            cfg = json.load(f)
        torch.manual_seed(args.seed)
        model = LNLNet(cfg)
        # non-trivial batch-norm statistics so the folding is exercised
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.data.uniform_(0.5, 1.5)
                m.bias.data.uniform_(-0.2, 0.2)
        # larger head weights so the outputs differ between inputs
        with torch.no_grad():
            model.classifier.weight.mul_(30)
            model.nonlocal_net.score2.weight.mul_(30)
        meta["lnl.description"] = "randomly initialised LNLNet (test network, not trained)"
        recipe = {}
    else:
        ck = torch.load(args.checkpoint, map_location="cpu")
        cfg = ck["cfg"]
        model = LNLNet(cfg)
        model.load_state_dict(ck["ema"])
        recipe = ck["recipe"]
        meta.update({
            "lnl.description": "LNLNet facial-expression network (lnlfer reimplementation of arXiv:2203.14045)",
            "lnl.epoch": ck["epoch"],
            "lnl.recipe": json.dumps(ck["recipe"], sort_keys=True),
            "lnl.data": "FER+ train (MIT labels, FER2013 images) + RAF-DB basic train minus validation part (non-commercial research use)",
            "lnl.ferplus_valid_accuracy": f"{ck['fer_valid']['acc']:.4f}",
            "lnl.rafdb_valid_accuracy": f"{ck['raf_valid']['acc']:.4f}",
        })
    if args.align:
        # the template of the crops the network was trained on
        with open(args.align) as f:
            measured = json.load(f)
        template = dict(measured["template"], points=template_points(measured, recipe))
        meta["lnl.align"] = json.dumps({"template": template})
    model.eval()
    meta["lnl.config"] = json.dumps(cfg, sort_keys=True)
    meta["lnl.macs"] = str(count_macs(model, cfg["input_size"], cfg["input_channels"]))
    state = export_state(model)
    meta["lnl.parameters"] = str(sum(v.numel() for v in state.values()))
    write_safetensors(args.out, {k: v.numpy() for k, v in state.items()}, meta)
    print(f"wrote {args.out}: {len(state)} tensors, {meta['lnl.parameters']} parameters, "
          f"{meta['lnl.macs']} multiply-adds per face")
    if args.golden:
        export_golden(model, cfg, args.golden)
        print(f"wrote {args.golden}")


if __name__ == "__main__":
    main()
