"""``hru2net-val`` / ``tools/val.py``: evaluate a trained model with the paper's five metrics.

Flags are those of PaddleSeg's ``tools/val.py``; the metrics (mIoU, pixel accuracy, Kappa,
Dice, per-class IoU) are printed and written as JSON (``--save_json``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import List, Optional

from paddleseg_hru2net.cli.common import (add_device_argument, add_model_arguments,
                                          add_opts_argument, build, friendly_main,
                                          load_model_from_args, set_device)
from paddleseg_hru2net.io import write_json


def add_inference_arguments(parser: argparse.ArgumentParser) -> None:
    """Test-time options shared by val and predict (PaddleSeg's names)."""
    parser.add_argument("--aug_eval", "--aug_pred", dest="aug", action="store_true",
                        help="multi-scale and flip augmentation")
    parser.add_argument("--scales", nargs="+", type=float, default=1.0, help="scales for --aug_eval")
    parser.add_argument("--flip_horizontal", action="store_true", help="horizontal flip for --aug_eval")
    parser.add_argument("--flip_vertical", action="store_true", help="vertical flip for --aug_eval")
    parser.add_argument("--is_slide", action="store_true", help="sliding-window inference")
    parser.add_argument("--crop_size", nargs=2, type=int, default=None, help="window: width height")
    parser.add_argument("--stride", nargs=2, type=int, default=None, help="window stride: width height")


def inference_options(args: argparse.Namespace, config) -> dict:
    """Test options from the flags, falling back to the config's ``test_config``."""
    options = dict(config.test_config)
    options.update(aug_eval=args.aug, scales=args.scales, flip_horizontal=args.flip_horizontal,
                   flip_vertical=args.flip_vertical)
    if args.is_slide:
        options.update(is_slide=True, crop_size=args.crop_size, stride=args.stride)
    if options.get("is_slide") and (not options.get("crop_size") or not options.get("stride")):
        from paddleseg_hru2net.cli.common import UserError
        raise UserError("--is_slide needs --crop_size W H and --stride W H (or test_config in the config)")
    return options


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="hru2net-val", description=__doc__.splitlines()[0])
    add_model_arguments(parser)
    parser.add_argument("--num_workers", type=int, default=0, help="data loader workers")
    add_device_argument(parser)
    add_inference_arguments(parser)
    parser.add_argument("--save_json", default=None,
                        help="metrics file (default: val_metrics.json beside the weights)")
    add_opts_argument(parser)
    return parser.parse_args(argv)


@friendly_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from paddleseg.core import evaluate

    from paddleseg_hru2net.metrics import metrics_from_paddleseg

    set_device(args.device)
    loaded = load_model_from_args(args)
    val_dataset = build(loaded.builder, "val_dataset", loaded.config_path)
    options = inference_options(args, loaded.config)
    miou, accuracy, class_iou, class_precision, kappa = evaluate(
        loaded.model, val_dataset, num_workers=args.num_workers, **options)
    result = metrics_from_paddleseg(miou, accuracy, class_iou, class_precision, kappa)
    result.update(config=os.path.abspath(loaded.config_path),
                  model_path=os.path.abspath(loaded.model_path), images=len(val_dataset))
    save_json = args.save_json or os.path.join(os.path.dirname(loaded.model_path), "val_metrics.json")
    write_json(save_json, result)
    print(json.dumps({k: result[k] for k in ("mIoU", "accuracy", "kappa", "dice", "class_iou")}))
    print(f"metrics written to {save_json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
