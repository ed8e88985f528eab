#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz targets into tests/fuzz-corpus/<target>/.

usage: make_fuzz_seeds.py [RANDOM.safetensors]  (default: tests/data/random.safetensors)

safetensors/ (fuzz_safetensors): a runnable model of the smallest config (widths 1, one
region, 8x8 input), the same cut inside its data, the same with a global-feature layer,
the real test model's lnl.config with no tensors, and a plain one-tensor safetensors file.
detector/ (fuzz_detector): small detector programs that use every op (asymmetric and
depthwise convolutions, relu, add, maxpool, pad_channels) on a 16x16 input.
align-template/ (fuzz_align_template): weights/align-template.json and the template
the shipped weights carry (their lnl.align).
Crash inputs that fuzzing finds are kept next to these, as regression seeds (named
crash-*), and are not written by this script.
"""
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fuzz-corpus")
ROOT = os.path.dirname(HERE)


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


def conv(src, kernel, stride=1, pad=(0, 0, 0, 0), groups=1):
    return {"op": "conv", "in": src, "kernel": [kernel, kernel], "stride": stride,
            "pad": list(pad), "groups": groups}


def detector(ops, tensors, heads, landmarks=0, size=16):
    """A detector program; tensors: (name, shape, value); heads: (scores, boxes, grid, anchors)."""
    det = {"format": "lnlfer-blazeface", "version": 1, "input_size": size,
           "input_scale": 1 / 127.5, "input_offset": -1.0, "ops": ops,
           "heads": [{"scores": s, "boxes": b, "grid": g, "anchors": a} for s, b, g, a in heads],
           "box_values": 4 + 2 * landmarks, "landmarks": landmarks, "score_threshold": 0.5,
           "nms_iou": 0.3, "box_correction": {"scale_h": 1.2, "shift_y": -0.1}}
    return safetensors(sorted(tensors), {"lnl.detector": json.dumps(det)})


def detector_seeds():
    # 16x16x3 -> conv 3x3 stride 2, asymmetric pad (8x8x4) -> relu -> depthwise 3x3 (8x8x4)
    # -> add -> pad_channels to 6 -> maxpool 2 (4x4x6) -> heads: scores (1 anchor), boxes
    # with one landmark (6 values)
    every_op = detector(
        [conv(0, 3, 2, (0, 0, 1, 1)), {"op": "relu", "in": 1}, conv(2, 3, 1, (1, 1, 1, 1), 4),
         {"op": "add", "in": [2, 3]}, {"op": "pad_channels", "in": 4, "add": 2},
         {"op": "maxpool", "in": 5, "kernel": 2, "stride": 2}, conv(6, 1), conv(6, 1)],
        [("op0.weight", [4, 3, 3, 3], 0.1), ("op0.bias", [4], 0.0),
         ("op2.weight", [4, 1, 3, 3], 0.2), ("op2.bias", [4], 0.1),
         ("op6.weight", [1, 6, 1, 1], 0.5), ("op6.bias", [1], 1.0),
         ("op7.weight", [6, 6, 1, 1], 0.25), ("op7.bias", [6], 2.0)],
        [(7, 8, 4, 1)], landmarks=1)
    # two heads on two grids, two anchors
    two_heads = detector(
        [{"op": "maxpool", "in": 0, "kernel": 4, "stride": 4}, conv(1, 1), conv(1, 1),
         {"op": "maxpool", "in": 1, "kernel": 2, "stride": 2}, conv(4, 1), conv(4, 1)],
        [("op1.weight", [2, 3, 1, 1], 1.0), ("op1.bias", [2], 0.0),
         ("op2.weight", [8, 3, 1, 1], 1.0), ("op2.bias", [8], 3.0),
         ("op4.weight", [2, 3, 1, 1], 1.0), ("op4.bias", [2], 0.0),
         ("op5.weight", [8, 3, 1, 1], 1.0), ("op5.bias", [8], 5.0)],
        [(2, 3, 4, 2), (5, 6, 2, 2)])
    # regression: a max-pool larger than its input (read past its input before the
    # shapes were validated at load time)
    big_pool = detector(
        [{"op": "maxpool", "in": 0, "kernel": 16, "stride": 16},
         {"op": "maxpool", "in": 1, "kernel": 5, "stride": 2}, conv(1, 1), conv(1, 1)],
        [("op2.weight", [1, 3, 1, 1], 1.0), ("op2.bias", [1], 0.0),
         ("op3.weight", [4, 3, 1, 1], 1.0), ("op3.bias", [4], 0.0)],
        [(3, 4, 1, 1)])
    # regression: a convolution kernel larger than its padded input, which the output-size
    # formula (rounding towards zero) let through
    big_kernel = detector(
        [{"op": "maxpool", "in": 0, "kernel": 4, "stride": 4}, conv(1, 6, 4, (1, 0, 0, 0)),
         conv(1, 1), conv(1, 1)],
        [("op1.weight", [1, 3, 6, 6], 1.0), ("op1.bias", [1], 0.0),
         ("op2.weight", [1, 3, 1, 1], 1.0), ("op2.bias", [1], 0.0),
         ("op3.weight", [4, 3, 1, 1], 1.0), ("op3.bias", [4], 0.0)],
        [(3, 4, 4, 1)])
    return {"every-op.safetensors": every_op, "two-heads.safetensors": two_heads,
            "maxpool-larger-than-input.safetensors": big_pool,
            "conv-kernel-larger-than-input.safetensors": big_kernel,
            "yunet-every-op.safetensors": yunet_seed()}


def yunet_seed():
    """A YuNet-kind program (format lnlfer-yunet) with every op it uses: a stride-2 stem,
    ReLU, max-pools, a depthwise 3x3, nearest x2 upsampling, add, and two heads (strides 4
    and 8, one landmark) with sigmoids on cls and obj; size multiple 8."""
    def head(src, first):  # cls, sigmoid, obj, sigmoid, bbox, kps: values first + 1 ..
        return ([conv(src, 1), {"op": "sigmoid", "in": first + 1}, conv(src, 1),
                 {"op": "sigmoid", "in": first + 3}, conv(src, 1), conv(src, 1)],
                [(f"op{first}.weight", [1, 4, 1, 1], 0.1), (f"op{first}.bias", [1], 1.0),
                 (f"op{first + 2}.weight", [1, 4, 1, 1], 0.1), (f"op{first + 2}.bias", [1], 1.0),
                 (f"op{first + 4}.weight", [4, 4, 1, 1], 0.01), (f"op{first + 4}.bias", [4], 0.5),
                 (f"op{first + 5}.weight", [2, 4, 1, 1], 0.01), (f"op{first + 5}.bias", [2], 0.5)])
    trunk = [conv(0, 3, 2, (1, 1, 1, 1)), {"op": "relu", "in": 1},
             {"op": "maxpool", "in": 2, "kernel": 2, "stride": 2}, conv(3, 3, 1, (1, 1, 1, 1), 4),
             {"op": "maxpool", "in": 4, "kernel": 2, "stride": 2},
             {"op": "upsample", "in": 5, "factor": 2}, {"op": "add", "in": [4, 6]}]
    tensors = [("op0.weight", [4, 3, 3, 3], 0.001), ("op0.bias", [4], 0.1),
               ("op3.weight", [4, 1, 3, 3], 0.2), ("op3.bias", [4], 0.1)]
    ops4, t4 = head(7, 7)
    ops8, t8 = head(5, 13)
    det = {"format": "lnlfer-yunet", "version": 1, "channels": "bgr", "input_scale": 1.0,
           "input_offset": 0.0, "size_multiple": 8, "ops": trunk + ops4 + ops8,
           "heads": [{"stride": 4, "cls": 9, "obj": 11, "bbox": 12, "kps": 13},
                     {"stride": 8, "cls": 15, "obj": 17, "bbox": 18, "kps": 19}],
           "landmarks": 1, "score_threshold": 0.5, "nms_iou": 0.3}
    return safetensors(sorted(tensors + t4 + t8), {"lnl.detector": json.dumps(det)})


def template_seeds():
    with open(os.path.join(ROOT, "weights", "align-template.json"), "rb") as f:
        measured = f.read()
    shipped = os.path.join(ROOT, "weights", "lnlfer-expression.safetensors")
    with open(shipped, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        align = json.loads(f.read(n))["__metadata__"]["lnl.align"].encode()
    return {"align-template.json": measured, "shipped-lnl-align.json": align,
            "degenerate.json": b'{"template": {"points": [[0.5, 0.5], [0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]}}'}


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
    for target, files in (("safetensors", seeds), ("detector", detector_seeds()),
                          ("align-template", template_seeds())):
        os.makedirs(os.path.join(OUT, target), exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(OUT, target, name), "wb") as f:
                f.write(data)
            print(f"{target}/{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
