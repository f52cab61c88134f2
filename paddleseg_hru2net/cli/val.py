"""``hru2net-val`` / ``tools/val.py``: evaluate a trained model with the paper's five metrics.

Flags are those of PaddleSeg's ``tools/val.py``. Every image of the config's val list is
segmented whole by the library's blended sliding window (the one ``hru2net analyze`` and the
whole-image evaluation use), at the window stored with the weights unless ``--is_slide
--crop_size W H --stride W H`` say otherwise, so all three report the same numbers for the same
weights and window. The metrics (mIoU, pixel accuracy, Kappa, Dice, per-class IoU, particle
IoU) are printed and written as JSON (``--save_json``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import List, Optional

from paddleseg_hru2net.cli.common import (UserError, add_device_argument, add_model_arguments,
                                          add_opts_argument, friendly_main, network_from_args,
                                          positive_pair, set_device)
from paddleseg_hru2net.files import write_json


def add_inference_arguments(parser: argparse.ArgumentParser) -> None:
    """Test-time options shared by val and predict (PaddleSeg's names; sizes are width height)."""
    parser.add_argument("--aug_eval", "--aug_pred", dest="aug", action="store_true",
                        help="flip augmentation (--flip_horizontal, --flip_vertical)")
    parser.add_argument("--scales", nargs="+", type=float, default=[1.0],
                        help="accepted for PaddleSeg compatibility; only 1.0 is supported")
    parser.add_argument("--flip_horizontal", action="store_true", help="horizontal flip for --aug_eval")
    parser.add_argument("--flip_vertical", action="store_true", help="vertical flip for --aug_eval")
    parser.add_argument("--is_slide", action="store_true",
                        help="slide --crop_size windows by --stride (default: the stored window)")
    parser.add_argument("--crop_size", nargs=2, type=int, default=None, help="window: width height")
    parser.add_argument("--stride", nargs=2, type=int, default=None, help="window stride: width height")
    parser.add_argument("--window", nargs=2, type=int, default=None, metavar=("H", "W"),
                        help="window as height width (this package's order; same as --is_slide --crop_size W H)")


def segmenter_from_args(args: argparse.Namespace, network):
    """The network as a :class:`~paddleseg_hru2net.inference.segmenter.Segmenter` (Paddle
    dynamic, the device chosen) with the window and test-time flips the flags ask for."""
    from paddleseg_hru2net.inference.backends.paddle_dynamic import paddle_runner
    from paddleseg_hru2net.inference.segmenter import Segmenter
    if [s for s in args.scales if s != 1.0]:
        raise UserError(f"--scales {args.scales}: multi-scale evaluation is not supported; "
                        f"the model slides its training window at the image's own scale")
    window = positive_pair(args.window, "--window")
    if args.is_slide:
        if not args.crop_size or not args.stride:
            raise UserError("--is_slide needs --crop_size W H and --stride W H")
        crop = positive_pair(args.crop_size, "--crop_size")
        stride = positive_pair(args.stride, "--stride")
        window, stride = [crop[1], crop[0]], [stride[1], stride[0]]
    else:
        stride = None
    run = paddle_runner(network.layer)
    if args.aug:
        run = flip_averaged(run, args.flip_horizontal, args.flip_vertical)
    return Segmenter(run, network.feed.with_window(window, stride), "paddle", network.source)


def flip_averaged(run, horizontal: bool, vertical: bool):
    """``run`` averaged over the flipped batches (PaddleSeg's ``--aug_eval`` flips), in logits."""
    import numpy as np
    flips = [()] + ([(3,)] if horizontal else []) + ([(2,)] if vertical else [])

    def averaged(batch: np.ndarray) -> np.ndarray:
        total = None
        for axes in flips:
            flipped = np.flip(batch, axes) if axes else batch
            scores = run(np.ascontiguousarray(flipped))
            scores = np.flip(scores, axes) if axes else scores
            total = scores if total is None else total + scores
        return total / len(flips)

    return averaged


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="hru2net-val", description=__doc__.splitlines()[0])
    add_model_arguments(parser)
    parser.add_argument("--num_workers", type=int, default=0, help="accepted for PaddleSeg compatibility")
    add_device_argument(parser)
    add_inference_arguments(parser)
    parser.add_argument("--save_json", default=None,
                        help="metrics file (default: val_metrics.json beside the weights)")
    add_opts_argument(parser)
    return parser.parse_args(argv)


@friendly_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from paddleseg_hru2net.evaluation import evaluate_whole_images, list_samples
    from paddleseg_hru2net.inference.paddle_model import build

    set_device(args.device)
    network = network_from_args(args)
    dataset = build(network.builder, "val_dataset", network.config_path)
    segmenter = segmenter_from_args(args, network)
    samples = list_samples([(image, label) for image, label in dataset.file_list])
    result = evaluate_whole_images(segmenter, samples, label_classes=dataset.num_classes)
    result.pop("per_image_particle_iou", None)
    result.update(config=os.path.abspath(network.config_path),
                  model_path=os.path.abspath(network.source.weights), images=len(dataset.file_list))
    save_json = args.save_json or os.path.join(os.path.dirname(network.source.weights), "val_metrics.json")
    write_json(save_json, result)
    keys = ("mIoU", "accuracy", "kappa", "dice", "class_iou", "particle_iou", "window")
    print(json.dumps({k: result[k] for k in keys if k in result}))
    print(f"metrics written to {save_json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
