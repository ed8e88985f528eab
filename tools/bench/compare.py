#!/usr/bin/python3
"""The engine against ONNX Runtime and PyTorch on the identical network, in one run.

Runs inside the Debian 13 root (python3-torch 2.6, python3-onnxruntime 1.21, python3-onnx),
normally through tools/bench/run.sh:

    scripts/trixie-root run python3 tools/bench/compare.py --lnlfer build-trixie-bench/cli/lnlfer

1. Rebuilds tools/train/model.py's LNLNet from the shipped weights file (read here with
   numpy: the file holds every tensor but the training-only local.heads.*, which are set
   to zero and do not reach the outputs; batch-norm is stored unfolded) and exports it to
   ONNX (opset 17; outputs: class probabilities = softmax of the logits, region weights;
   dynamic batch axis).
2. Checks that the three give the same outputs: ONNX Runtime against PyTorch on random
   inputs (batch 1 and 8), and the engine (`lnlfer classify --format csv` on PNG crops)
   against PyTorch on the same crops preprocessed with tools/train/preprocess.py, which
   matches the engine's preprocessing. Maximum absolute difference allowed: 1e-4. The
   timings are taken only when all checks pass.
3. Times the network alone, per face, the same way for all three: batch 1 and 8 (per-face
   time = batch time / batch), 1 and 2 threads (engine: lnl_context_new(model, threads),
   via `lnlfer bench --format json`; ONNX Runtime: intra_op_num_threads = threads,
   inter_op_num_threads = 1, sequential execution, all graph optimisations; PyTorch:
   torch.set_num_threads(threads), one inter-op thread, and 1 thread for the OpenBLAS that
   Debian's torch runs most of these convolutions with (inside torch's threads; see
   set_blas_threads), eval mode under torch.inference_mode()). Each configuration:
   warm-up runs, then timed runs with a monotonic clock; median, min and max.
4. Prints one table with the ratios engine / ONNX Runtime and engine / PyTorch, and the
   engine's whole-photo time (detection + alignment + classification) on a multi-face
   photo: a synthetic 12-megapixel image holding 10 pasted copies of the head of
   tests/data/astronaut.png (faces 130 to 170 pixels wide) unless --photo names another.
"""
import argparse
import contextlib
import csv
import json
import os
import platform
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
from model import LNLNet  # noqa: E402
from preprocess import preprocess  # noqa: E402

TOLERANCE = 1e-4
NP_DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "U8": np.uint8}


def read_safetensors(path):
    """(tensors by name as numpy arrays, metadata dict)."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        lo, hi = info["data_offsets"]
        a = np.frombuffer(blob, NP_DTYPES[info["dtype"]], (hi - lo) // np.dtype(
            NP_DTYPES[info["dtype"]]).itemsize, base + lo)
        tensors[name] = a.reshape(info["shape"]).copy()
    return tensors, meta


def load_model(weights):
    tensors, meta = read_safetensors(weights)
    cfg = json.loads(meta["lnl.config"])
    model = LNLNet(cfg)
    state, unused = {}, set(tensors)
    for name, ref in model.state_dict().items():
        if name in tensors:
            t = torch.from_numpy(tensors[name])
            if tuple(t.shape) != tuple(ref.shape):
                raise SystemExit(f"{name}: file has {tuple(t.shape)}, LNLNet {tuple(ref.shape)}")
            state[name] = t.to(ref.dtype)
            unused.discard(name)
        elif name.startswith("local.heads.") or name.endswith("num_batches_tracked"):
            state[name] = torch.zeros_like(ref)  # training-only, no effect on the outputs
        else:
            raise SystemExit(f"{weights}: tensor {name} of LNLNet is missing")
    if unused:
        raise SystemExit(f"{weights}: tensors not in LNLNet: {sorted(unused)}")
    model.load_state_dict(state, strict=True)
    model.eval()
    return model, cfg, meta


class Outputs(torch.nn.Module):
    """LNLNet with the engine's outputs: class probabilities and region weights."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        logits, weights, _ = self.net(x)
        return F.softmax(logits, dim=-1), weights


@contextlib.contextmanager
def without_schema_noise():
    """Debian's torch.onnx.export prints "Schema error: Trying to register schema ... but it
    is already registered" for every ONNX operator (torch and onnx register the same
    schemas); harmless. Drops those lines and passes the rest of stderr on."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            for line in tmp.read().decode(errors="replace").splitlines():
                if line.strip() and not line.startswith("Schema error:"):
                    print(line, file=sys.stderr)


def export_onnx(module, cfg, path):
    c, s = cfg["input_channels"], cfg["input_size"]
    with torch.no_grad(), without_schema_noise():
        torch.onnx.export(module, (torch.zeros(1, c, s, s),), path, opset_version=17,
                          input_names=["input"], output_names=["probabilities", "region_weights"],
                          dynamic_axes={"input": {0: "batch"}, "probabilities": {0: "batch"},
                                        "region_weights": {0: "batch"}},
                          dynamo=False)
    onnx.checker.check_model(onnx.load(path))


def ort_session(path, threads):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def torch_run(module, x):
    with torch.inference_mode():
        p, w = module(torch.from_numpy(x))
    return p.numpy(), w.numpy()


def synthetic_crops(rng, n=6):
    """Face-crop-like RGB images of several sizes: noise plus a smooth blob."""
    crops = []
    for h, w in [(48, 48), (100, 100), (37, 53), (160, 120), (64, 64), (23, 31)][:n]:
        yy, xx = np.mgrid[0:h, 0:w]
        blob = 255 * np.exp(-(((yy - h / 2) / (h / 3)) ** 2 + ((xx - w / 2) / (w / 3)) ** 2))
        img = 0.5 * rng.integers(0, 256, size=(h, w, 3)) + 0.5 * blob[..., None]
        crops.append(np.clip(img, 0, 255).astype(np.uint8))
    return crops


def check_outputs(module, onnx_path, cfg, lnlfer, weights, tmp):
    """Returns the report lines; raises SystemExit when an output differs by more than
    TOLERANCE."""
    rng = np.random.default_rng(1)
    c, s = cfg["input_channels"], cfg["input_size"]
    sess = ort_session(onnx_path, 1)
    lines, worst = [], 0.0
    for batch in (1, 8):
        x = rng.standard_normal((batch, c, s, s)).astype(np.float32)
        tp, tw = torch_run(module, x)
        op, ow = sess.run(None, {"input": x})
        d = max(float(np.abs(tp - op).max()), float(np.abs(tw - ow).max()))
        worst = max(worst, d)
        lines.append(f"ONNX Runtime vs PyTorch, {batch} random input(s): max |diff| {d:.2e}")
    # the engine on PNG crops, PyTorch on the same crops preprocessed in Python
    files, inputs = [], []
    crops = synthetic_crops(rng)
    face = np.asarray(Image.open(os.path.join(ROOT, "tests", "data", "astronaut-face.png"))
                      .convert("RGB"))
    for i, img in enumerate(crops + [face]):
        path = os.path.join(tmp, f"crop{i}.png")
        Image.fromarray(img).save(path)
        files.append(path)
        inputs.append(preprocess(img, cfg))
    tp, tw = torch_run(module, np.stack(inputs))
    # --align off: the crops are the network's inputs as they are (the shipped weights'
    # default, --align auto, would find and align the face in each crop first)
    out = run_lnlfer([lnlfer, "classify", "--align", "off", "--format", "csv", "--weights", weights,
                      *files])
    rows = {r["file"]: r for r in csv.DictReader(out.splitlines())}
    classes = cfg["classes"]
    ep = np.array([[float(rows[f][k]) for k in classes] for f in files])
    ew = np.array([[float(rows[f][f"w{r}"]) for r in range(len(cfg["regions"]))] for f in files])
    d = max(float(np.abs(tp - ep).max()), float(np.abs(tw - ew).max()))
    worst = max(worst, d)
    lines.append(f"engine (lnlfer classify, CSV with 6 decimals) vs PyTorch, {len(files)} PNG "
                 f"crops: max |diff| {d:.2e}")
    for line in lines:
        print("  " + line, flush=True)
    if not worst < TOLERANCE:
        raise SystemExit(f"outputs differ by {worst:.2e} > {TOLERANCE:g}: no timing taken")
    return lines


def run_lnlfer(cmd):
    """stdout of an lnlfer command; its stderr and exit status when it fails."""
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode not in (0, 3):  # 3: no face aligned in some crop (classified anyway)
        sys.stderr.write(res.stderr)
        raise SystemExit(f"{' '.join(cmd[:2])} exited with status {res.returncode}")
    return res.stdout


def summarize(times):
    t = np.sort(np.asarray(times))
    return {"median": float(np.median(t)), "min": float(t[0]), "max": float(t[-1])}


def time_per_face(fn, batch, runs, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()  # CLOCK_MONOTONIC
        fn()
        times.append((time.perf_counter() - t0) * 1e3 / batch)
    return summarize(times)


def make_photo(path, width=4000, height=3000, faces=10, seed=5):
    """A 12-megapixel photo with `faces` faces: scaled copies of the head of
    tests/data/astronaut.png (its 260 x 260 top-centre part, where the face is 105 pixels
    wide) pasted into a 5 x 2 grid, faces 130 to 170 pixels wide, on a smooth, noisy
    background."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    bg = np.stack([90 + 60 * xx / width, 110 + 50 * yy / height, 130 - 40 * xx / width], -1)
    bg += rng.normal(0, 6, bg.shape).astype(np.float32)
    canvas = Image.fromarray(np.clip(bg, 0, 255).astype(np.uint8))
    head = Image.open(os.path.join(ROOT, "tests", "data", "astronaut.png")).convert("RGB")
    head = head.crop((95, 0, 355, 260))
    cols = (faces + 1) // 2
    cell_w, cell_h = width // cols, height // 2
    for i in range(faces):
        side = int(260 * rng.uniform(130, 170) / 105)
        im = head.resize((side, side), Image.BICUBIC)
        x = (i % cols) * cell_w + int(rng.uniform(0, cell_w - side))
        y = (i // cols) * cell_h + int(rng.uniform(0, cell_h - side))
        canvas.paste(im, (x, y))
    canvas.save(path, quality=92)


def cpu_model():
    """'model name (family F model M, widest SIMD)' from /proc/cpuinfo."""
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if ":" in line:
                    k, v = (x.strip() for x in line.split(":", 1))
                    info.setdefault(k, v)
                elif info:
                    break  # first processor only
    except OSError:
        return platform.processor() or "unknown"
    flags = info.get("flags", "").split()
    simd = next((n for f, n in (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"))
                 if f in flags), "SSE")
    return (f"{info.get('model name', 'unknown')} (family {info.get('cpu family', '?')} "
            f"model {info.get('model', '?')}, {simd})")


def build_type(lnlfer):
    """The meson buildtype of the build directory the lnlfer binary lies in, if known."""
    path = os.path.join(os.path.dirname(os.path.dirname(lnlfer)), "meson-info",
                        "intro-buildoptions.json")
    try:
        with open(path) as f:
            return next(o["value"] for o in json.load(f) if o["name"] == "buildtype")
    except (OSError, ValueError, StopIteration, KeyError):
        return "unknown"


def set_blas_threads(threads):
    """Debian's torch runs most of this network's convolutions as im2col + BLAS
    (aten::_slow_conv2d_forward) through OpenBLAS, whose thread count
    torch.set_num_threads does not set: left alone, OpenBLAS uses every core, in the
    1-thread rows too, and its threads nested in torch's OpenMP threads oversubscribe the
    cores (10 to 20 times slower at 2 threads when measured). Sets the count in every
    OpenBLAS library loaded in this process; returns the libraries set."""
    import ctypes
    done = []
    with open("/proc/self/maps") as f:
        paths = sorted({line.split()[-1] for line in f if "blas" in line.lower()
                        and line.split()[-1].startswith("/")})
    for path in paths:
        try:
            ctypes.CDLL(path).openblas_set_num_threads(ctypes.c_int(threads))
            done.append(os.path.basename(path))
        except (OSError, AttributeError):
            pass
    return done


def openblas_core():
    """The kernel set OpenBLAS picked at load time (the engine links the same library)."""
    try:
        import ctypes
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        lib.openblas_get_config.restype = ctypes.c_char_p
        config = lib.openblas_get_config().decode().split()
        version = config[1] if len(config) > 1 else "?"
        return f"OpenBLAS {version} ({lib.openblas_get_corename().decode()} kernels)"
    except (OSError, AttributeError):
        return "OpenBLAS (version unknown)"


def fmt(st):
    return f"{st['median']:7.3f} ({st['min']:.3f}-{st['max']:.3f})"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--lnlfer", default=os.path.join(ROOT, "build-trixie-bench", "cli", "lnlfer"))
    p.add_argument("--weights", default=os.path.join(ROOT, "weights",
                                                     "lnlfer-expression.safetensors"))
    p.add_argument("--detector", default=os.path.join(ROOT, "weights",
                                                      "blazeface-back.safetensors"))
    p.add_argument("--runs", type=int, default=200, help="timed runs per configuration")
    p.add_argument("--warmup", type=int, default=20, help="untimed runs before them")
    p.add_argument("--photo", help="multi-face photo for the whole-photo time "
                   "(default: a synthetic 12 MP photo with 10 faces)")
    p.add_argument("--photo-runs", type=int, default=10)
    p.add_argument("--no-photo", action="store_true", help="skip the whole-photo time")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--batch", default="1,8")
    p.add_argument("--json", help="also write all numbers to this file")
    p.add_argument("--keep-onnx", help="save the exported ONNX model here")
    args = p.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    batches = [int(b) for b in args.batch.split(",")]
    lnlfer = os.path.abspath(args.lnlfer)
    if not os.access(lnlfer, os.X_OK):
        raise SystemExit(f"no lnlfer binary at {lnlfer}: build it in the root first "
                         "(tools/bench/run.sh does), or pass --lnlfer")

    torch.set_num_interop_threads(1)
    net, cfg, meta = load_model(args.weights)
    module = Outputs(net).eval()
    c, s = cfg["input_channels"], cfg["input_size"]
    report = {"cpu": cpu_model(), "logical_cpus": os.cpu_count(),
              "blas": openblas_core(),
              "versions": {"torch": torch.__version__, "onnxruntime": ort.__version__,
                           "onnx": onnx.__version__, "numpy": np.__version__,
                           "python": platform.python_version()},
              "runs": args.runs, "warmup": args.warmup}
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = args.keep_onnx or os.path.join(tmp, "lnlnet.onnx")
        export_onnx(module, cfg, onnx_path)
        print(f"exported {onnx_path} (opset 17, dynamic batch)", flush=True)
        print("checking outputs:", flush=True)
        report["checks"] = check_outputs(module, onnx_path, cfg, lnlfer, args.weights, tmp)

        photo = None
        if not args.no_photo:
            photo = args.photo
            if not photo:
                photo = os.path.join(tmp, "photo-12mp-10faces.jpg")
                make_photo(photo)
        print("timing the engine (lnlfer bench)...", flush=True)
        cmd = [lnlfer, "bench", "--format", "json", "--weights", args.weights,
               "--runs", str(args.runs), "--warmup", str(args.warmup),
               "--threads", args.threads, "--batch", args.batch]
        if photo:
            cmd += ["--photo", photo, "--detector", args.detector,
                    "--photo-runs", str(args.photo_runs)]
        engine = json.loads(run_lnlfer(cmd))
        report["engine"] = engine
        macs = engine["macs_per_face"]

        rng = np.random.default_rng(2)
        xs = {b: rng.standard_normal((b, c, s, s)).astype(np.float32) for b in batches}
        ort_t, torch_t = {}, {}
        print("timing ONNX Runtime...", flush=True)
        for t in threads:
            sess = ort_session(onnx_path, t)
            for b in batches:
                feed = {"input": xs[b]}
                ort_t[b, t] = time_per_face(lambda: sess.run(None, feed), b, args.runs,
                                            args.warmup)
            del sess
        print("timing PyTorch...", flush=True)
        # torch's threads are its OpenMP pool; BLAS inside them runs single-threaded
        report["torch_openblas_threads_1_in"] = set_blas_threads(1)
        for t in threads:
            torch.set_num_threads(t)
            for b in batches:
                xt = torch.from_numpy(xs[b])

                def run():
                    with torch.inference_mode():
                        module(xt)
                torch_t[b, t] = time_per_face(run, b, args.runs, args.warmup)

    eng_t = {(r["batch"], r["threads"]): r["per_face_ms"] for r in engine["network"]}
    rows = []
    for b in batches:
        for t in threads:
            e, o, pt = eng_t[b, t], ort_t[b, t], torch_t[b, t]
            rows.append({"batch": b, "threads": t, "engine": e, "onnxruntime": o, "torch": pt,
                         "engine_over_onnxruntime": e["median"] / o["median"],
                         "engine_over_torch": e["median"] / pt["median"],
                         "gflops": {k: 2 * macs / (v["median"] * 1e-3) * 1e-9
                                    for k, v in (("engine", e), ("onnxruntime", o),
                                                 ("torch", pt))}})
    report["network"] = rows

    print()
    print(f"CPU: {report['cpu']} ({report['logical_cpus']} logical CPUs online)")
    v = report["versions"]
    print(f"PyTorch {v['torch']}, ONNX Runtime {v['onnxruntime']} (CPU provider), "
          f"Python {v['python']}")
    print(f"engine: {lnlfer} (meson buildtype {build_type(lnlfer)}) with {report['blas']}")
    print(f"network: LNLNet {c}x{s}x{s} input, {macs / 1e6:.1f} M multiply-adds per face")
    print(f"per-face latency in ms: median (min-max) of {args.runs} runs after {args.warmup} "
          f"warm-up; batch 8 = batch time / 8")
    print(f"threads: engine lnl_context_new(threads), ONNX Runtime intra_op = threads and "
          f"inter_op = 1, PyTorch set_num_threads(threads) with OpenBLAS inside it at 1")
    head = (f"{'batch':>5} {'thr':>3} | {'engine':>26} | {'ONNX Runtime':>26} | {'PyTorch':>26} |"
            f" {'eng/ORT':>7} {'eng/torch':>9} | GFLOP/s eng/ORT/torch")
    print(head)
    print("-" * len(head))
    for r in rows:
        g = r["gflops"]
        print(f"{r['batch']:>5} {r['threads']:>3} | {fmt(r['engine']):>26} | "
              f"{fmt(r['onnxruntime']):>26} | {fmt(r['torch']):>26} | "
              f"{r['engine_over_onnxruntime']:7.2f} {r['engine_over_torch']:9.2f} | "
              f"{g['engine']:.1f}/{g['onnxruntime']:.1f}/{g['torch']:.1f}")
    ph = engine.get("photo")
    if ph:
        name = os.path.basename(ph["file"]) if args.photo else \
            "synthetic photo (10 pasted copies of the face of tests/data/astronaut.png)"
        print(f"\nengine, whole photo (lnl_analyze: detection + alignment + classification, "
              f"decoding excluded): {name}, {ph['width']}x{ph['height']} "
              f"({ph['width'] * ph['height'] / 1e6:.1f} MP), {ph['runs']} runs after 1 warm-up")
        for r in ph["results"]:
            ms = r["ms"]
            print(f"  {r['threads']} thread(s): {r['faces']} faces, ms median {ms['median']:.1f}"
                  f" (min {ms['min']:.1f}, max {ms['max']:.1f})")
        print(f"  peak resident memory of lnlfer bench: {engine['max_rss_kb'] / 1024:.1f} MB")
    else:
        print("\nwhole photo: not measured (--no-photo)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
        print(f"\nall numbers: {args.json}")


if __name__ == "__main__":
    main()
