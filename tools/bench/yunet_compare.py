#!/usr/bin/python3
"""The engine's YuNet operators against ONNX Runtime's whole YuNet pass, in one table.

    python3 tools/bench/yunet_compare.py --ops-bench BUILD/tools/bench/ops_bench MODEL.onnx
        [--sizes 480x640,1088x1920] [--threads 1,2] [--runs 20] [--json FILE]

Runs in the Debian 13 root (python3-onnx, python3-onnxruntime 1.21), normally from
tools/bench/run.sh. For each input size (HEIGHTxWIDTH, multiples of 32: a 1920x1080 photo
runs padded to 1088 rows) and thread count:
  - engine: whole passes over YuNet's operators (tools/bench/yunet_layers.py lists them,
    the ReLUs fused into their convolutions) in tools/bench/ops_bench --pass, with the
    kernel set this CPU picks: the operators alone, without the graph runner around them
    (its buffers, its output decoding);
  - ONNX Runtime: one whole pass (tools/bench/yunet_ort.py).
Both as the median of --runs timed runs of the process CPU time (the steadier figure on a
shared machine, and for one thread the work done), and as the minimum wall time (for two
threads the figure that counts; CPU time there also counts the threads' spinning).
"""
import argparse
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yunet_layers  # noqa: E402
import yunet_ort  # noqa: E402


def engine_time(ops_bench, lines, threads, runs, clock):
    """Median and minimum of whole passes over the operators, and the kernel set."""
    r = subprocess.run([ops_bench, "--pass", "--threads", str(threads), "--runs", str(runs),
                        "--clock", clock], input="\n".join(lines) + "\n", capture_output=True,
                       text=True, check=True)
    m = re.search(r"^pass ([0-9.]+) ms \(min ([0-9.]+)\)", r.stdout, re.M)
    kernels = re.search(r"^# kernels (\S+),", r.stdout, re.M).group(1)
    return float(m.group(1)), float(m.group(2)), kernels


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--ops-bench", required=True)
    ap.add_argument("--sizes", default="480x640,1088x1920")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--json")
    a = ap.parse_args()
    rows = []
    print(f"YuNet ({os.path.basename(a.model)}) on {yunet_ort.cpu_name()}: engine operators "
          f"vs ONNX Runtime {yunet_ort.ort.__version__}, ms per pass")
    print(f"{'input':>10} {'threads':>7} | {'CPU: engine':>11} {'ORT':>7} {'ratio':>5} | "
          f"{'wall min: engine':>16} {'ORT':>7} {'ratio':>5}")
    for size in a.sizes.split(","):
        h, w = (int(v) for v in size.split("x"))
        lines = yunet_layers.layers(a.model, h, w)
        for t in (int(v) for v in a.threads.split(",")):
            cpu, _, kernels = engine_time(a.ops_bench, lines, t, a.runs, "cpu")
            _, wall_min, _ = engine_time(a.ops_bench, lines, t, a.runs, "wall")
            o = yunet_ort.time_pass(a.model, h, w, t, a.runs, 3)
            row = {"height": h, "width": w, "threads": t, "kernels": kernels,
                   "engine_cpu_median_ms": cpu, "engine_wall_min_ms": wall_min,
                   "ort_cpu_median_ms": o["cpu_median_ms"], "ort_wall_min_ms": o["wall_min_ms"]}
            rows.append(row)
            print(f"{size:>10} {t:7d} | {cpu:11.2f} {o['cpu_median_ms']:7.2f} "
                  f"{cpu / o['cpu_median_ms']:5.2f} | {wall_min:16.2f} {o['wall_min_ms']:7.2f} "
                  f"{wall_min / o['wall_min_ms']:5.2f}")
    print("engine: passes over its operators (tools/bench/ops_bench --pass), kernels "
          f"{rows[0]['kernels'] if rows else '?'}; ONNX Runtime: whole passes")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"cpu": yunet_ort.cpu_name(), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
