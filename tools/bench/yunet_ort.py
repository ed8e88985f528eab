#!/usr/bin/python3
"""ONNX Runtime's time for one YuNet pass, the reference for the engine's detector speed.

    python3 tools/bench/yunet_ort.py MODEL.onnx [--sizes 480x640,1088x1920] [--threads 1,2]
                                     [--runs 30] [--warmup 3] [--json FILE]

Runs in the Debian 13 root (python3-onnxruntime 1.21): scripts/trixie-root run --bind
/work/shared python3 tools/bench/yunet_ort.py ../shared/models/yunet/yunet_n_dynamic.onnx.
Sizes are HEIGHTxWIDTH of the network input; YuNet needs multiples of 32 (a 1920x1080
photo runs padded to 1088 rows). Session: intra_op_num_threads = threads,
inter_op_num_threads = 1, sequential execution, all graph optimisations. Each size and
thread count: warm-up runs, then timed runs of a random input; prints the median and
minimum wall time and the median process CPU time (all threads) per pass: on a machine
shared with other work the CPU time is the steadier figure for one thread.
"""
import argparse
import json
import platform
import time

import numpy as np
import onnxruntime as ort


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def time_pass(model, h, w, threads, runs, warmup):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    x = np.random.default_rng(0).uniform(0, 255, (1, 3, h, w)).astype(np.float32)
    for _ in range(warmup):
        sess.run(None, {name: x})
    wall, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        sess.run(None, {name: x})
        wall.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    return {
        "height": h,
        "width": w,
        "threads": threads,
        "wall_median_ms": float(np.median(wall)),
        "wall_min_ms": float(np.min(wall)),
        "cpu_median_ms": float(np.median(cpu)),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--sizes", default="480x640,1088x1920")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--json")
    a = ap.parse_args()
    results = []
    print(f"# ONNX Runtime {ort.__version__}, {cpu_name()}")
    print("# size       threads  wall median  wall min  CPU median (ms)")
    for size in a.sizes.split(","):
        h, w = (int(v) for v in size.split("x"))
        if h % 32 or w % 32:
            raise SystemExit(f"yunet_ort.py: {size}: YuNet needs multiples of 32")
        for t in (int(v) for v in a.threads.split(",")):
            r = time_pass(a.model, h, w, t, a.runs, a.warmup)
            results.append(r)
            print(f"  {h}x{w:<6} {t:7d} {r['wall_median_ms']:12.2f} {r['wall_min_ms']:9.2f}"
                  f" {r['cpu_median_ms']:11.2f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"onnxruntime": ort.__version__, "cpu": cpu_name(), "runs": results}, f,
                      indent=1)


if __name__ == "__main__":
    main()
