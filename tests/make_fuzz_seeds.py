#!/usr/bin/env python3
"""Writes the seed inputs of fuzz_safetensors into tests/fuzz-corpus/.

usage: make_fuzz_seeds.py [RANDOM.safetensors]  (default: tests/data/random.safetensors)

Seeds: a runnable model of the smallest config (widths 1, one region, 8x8
input), the same cut inside its data, the same with a global-feature layer, the
real test model's lnl.config with no tensors, and a plain one-tensor safetensors
file.
"""
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fuzz-corpus")


def safetensors(tensors, metadata):
    """tensors: list of (name, shape, float value); all F32, in this order."""
    header, blob = {}, b""
    for name, shape, value in tensors:
        count = 1
        for d in shape:
            count *= d
        data = struct.pack(f"<{count}f", *([value] * count))
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + blob


def tiny_model(global_hidden=0):
    """global_hidden > 0: the global feature through a linear layer of that width."""
    cfg = {"format": "lnlfer-lnlnet", "version": 1, "classes": ["a", "b"], "input_size": 8,
           "input_channels": 1, "mean": 0.5, "std": 0.25, "unet_widths": [1, 1, 1, 1],
           "feature_channels": 1, "local_width": 1, "nonlocal_pool": 1, "nonlocal_inner": 1,
           "attention_hidden": 1, "bn_eps": 1e-5, "regions": [[0, 0, 2, 2]]}
    if global_hidden:
        cfg.update(global_hidden=global_hidden, global_pool=1)
    w, fch, lw, inner, hid, ncls = [1, 1, 1, 1], 1, 1, 1, 1, 2
    t = []

    def convbn(prefix, cin, cout, k):
        t.append((prefix + ".conv.weight", [cout, cin, k, k], 0.5))
        bn(prefix + ".bn", cout)

    def bn(prefix, c):
        for field, v in (("weight", 1.0), ("bias", 0.0), ("running_mean", 0.0), ("running_var", 1.0)):
            t.append((f"{prefix}.{field}", [c], v))

    cin = 1
    for level in range(4):
        convbn(f"unet.enc{level}.0", cin, w[level], 3)
        convbn(f"unet.enc{level}.1", w[level], w[level], 3)
        cin = w[level]
    convbn("unet.up2", w[3], w[2], 1)
    convbn("unet.dec2", 2 * w[2], w[2], 3)
    convbn("unet.up1", w[2], w[1], 1)
    convbn("unet.dec1", 2 * w[1], fch, 3)
    convbn("local.conv1", fch, lw, 3)
    convbn("local.conv2", lw, lw, 3)
    for name in ("theta", "phi", "g"):
        t.append((f"nonlocal_net.{name}.weight", [inner, fch, 1, 1], 0.5))
        t.append((f"nonlocal_net.{name}.bias", [inner], 0.0))
    t.append(("nonlocal_net.out.weight", [fch, inner, 1, 1], 0.5))
    bn("nonlocal_net.out_bn", fch)
    t.append(("nonlocal_net.score1.weight", [hid, fch], 0.5))
    t.append(("nonlocal_net.score1.bias", [hid], 0.0))
    t.append(("nonlocal_net.score2.weight", [1, hid], 0.5))
    t.append(("nonlocal_net.score2.bias", [1], 0.0))
    if global_hidden:
        t.append(("global_fc.weight", [global_hidden, w[3]], 0.5))
        t.append(("global_fc.bias", [global_hidden], 0.0))
    t.append(("classifier.weight", [ncls, lw + (global_hidden or w[3])], 0.5))
    t.append(("classifier.bias", [ncls], 0.0))
    t.append(("nonlocal_net.region_bias", [1], 0.0))
    t.sort()
    return safetensors(t, {"lnl.config": json.dumps(cfg, sort_keys=True)})


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "data", "random.safetensors")
    with open(src, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        config = json.loads(f.read(n))["__metadata__"]["lnl.config"]
    model = tiny_model()
    seeds = {
        "tiny-model.safetensors": model,
        "tiny-model-truncated.safetensors": model[:len(model) - 20],
        "tiny-model-global.safetensors": tiny_model(global_hidden=2),
        "config-only.safetensors": safetensors([], {"lnl.config": config}),
        "one-tensor.safetensors": safetensors([("t", [2], 1.0)], {"format": "pt"}),
    }
    os.makedirs(OUT, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
