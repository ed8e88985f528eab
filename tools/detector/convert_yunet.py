#!/usr/bin/python3
"""Convert YuNet-n (libfacedetection v3, ONNX, any input size) to the engine's detector
weights: safetensors tensors plus the network as a program of operations in the metadata
key "lnl.detector" (format "lnlfer-yunet"; see engine/lnl_detector.c).

    scripts/trixie-root run --bind /work/shared python3 tools/detector/convert_yunet.py \
        --onnx ../shared/models/yunet/yunet_n_dynamic.onnx --out weights/yunet-n.safetensors

Needs python3-onnx and python3-numpy (the Debian 13 root has both).

Program operations (values are numbered: 0 = the input image, i + 1 = output of op i):
  conv      in, kernel [kh, kw], stride, pad [top, left, bottom, right], groups;
            tensors op<i>.weight [cout, cin/groups, kh, kw] and op<i>.bias [cout]
  relu, sigmoid, add (in: [a, b]), maxpool (kernel, stride), upsample (factor: nearest)
BatchNormalization after a convolution is folded into it. The head tensors are read by
the engine in channels-first layout: the ONNX graph's Transpose/Reshape to [1, N, k] and
the shape arithmetic feeding the reshapes are dropped.
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "train"))
from export import write_safetensors  # noqa: E402

STRIDES = (8, 16, 32)
LANDMARKS = ["right_eye", "left_eye", "nose_tip", "right_mouth_corner", "left_mouth_corner"]
SOURCE = ("YuNet-n (libfacedetection v3), yunet_n_dynamic.onnx from GitHub "
          "ShiqiYu/libfacedetection.train commit 0047ac24afb1a50a0c6105001c89d1b5b805dbf1, onnx/")


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def convert(model_path):
    graph = onnx.load(model_path).graph
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    consts = {}  # Constant node outputs
    value_of = {graph.input[0].name: 0}  # ONNX tensor name -> program value index
    ops, tensors = [], {}
    shape_math = set()  # outputs of the Shape/Gather/Unsqueeze/Concat chains feeding Reshape

    def emit(op, out_name):
        ops.append(op)
        value_of[out_name] = len(ops)

    def const(name):
        return inits[name] if name in inits else consts.get(name)

    for node in graph.node:
        a = attrs(node)
        t = node.op_type
        if t == "Constant":
            consts[node.output[0]] = numpy_helper.to_array(a["value"])
        elif t == "Conv":
            w = const(node.input[1]).astype(np.float32)
            b = (const(node.input[2]).astype(np.float32) if len(node.input) > 2
                 else np.zeros(w.shape[0], np.float32))
            if any(d != 1 for d in a.get("dilations", [1, 1])):
                raise SystemExit(f"{node.name}: dilated convolutions are not supported")
            strides = a.get("strides", [1, 1])
            if strides[0] != strides[1]:
                raise SystemExit(f"{node.name}: unequal strides")
            pads = a.get("pads", [0, 0, 0, 0])  # ONNX: top, left, bottom, right
            i = len(ops)
            tensors[f"op{i}.weight"] = w
            tensors[f"op{i}.bias"] = b
            emit({"op": "conv", "in": value_of[node.input[0]], "kernel": list(w.shape[2:]),
                  "stride": strides[0], "pad": [int(p) for p in pads],
                  "groups": int(a.get("group", 1))}, node.output[0])
        elif t == "BatchNormalization":
            src = value_of[node.input[0]]
            i = src - 1
            if i < 0 or ops[i]["op"] != "conv":
                raise SystemExit(f"{node.name}: BatchNormalization not after a convolution")
            scale, bias, mean, var = (const(n).astype(np.float64) for n in node.input[1:5])
            k = scale / np.sqrt(var + a.get("epsilon", 1e-5))
            w = tensors[f"op{i}.weight"].astype(np.float64)
            tensors[f"op{i}.weight"] = (w * k[:, None, None, None]).astype(np.float32)
            tensors[f"op{i}.bias"] = ((tensors[f"op{i}.bias"] - mean) * k + bias).astype(np.float32)
            value_of[node.output[0]] = src
        elif t == "Relu":
            emit({"op": "relu", "in": value_of[node.input[0]]}, node.output[0])
        elif t == "Sigmoid":
            emit({"op": "sigmoid", "in": value_of[node.input[0]]}, node.output[0])
        elif t == "Add":
            emit({"op": "add", "in": [value_of[n] for n in node.input]}, node.output[0])
        elif t == "MaxPool":
            k, s = a["kernel_shape"], a["strides"]
            if k[0] != k[1] or s[0] != s[1] or any(a.get("pads", [0])) or a.get("ceil_mode", 0):
                raise SystemExit(f"{node.name}: only square unpadded floor max-pools are supported")
            emit({"op": "maxpool", "in": value_of[node.input[0]], "kernel": int(k[0]),
                  "stride": int(s[0])}, node.output[0])
        elif t == "Resize":
            scales = const(node.input[2]) if len(node.input) > 2 else None
            ok = (a.get("mode") == b"nearest" and scales is not None and
                  list(scales) == [1, 1, 2, 2] and
                  a.get("coordinate_transformation_mode") == b"asymmetric" and
                  a.get("nearest_mode") == b"floor")
            if not ok:
                raise SystemExit(f"{node.name}: only nearest x2 (asymmetric, floor) is supported")
            emit({"op": "upsample", "in": value_of[node.input[0]], "factor": 2}, node.output[0])
        elif t in ("Shape", "Gather", "Unsqueeze", "Concat"):
            shape_math.add(node.output[0])  # only feeds a Reshape's target shape
        elif t in ("Transpose", "Reshape"):
            if node.input[0] not in value_of:
                raise SystemExit(f"{node.name}: {t} of something that is no program value")
            if t == "Reshape" and node.input[1] not in shape_math:
                raise SystemExit(f"{node.name}: a Reshape to a fixed shape is not supported")
            value_of[node.output[0]] = value_of[node.input[0]]  # head layout, read by the engine
        else:
            raise SystemExit(f"unsupported ONNX op {t} ({node.name})")
    out = {o.name: value_of[o.name] for o in graph.output}
    heads = [{"stride": s, "cls": out[f"cls_{s}"], "obj": out[f"obj_{s}"],
              "bbox": out[f"bbox_{s}"], "kps": out[f"kps_{s}"]} for s in STRIDES]
    return ops, heads, tensors


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--onnx", default=os.path.join(HERE, "..", "..", "..", "shared", "models",
                                                  "yunet", "yunet_n_dynamic.onnx"))
    p.add_argument("--out", required=True)
    args = p.parse_args()
    with open(args.onnx, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    ops, heads, tensors = convert(args.onnx)
    with open(os.path.join(os.path.dirname(args.onnx), "LICENSE")) as f:
        licence = f.read()
    detector = {
        "format": "lnlfer-yunet", "version": 1,
        # BGR, 0..255, no normalisation; H and W padded (bottom/right, zeros) to a multiple
        "channels": "bgr", "input_scale": 1.0, "input_offset": 0.0, "size_multiple": 32,
        "ops": ops, "heads": heads,
        "landmarks": len(LANDMARKS), "landmark_names": LANDMARKS,
        # score = sqrt(cls * obj) as OpenCV's FaceDetectorYN; hard NMS (OpenCV's 0.3)
        "score_threshold": 0.6, "nms_iou": 0.3,
    }
    write_safetensors(args.out, tensors, {
        "lnl.detector": json.dumps(detector),
        "lnl.source": f"{SOURCE} (sha256 {sha})",
        "lnl.license": "Apache-2.0",
        "lnl.license_text": licence,
    })
    n = sum(v.size for v in tensors.values())
    print(f"wrote {args.out}: {len(ops)} ops, {len(tensors)} tensors, {n} parameters, "
          f"onnx sha256 {sha}")


if __name__ == "__main__":
    main()
