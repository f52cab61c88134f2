"""``hru2net-benchmark`` / ``tools/benchmark.py``: the paper's Table 2, Fig. 3 and Fig. 5 for any
set of configs (and trained weights), side by side in one run.

Writes to ``--out``: ``results.md`` and ``results.csv`` (parameters, GFLOPs at 512 x 512, median
CPU latency of a forward, training time, and on the test images mIoU, accuracy, Kappa, Dice and
particle IoU), ``results.json``, ``loss_curves.png`` and ``predictions.png``.

Example:
    hru2net-benchmark --configs configs/cpu/hru2netp_tio2_160x160_550.yml configs/cpu/u2netp_tio2_160x160_550.yml \\
        --weights runs/hru2netp/iter_550/model.pdparams runs/u2netp/iter_550/model.pdparams \\
        --release ../shared/data/tio2_sem_ruhle2021 --manifest data/tio2_512/manifest.json --out docs/results
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from datetime import datetime
from typing import Dict, List, Optional

from paddleseg_hru2net.cli.common import UserError, doc_parser, friendly_main

_STAMP = "%Y-%m-%d %H:%M:%S"


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = doc_parser("hru2net-benchmark", __doc__)
    parser.add_argument("--configs", nargs="+", required=True, help="model configs")
    parser.add_argument("--weights", nargs="+", default=None,
                        help="trained weights, one per config ('none' for an untrained row)")
    parser.add_argument("--names", nargs="+", default=None, help="row names (default: model type)")
    parser.add_argument("--release", default=None, help="TiO2 release folder (whole test images)")
    parser.add_argument("--manifest", default=None, help="manifest.json naming the test images")
    parser.add_argument("--split", default="test", help="split of the manifest to evaluate")
    parser.add_argument("--test_list", default=None, help="or: a PaddleSeg list of test images")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--latency_size", type=int, default=512, help="input size of the latency")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds (models interleaved)")
    parser.add_argument("--grid_images", type=int, default=3, help="test images in the grid")
    return parser.parse_args(argv)


def _training_record(weights: Optional[str]) -> Dict[str, object]:
    """Loss curve and wall-clock training time from the run's train.log, if there is one."""
    from paddleseg_hru2net.figures import parse_train_log
    if not weights:
        return {}
    folder = os.path.dirname(os.path.abspath(weights))
    for candidate in (folder, os.path.dirname(folder)):
        log = os.path.join(candidate, "train.log")
        if os.path.isfile(log):
            iterations, losses = parse_train_log(log)
            with open(log, errors="replace") as handle:
                stamps = [line[:19] for line in handle if "[TRAIN]" in line]
            hours = None
            if len(stamps) >= 2 and len(iterations) >= 2:
                span = (datetime.strptime(stamps[-1], _STAMP) - datetime.strptime(stamps[0], _STAMP))
                per_iteration = span.total_seconds() / max(iterations[-1] - iterations[0], 1)
                hours = per_iteration * iterations[-1] / 3600.0
            return {"curve": (iterations, losses), "train_hours": hours}
    return {}


def _samples(args):
    from paddleseg_hru2net.evaluation import list_samples, release_samples, split_image_ids
    if args.test_list:
        return list(list_samples(args.test_list))
    if args.release and args.manifest:
        return list(release_samples(args.release, split_image_ids(args.manifest, args.split)))
    return None


def _fmt(value, digits=4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


@friendly_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    weights = args.weights or ["none"] * len(args.configs)
    if len(weights) != len(args.configs):
        raise UserError(f"{len(args.configs)} configs but {len(weights)} weights; give one per "
                        f"config ('none' where there is none)")
    weights = [None if w.lower() == "none" else w for w in weights]

    import paddle
    from paddleseg_hru2net.benchmark import (count_flops, count_parameters, interleaved_timings,
                                             markdown_table)
    from paddleseg_hru2net.evaluation import evaluate_whole_images
    from paddleseg_hru2net.figures import plot_loss_curves, plot_prediction_grid
    from paddleseg_hru2net.files import write_json, write_text
    from paddleseg_hru2net.inference.backends.paddle_dynamic import paddle_runner
    from paddleseg_hru2net.inference.paddle_model import load_network
    from paddleseg_hru2net.inference.segmenter import Segmenter
    from paddleseg_hru2net.inference.source import ModelSource

    paddle.set_device("cpu")
    trained = [load_network(ModelSource(config=c, weights=w), weights_required=False)
               for c, w in zip(args.configs, weights)]
    names = args.names or [t.name for t in trained]
    if len(set(names)) != len(names):
        raise UserError(f"row names must differ, got {names}; pass --names")
    samples = _samples(args)

    rows: Dict[str, Dict[str, object]] = {}
    for name, model, weight, config in zip(names, trained, weights, args.configs):
        rows[name] = {"config": config, "weights": weight,
                      "params_M": count_parameters(model.layer) / 1e6,
                      "GFLOPs_512": count_flops(model.layer, [1, model.feed.channels, 512, 512]) / 1e9}
        rows[name].update(_training_record(weight))
    latency = interleaved_timings(
        {n: t.layer for n, t in zip(names, trained)},
        [1, trained[0].feed.channels, args.latency_size, args.latency_size], repeats=args.repeats,
        modes=("forward",)) if len({t.feed.channels for t in trained}) == 1 else None
    predictions: Dict[str, Dict[str, object]] = {}
    for name, model, weight in zip(names, trained, weights):
        if latency is None:
            single = interleaved_timings({name: model.layer},
                                         [1, model.feed.channels, args.latency_size, args.latency_size],
                                         repeats=args.repeats, modes=("forward",))
            rows[name]["latency_s"] = single[name]["forward"]
        else:
            rows[name]["latency_s"] = latency[name]["forward"]
        if samples is not None and weight is not None:
            segmenter = Segmenter(paddle_runner(model.layer), model.feed, "paddle", model.source)
            result = evaluate_whole_images(segmenter, samples, keep_predictions=True)
            predictions[name] = {k: v[2] for k, v in result.pop("predictions").items()}
            rows[name].update({k: result[k] for k in ("mIoU", "accuracy", "kappa", "dice",
                                                      "particle_iou", "per_image_particle_iou",
                                                      "window")})

    header = ["model", "params (M)", "GFLOPs @512", f"CPU forward s @{args.latency_size}",
              "train h", "mIoU", "accuracy", "Kappa", "Dice", "particle IoU"]
    table = [[n, _fmt(r["params_M"], 3), _fmt(r["GFLOPs_512"], 2), _fmt(r["latency_s"], 2),
              _fmt(r.get("train_hours"), 2), _fmt(r.get("mIoU")), _fmt(r.get("accuracy")),
              _fmt(r.get("kappa")), _fmt(r.get("dice")), _fmt(r.get("particle_iou"))]
             for n, r in rows.items()]
    os.makedirs(args.out, exist_ok=True)
    markdown = markdown_table(header, table)
    write_text(os.path.join(args.out, "results.md"), markdown + "\n")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(table)
    write_text(os.path.join(args.out, "results.csv"), buffer.getvalue())
    write_json(os.path.join(args.out, "results.json"),
               {n: {k: v for k, v in r.items() if k != "curve"} for n, r in rows.items()})
    plot_loss_curves({n: r["curve"] for n, r in rows.items() if "curve" in r},
                     os.path.join(args.out, "loss_curves.png"))
    if predictions and samples:
        shown = samples[:args.grid_images]
        plot_prediction_grid(shown, predictions, os.path.join(args.out, "predictions.png"))
    print(markdown)
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
