"""Read a TensorFlow.js graph model (model.json + .bin weight shards) with numpy alone.

    graph, weights = read_graph_model("models/faceres.json")

graph: the model.json's nodes (name -> {"op", "input", "attr"}), weights: name -> ndarray
in TF's layouts (Conv2D kernels HWIO, depthwise kernels HW C 1, dense kernels in x out).
Weight dtypes: float32, int32, and the converter's quantised forms (float16; uint8 and
uint16 with min/scale).
"""
import json
import os

import numpy as np

_DTYPES = {"float32": np.float32, "int32": np.int32, "float16": np.float16,
           "uint8": np.uint8, "uint16": np.uint16, "bool": np.bool_}


def decode_weights(manifest, read_shard):
    """name -> ndarray from a weightsManifest; read_shard(path) returns the shard's bytes.
    The shards of one group are one byte stream, read in the manifest's order."""
    out = {}
    for group in manifest:
        data = b"".join(read_shard(p) for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            shape = [int(s) for s in spec["shape"]]
            count = int(np.prod(shape)) if shape else 1
            quant = spec.get("quantization")
            stored = quant["dtype"] if quant else spec["dtype"]
            dt = np.dtype(_DTYPES[stored])
            raw = np.frombuffer(data, dt, count, offset)
            offset += count * dt.itemsize
            if quant and stored in ("uint8", "uint16"):
                values = raw.astype(np.float32) * np.float32(quant["scale"]) + np.float32(quant["min"])
            else:
                values = raw.astype(_DTYPES[spec["dtype"]])
            out[spec["name"]] = values.reshape(shape).copy()
        if offset != len(data):
            raise ValueError(f"weight shards {group['paths']}: {len(data)} bytes, specs use {offset}")
    return out


def attr_value(attr):
    """A node attribute as a plain Python value (lists of ints/strings, strings, numbers)."""
    if "list" in attr:
        lst = attr["list"]
        if "i" in lst:
            return [int(v) for v in lst["i"]]
        if "s" in lst:
            import base64
            return [base64.b64decode(v).decode() for v in lst["s"]]
        return []
    if "s" in attr:
        import base64
        return base64.b64decode(attr["s"]).decode()
    for key in ("i", "f", "b", "type"):
        if key in attr:
            return attr[key]
    return attr


def read_graph_model(json_path):
    with open(json_path) as f:
        model = json.load(f)
    if model.get("format") != "graph-model":
        raise ValueError(f"{json_path}: format {model.get('format')!r}, not graph-model")
    folder = os.path.dirname(os.path.abspath(json_path))

    def read_shard(name):
        with open(os.path.join(folder, name), "rb") as f:
            return f.read()

    weights = decode_weights(model["weightsManifest"], read_shard)
    graph = {}
    for node in model["modelTopology"]["node"]:
        graph[node["name"]] = {"op": node["op"], "input": node.get("input", []),
                               "attr": {k: attr_value(v) for k, v in node.get("attr", {}).items()}}
    return graph, weights
