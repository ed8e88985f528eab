#!/usr/bin/python3
"""A toy detector in the engine's detector format for tests/test_detector.c: it "finds"
red 16x16 cells. A 16x16 max-pool turns the 256x256 input into a 16x16 grid; the score
of a cell is 10 R - 5 (R in [-1, 1]), and every anchor predicts a 40x40 box centred on
itself with two landmarks at fixed offsets.

    /usr/bin/python3 tools/detector/make_toy_detector.py tests/data/toy-detector.safetensors
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train"))
from export import write_safetensors  # noqa: E402


def main():
    out = sys.argv[1]
    tensors = {
        "op1.weight": np.array([[[[10.0]], [[0.0]], [[0.0]]]], np.float32),
        "op1.bias": np.array([-5.0], np.float32),
        "op2.weight": np.zeros((8, 3, 1, 1), np.float32),
        "op2.bias": np.array([0, 0, 40, 40, -10, -5, 10, -5], np.float32),
    }
    ops = [{"op": "maxpool", "in": 0, "kernel": 16, "stride": 16},
           {"op": "conv", "in": 1, "kernel": [1, 1], "stride": 1, "pad": [0, 0, 0, 0], "groups": 1},
           {"op": "conv", "in": 1, "kernel": [1, 1], "stride": 1, "pad": [0, 0, 0, 0], "groups": 1}]
    det = {"format": "lnlfer-blazeface", "version": 1, "input_size": 256,
           "input_scale": 1 / 127.5, "input_offset": -1.0, "ops": ops,
           "heads": [{"scores": 2, "boxes": 3, "grid": 16, "anchors": 1}],
           "box_values": 8, "landmarks": 2, "score_threshold": 0.5, "nms_iou": 0.3}
    write_safetensors(out, tensors, {"lnl.detector": json.dumps(det)})


if __name__ == "__main__":
    main()
