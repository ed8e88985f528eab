#!/usr/bin/python3
"""Write weights/MODEL_CARD.md from measured results only: the training log, the weights
file's metadata and the JSON written by the evaluation commands.

    /usr/bin/python3 tools/train/model_card.py --log runs/main/log.jsonl \
        --weights weights/lnlfer-expression.safetensors \
        --fer runs/eval-fer.json --raf runs/eval-raf.json [--align runs/eval-align.json] \
        --regions runs/eval-regions.json --figure region-weights.png --out weights/MODEL_CARD.md

--fer is evaluate.py's FER+ JSON with both yardsticks ((a) arg-max, (b) the FERPlus
reference protocol under "reference"); --regions tools/eval/region_eval.py's JSON.
--from-card CARD instead of --log/--align: the per-epoch table and the detect + align
table are read back from an earlier card written by this tool (for re-measuring shipped
weights whose run folder is not at hand; the table's rounding is kept as it was printed).
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


def table_rows(text, header_start):
    """Cells of the rows of the markdown table whose header line starts with header_start."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(header_start):
            rows = []
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                rows.append([c.strip() for c in row.strip().strip("|").split("|")])
            return rows
    raise ValueError(f"no table starting {header_start!r} in the card")


def percent(cell):
    """'82.03 %' -> 0.8203; '-' -> None."""
    return None if cell == "-" else float(cell.rstrip("%").strip()) / 100


def log_from_card(text):
    """The training log's fields that the card prints, read back from its epoch table."""
    log = []
    for c in table_rows(text, "| epoch | seconds | train loss |"):
        log.append({"epoch": int(c[0]), "seconds": float(c[1]), "loss": float(c[2]),
                    "fer_valid": {"acc": percent(c[3]), "region_weights": [float(v) for v in c[5:]]},
                    "raf_valid": {"acc": percent(c[4])}})
    return log


def align_from_card(text):
    """tools/eval/align_eval.py's figures as the card prints them, read back."""
    out = {}
    for c in table_rows(text, "| set | faces | detected |"):
        loss = c[7].split("±")
        entry = {"images": int(c[1]), "detected": percent(c[2]), "crop_accuracy": percent(c[3]),
                 "recut_accuracy": percent(c[4]), "pipeline_accuracy": percent(c[5]),
                 "found_accuracy": percent(c[6]), "loss_points": float(loss[0])}
        if len(loss) > 1:
            entry["loss_se_points"] = float(loss[1])
        out[c[0]] = entry
    return out


def curve_table(log):
    """The per-epoch table: seconds, loss, the two validation accuracies, region weights."""
    nreg = len(log[0]["fer_valid"]["region_weights"])
    curve = "| epoch | seconds | train loss | FER+ valid | RAF-DB valid | " + " | ".join(
        f"w{i}" for i in range(nreg)) + " |\n" + "|---" * (5 + nreg) + "|\n"
    for e in log:
        curve += (f"| {e['epoch']} | {e['seconds']:.0f} | {e['loss']:.3f} | {100 * e['fer_valid']['acc']:.2f} % | "
                  f"{100 * e['raf_valid']['acc']:.2f} % | "
                  + " | ".join(f"{w:.3f}" for w in e["fer_valid"]["region_weights"]) + " |\n")
    return curve


def align_rows(a):
    """The detect + align table's rows from tools/eval/align_eval.py's figures."""
    return "\n".join(
        f"| {k} | {v['images']} | {100 * v['detected']:.1f} % | {100 * v['crop_accuracy']:.2f} % | "
        f"{pct(v.get('recut_accuracy'))} | {100 * v['pipeline_accuracy']:.2f} % | "
        f"{pct(v.get('found_accuracy'))} | {v['loss_points']:.2f}"
        + (f" ± {v['loss_se_points']:.2f}" if "loss_se_points" in v else "") + " |"
        for k, v in a.items())


def regions_text(res):
    """The card's words and tables for tools/eval/region_eval.py's results."""
    if res is None:
        return "Not measured for these weights (`tools/eval/region_eval.py`)."
    sets = res["sets"]
    any_set = next(iter(sets.values()))
    text = ("| set | faces | intact accuracy | mean Spearman (weights, drops) | top-weight region "
            "most damaging | weight entropy (nats) |\n|---|---|---|---|---|---|\n")
    for name, r in sets.items():
        text += (f"| {name} | {r['faces']} | {100 * r['accuracy_intact']:.2f} % | "
                 f"{r['spearman_mean']:.3f} | {100 * r['top_weight_is_most_damaging']:.1f} % | "
                 f"{r['weight_entropy_mean_nats']:.3f} |\n")
    text += (f"\nChance for the top-weight region: {100 * any_set['chance']:.1f} %; the entropy of "
             f"uniform weights: {any_set['entropy_max_nats']:.3f} nats.\n")
    for name, r in sets.items():
        nreg = len(r["mean_drop_per_region"])
        text += (f"\nMean weight per region by true class, {name} (last row: the mean drop\n"
                 f"of the predicted class's probability when the region is greyed):\n\n"
                 "| class | faces | " + " | ".join(f"w{i}" for i in range(nreg)) + " |\n"
                 + "|---" * (nreg + 2) + "|\n")
        for c, w in r["mean_weight_per_class"].items():
            if w is not None:
                text += (f"| {c} | {r['faces_per_class'][c]} | "
                         + " | ".join(f"{v:.3f}" for v in w) + " |\n")
        text += ("| drop | " + str(r["faces"]) + " | "
                 + " | ".join(f"{v:.3f}" for v in r["mean_drop_per_region"]) + " |\n")
    return text.rstrip("\n")


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
    p.add_argument("--log", help="the run's log.jsonl")
    p.add_argument("--from-card", help="read the log and the align figures from this earlier card")
    p.add_argument("--weights", required=True)
    p.add_argument("--fer", required=True)
    p.add_argument("--raf", required=True)
    p.add_argument("--align")
    p.add_argument("--regions", help="tools/eval/region_eval.py's JSON")
    p.add_argument("--figure", required=True, help="path of the region-weight figure, relative to the card")
    p.add_argument("--template", required=True, help="model card text with {placeholders}")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    if bool(args.log) == bool(args.from_card):
        p.error("give either --log or --from-card")
    card = open(args.from_card).read() if args.from_card else None
    log = log_from_card(card) if card else [json.loads(line) for line in open(args.log) if line.strip()]
    meta = read_metadata(args.weights)
    cfg = json.loads(meta["lnl.config"])
    recipe = json.loads(meta["lnl.recipe"])
    fer = json.load(open(args.fer))
    if "reference" not in fer:
        raise SystemExit(f"{args.fer}: no FERPlus reference-protocol results (rerun tools/train/evaluate.py)")
    ferb = fer["reference"]
    regions = json.load(open(args.regions)) if args.regions else None
    raf = json.load(open(args.raf))
    best = next(e for e in log if e["epoch"] == int(meta["lnl.epoch"]))
    final_w = best["fer_valid"]["region_weights"]
    curve = curve_table(log)
    align = ""
    if args.align or card:
        align = align_rows(json.load(open(args.align)) if args.align else align_from_card(card))
    values = {
        "params": f"{int(meta['lnl.parameters']):,}",
        "macs": f"{int(meta['lnl.macs']) / 1e6:.1f} M",
        "epochs": len(log), "best_epoch": meta["lnl.epoch"],
        "train_minutes": f"{sum(e['seconds'] for e in log) / 60:.0f}",
        "fastest_epoch": f"{min(e['seconds'] for e in log):.0f}",
        "fer_acc": f"{100 * fer['accuracy']:.2f} %", "fer_mca": f"{100 * fer['mean_class_accuracy']:.2f} %",
        "fer_n": fer["images"], "ferb_acc": f"{100 * ferb['accuracy']:.2f} %",
        "ferb_mca": f"{100 * ferb['mean_class_accuracy']:.2f} %", "ferb_n": ferb["images"],
        "ferb_confusion": confusion_table(ferb), "regions": regions_text(regions),
        "raf_acc": f"{100 * raf['accuracy']:.2f} %",
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
