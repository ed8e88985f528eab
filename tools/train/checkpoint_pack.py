#!/usr/bin/python3
"""Carries an unfinished training run from one machine to the next through the repository.

The run folders live outside the repository (/var/cache/lnlfer-runs), and a session's
machine may be new: a run that spans sessions is packed into the repository at the end
of a session and unpacked at the start of the next one, then resumed with its usual
command (which continues from RUN/last.pt).

    checkpoint_pack.py pack RUN PACK      # RUN/{last.pt,best.pt,log.jsonl} -> PACK
    checkpoint_pack.py unpack PACK RUN    # PACK -> RUN/{last.pt,best.pt,log.jsonl}

The pack keeps everything `train.resume` restores: the model and EMA weights in float16,
the optimiser's moments in bfloat16 (their range, not their precision, matters), the
step counters, both random states and the best score. Resuming from a pack therefore
differs from resuming from last.pt only by that rounding (checked by `--check`, which
unpacks into memory and reports the largest relative difference per part).
"""
import argparse
import os
import sys

import torch

FLOAT_PARTS = {"model": torch.float16, "ema": torch.float16}


def _shrink(value, dtype):
    if torch.is_tensor(value) and value.is_floating_point():
        return value.to(dtype)
    return value


def _grow(value, like_float=torch.float32):
    if torch.is_tensor(value) and value.is_floating_point():
        return value.to(like_float)
    return value


def pack(ck):
    out = dict(ck)
    for part, dtype in FLOAT_PARTS.items():
        out[part] = {k: _shrink(v, dtype) for k, v in ck[part].items()}
    opt = dict(ck["opt"])
    # "step" counters stay exact; the moments go to bfloat16
    opt["state"] = {i: {k: (v if k == "step" else _shrink(v, torch.bfloat16)) for k, v in s.items()}
                    for i, s in ck["opt"]["state"].items()}
    out["opt"] = opt
    out["packed"] = 1
    return out


def unpack(pk):
    out = dict(pk)
    out.pop("packed", None)
    for part in FLOAT_PARTS:
        out[part] = {k: _grow(v) for k, v in pk[part].items()}
    opt = dict(pk["opt"])
    opt["state"] = {i: {k: (v if k == "step" else _grow(v)) for k, v in s.items()}
                    for i, s in pk["opt"]["state"].items()}
    out["opt"] = opt
    return out


def max_relative_difference(a, b):
    """The largest |a - b| / max|a| over the float tensors of two nested dicts."""
    if torch.is_tensor(a):
        if not a.is_floating_point():
            return 0.0 if torch.equal(a, b) else float("inf")
        scale = a.abs().max().item() or 1.0
        return (a - b.to(a.dtype)).abs().max().item() / scale
    if isinstance(a, dict):
        return max([max_relative_difference(a[k], b[k]) for k in a] or [0.0])
    return 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("action", choices=["pack", "unpack"])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--check", action="store_true", help="pack: report the rounding per part")
    args = ap.parse_args()
    if args.action == "pack":
        ck = torch.load(os.path.join(args.src, "last.pt"))
        pk = pack(ck)
        with open(os.path.join(args.src, "log.jsonl")) as f:
            pk["log_jsonl"] = f.read()
        best_path = os.path.join(args.src, "best.pt")
        if os.path.exists(best_path):
            best = torch.load(best_path)
            best["ema"] = None if best["epoch"] == ck["epoch"] else \
                {k: _shrink(v, torch.float16) for k, v in best["ema"].items()}
            pk["best_pt"] = best
        tmp = args.dst + ".tmp"
        torch.save(pk, tmp)
        os.replace(tmp, args.dst)
        print(f"packed epoch {ck['epoch']} (step {ck['step']}) into {args.dst}: "
              f"{os.path.getsize(args.dst) / 1e6:.1f} MB")
        if args.check:
            back = unpack(torch.load(args.dst))
            for part in ("model", "ema", "opt"):
                print(f"  {part}: largest relative difference {max_relative_difference(ck[part], back[part]):.2e}")
    else:
        pk = torch.load(args.src)
        if not pk.get("packed"):
            sys.exit(f"{args.src} is not a pack written by this tool")
        os.makedirs(args.dst, exist_ok=True)
        last = os.path.join(args.dst, "last.pt")
        if os.path.exists(last):
            sys.exit(f"{last} exists: the run is already here (remove it to unpack over it)")
        log = pk.pop("log_jsonl")
        best = pk.pop("best_pt", None)
        ck = unpack(pk)
        with open(os.path.join(args.dst, "log.jsonl"), "w") as f:
            f.write(log)
        if best is not None:
            best["ema"] = dict(ck["ema"]) if best["ema"] is None else \
                {k: _grow(v) for k, v in best["ema"].items()}
            torch.save(best, os.path.join(args.dst, "best.pt"))
        torch.save(ck, last + ".tmp")
        os.replace(last + ".tmp", last)
        print(f"unpacked epoch {ck['epoch']} (step {ck['step']}) into {args.dst}")


if __name__ == "__main__":
    main()
