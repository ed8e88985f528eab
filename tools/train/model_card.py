#!/usr/bin/python3
"""Write weights/MODEL_CARD.md from measured results only: the training log, the weights
file's metadata and the JSON written by the evaluation commands.

    /usr/bin/python3 tools/train/model_card.py --log runs/main/log.jsonl \
        --weights weights/lnlfer-expression.safetensors \
        --fer runs/eval-fer.json --raf runs/eval-raf.json [--align runs/eval-align.json] \
        --figure region-weights.png --out weights/MODEL_CARD.md
"""
import argparse
import json
import os
import struct

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def read_metadata(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n))["__metadata__"]


def confusion_table(res):
    classes = res["classes"]
    head = "| true \\ predicted | " + " | ".join(classes) + " | recall |\n"
    head += "|---" * (len(classes) + 2) + "|\n"
    rows = ""
    for c, row, rec in zip(classes, res["confusion"], res["per_class_accuracy"]):
        rows += f"| {c} | " + " | ".join(str(v) for v in row) + f" | {100 * rec:.1f} % |\n"
    return head + rows


def pct(v):
    return "-" if v is None else f"{100 * v:.2f} %"


def global_feature(cfg):
    """The model card's words for the global feature of model.py's LNLNet."""
    w3, side = cfg["unet_widths"][3], cfg["input_size"] // 8
    pooled = f"the U-Net bottleneck ({w3} channels at {side}x{side}) average-pooled"
    if not cfg.get("global_hidden"):
        return pooled
    g = cfg.get("global_pool", 1)
    return (f"{pooled} to {g}x{g}, flattened ({w3 * g * g} values, so the position of each "
            f"feature is kept), dropout, one linear layer to {cfg['global_hidden']} and ReLU")


def distillation(recipe):
    """The model card's words for the recipe's distillation, from the summary that
    tools/train/teacher.py wrote next to the teacher file; empty without distillation."""
    w = recipe.get("distill", 0)
    if not w:
        return ""
    with open(os.path.join(ROOT, recipe["teacher"] + ".json")) as f:
        summary = json.load(f)
    runs = "; ".join(f"{r['run']} (epoch {r['epoch']}: {100 * r['fer_valid']:.2f} % / "
                     f"{100 * r['raf_valid']:.2f} %)" for r in summary["runs"])
    return (f"\n\nDistillation (`distill` {w}): each training target is {1 - w:g} times its label "
            f"plus {w:g} times the averaged prediction of {len(summary['runs'])} earlier runs "
            f"(`tools/train/teacher.py`, file `{recipe['teacher']}`), each predicting the "
            f"images cut the way it was trained, without augmentation: {runs} (FER+ valid / "
            f"RAF-DB validation part, as the trainer measures them); the ensemble: "
            f"{100 * summary['fer_valid']:.2f} % / {100 * summary['raf_valid']:.2f} % (each run's "
            f"recipe is in `{recipe['teacher']}.json`).")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--log", required=True)
    p.add_argument("--weights", required=True)
    p.add_argument("--fer", required=True)
    p.add_argument("--raf", required=True)
    p.add_argument("--align")
    p.add_argument("--figure", required=True, help="path of the region-weight figure, relative to the card")
    p.add_argument("--template", required=True, help="model card text with {placeholders}")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    log = [json.loads(line) for line in open(args.log) if line.strip()]
    meta = read_metadata(args.weights)
    cfg = json.loads(meta["lnl.config"])
    recipe = json.loads(meta["lnl.recipe"])
    fer = json.load(open(args.fer))
    raf = json.load(open(args.raf))
    best = next(e for e in log if e["epoch"] == int(meta["lnl.epoch"]))
    final_w = best["fer_valid"]["region_weights"]
    curve = "| epoch | seconds | train loss | FER+ valid | RAF-DB valid | " + " | ".join(
        f"w{i}" for i in range(len(final_w))) + " |\n" + "|---" * (5 + len(final_w)) + "|\n"
    for e in log:
        curve += (f"| {e['epoch']} | {e['seconds']:.0f} | {e['loss']:.3f} | {100 * e['fer_valid']['acc']:.2f} % | "
                  f"{100 * e['raf_valid']['acc']:.2f} % | "
                  + " | ".join(f"{w:.3f}" for w in e["fer_valid"]["region_weights"]) + " |\n")
    align = ""
    if args.align:
        a = json.load(open(args.align))
        align = "\n".join(
            f"| {k} | {v['images']} | {100 * v['detected']:.1f} % | {100 * v['crop_accuracy']:.2f} % | "
            f"{pct(v.get('recut_accuracy'))} | {100 * v['pipeline_accuracy']:.2f} % | "
            f"{pct(v.get('found_accuracy'))} | {v['loss_points']:.2f}"
            + (f" ± {v['loss_se_points']:.2f}" if "loss_se_points" in v else "") + " |"
            for k, v in a.items())
    values = {
        "params": f"{int(meta['lnl.parameters']):,}",
        "macs": f"{int(meta['lnl.macs']) / 1e6:.1f} M",
        "epochs": len(log), "best_epoch": meta["lnl.epoch"],
        "train_minutes": f"{sum(e['seconds'] for e in log) / 60:.0f}",
        "fastest_epoch": f"{min(e['seconds'] for e in log):.0f}",
        "fer_acc": f"{100 * fer['accuracy']:.2f} %", "fer_mca": f"{100 * fer['mean_class_accuracy']:.2f} %",
        "fer_n": fer["images"], "raf_acc": f"{100 * raf['accuracy']:.2f} %",
        "raf_mca": f"{100 * raf['mean_class_accuracy']:.2f} %", "raf_n": raf["images"],
        "fer_confusion": confusion_table(fer), "raf_confusion": confusion_table(raf),
        "curve": curve, "figure": args.figure, "align": align,
        "distillation": distillation(recipe),
        "recipe": json.dumps(recipe, indent=1, sort_keys=True),
        "config": "{\n" + ",\n".join(f' "{k}": {json.dumps(v)}' for k, v in cfg.items()) + "\n}",
        "input": cfg["input_size"], "mean": cfg["mean"], "std": cfg["std"],
        "widths": ", ".join(map(str, cfg["unet_widths"])),
        "decoder": ", ".join(map(str, cfg.get("decoder_widths", cfg["unet_widths"][2:0:-1]))),
        "fch": cfg["feature_channels"], "fs": cfg["input_size"] // 2,
        "nreg": len(cfg["regions"]), "rs": cfg["regions"][0][2], "rs2": 2 * cfg["regions"][0][2],
        "local_width": cfg["local_width"], "ps": cfg["input_size"] // 2 // cfg["nonlocal_pool"],
        "npos": (cfg["input_size"] // 2 // cfg["nonlocal_pool"]) ** 2,
        "inner": cfg["nonlocal_inner"], "global_feature": global_feature(cfg),
        "commit": meta["lnl.source_commit"],
        "weights_sorted": ", ".join(f"w{i} {w:.3f}" for i, w in
                                    sorted(enumerate(final_w), key=lambda t: -t[1])),
    }
    with open(args.template) as f:
        text = f.read()
    with open(args.out, "w") as f:
        f.write(text.format(**values))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
