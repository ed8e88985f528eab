#!/usr/bin/python3
"""Lists the operators of a YuNet ONNX file at one input size, one a line, in the format
tools/bench/ops_bench reads (its header comment describes it):

    python3 tools/bench/yunet_layers.py MODEL.onnx HEIGHT WIDTH > layers.txt

Walks the graph in order with every value's shape; a Conv followed by a Relu that alone
reads it is one "conv ... 1" line (the ReLU fused, as the engine runs it), a nearest Resize
followed by the Add of its output is one "upsample_add" line. The output reshapes,
transposes and sigmoids (a few thousand values) are left out. YuNet needs sides that are
multiples of 32 (its users pad: 1080 rows become 1088); other sizes are refused.
Runs where python3-onnx is installed (the Debian 13 root: scripts/trixie-root run).
"""
import sys

import onnx
from onnx import numpy_helper


def attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return list(a.ints) if a.ints else a.i
    return default


def layers(path, h, w):
    """The op lines of the ONNX file at path for a HEIGHT x WIDTH input."""
    if h % 32 or w % 32:
        raise ValueError("YuNet needs sides that are multiples of 32")
    model = onnx.load(path)
    weights = {t.name: numpy_helper.to_array(t).shape for t in model.graph.initializer}
    shape = {model.graph.input[0].name: (3, h, w)}
    readers = {}
    for n in model.graph.node:
        for i in n.input:
            readers.setdefault(i, []).append(n)
    fused = set()  # nodes already listed with the one before
    out = []
    for n in model.graph.node:
        if id(n) in fused:
            continue
        x = n.input[0] if n.input else None
        if n.op_type == "Conv":
            c, ih, iw = shape[x]
            cout, _, k, _ = weights[n.input[1]]
            s = attr(n, "strides", [1, 1])[0]
            p = attr(n, "pads", [0, 0, 0, 0])
            g = attr(n, "group", 1)
            assert len(set(p)) == 1 and attr(n, "kernel_shape", [k, k]) == [k, k]
            oh, ow = (ih + 2 * p[0] - k) // s + 1, (iw + 2 * p[0] - k) // s + 1
            after = readers.get(n.output[0], [])
            relu = len(after) == 1 and after[0].op_type == "Relu"
            if relu:
                fused.add(id(after[0]))
            shape[after[0].output[0] if relu else n.output[0]] = (cout, oh, ow)
            out.append(f"conv {c} {cout} {ih} {iw} {k} {s} {p[0]} {g} {int(relu)}")
        elif n.op_type == "MaxPool":
            c, ih, iw = shape[x]
            k, s = attr(n, "kernel_shape", [2, 2])[0], attr(n, "strides", [2, 2])[0]
            shape[n.output[0]] = (c, (ih - k) // s + 1, (iw - k) // s + 1)
            out.append(f"maxpool {c} {ih} {iw} {k} {s}")
        elif n.op_type == "Resize":
            c, ih, iw = shape[x]
            after = readers.get(n.output[0], [])
            assert len(after) == 1 and after[0].op_type == "Add"
            fused.add(id(after[0]))
            shape[after[0].output[0]] = (c, 2 * ih, 2 * iw)
            out.append(f"upsample_add {c} {ih} {iw}")
        elif n.op_type in ("Relu", "Add"):
            shape[n.output[0]] = shape[x]
            out.append(f"{n.op_type.lower()} {' '.join(map(str, shape[x]))}")
    return out


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: yunet_layers.py MODEL.onnx HEIGHT WIDTH")
    try:
        print("\n".join(layers(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))
    except ValueError as e:
        sys.exit(f"yunet_layers.py: {e}")


if __name__ == "__main__":
    main()
