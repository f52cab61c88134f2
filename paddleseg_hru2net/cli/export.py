"""``hru2net-export`` / ``tools/export.py``: export a trained model for deployment.

Flags are those of PaddleSeg's ``tools/export.py``. Writes the static program (``model.json``
on Paddle 3's PIR, ``model.pdmodel`` before), ``model.pdiparams`` and a ``deploy.yaml`` that
names the files actually written and records how to feed the model (window, normalisation,
classes). ``hru2net analyze`` needs no manual export: it builds and caches one itself.
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from paddleseg_hru2net.cli.common import (UserError, add_model_arguments, add_opts_argument,
                                          friendly_main, network_from_args)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="hru2net-export", description=__doc__.splitlines()[0])
    add_model_arguments(parser)
    parser.add_argument("--save_dir", default="./output/inference_model", help="output folder")
    parser.add_argument("--input_shape", nargs="+", type=int, default=None,
                        help="fixed input shape N C H W (default: any batch and size)")
    parser.add_argument("--output_op", choices=["argmax", "softmax", "none"], default="argmax",
                        help="what the exported model outputs")
    parser.add_argument("--onnx", action="store_true",
                        help="also convert to ONNX (model.onnx) with paddle2onnx, for ONNX Runtime")
    add_opts_argument(parser)
    return parser.parse_args(argv)


@friendly_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    import paddle

    from paddleseg_hru2net.deploy.export import export_static

    if args.input_shape is not None and (len(args.input_shape) != 4 or min(args.input_shape) < -1
                                         or 0 in args.input_shape):
        raise UserError(f"--input_shape takes 4 numbers N C H W (-1 for any), got {args.input_shape}")
    paddle.set_device("cpu")
    network = network_from_args(args)
    extra = {"feed": network.feed.as_dict(), "model_type": network.name}
    if network.record.get("train_crop_size"):
        extra["train_crop_size"] = network.record["train_crop_size"]
    written = export_static(network.layer, args.save_dir, network.feed.channels, args.input_shape,
                            args.output_op, transforms=network.config.val_dataset_cfg.get("transforms"),
                            extra=extra)
    if args.onnx:
        from paddleseg_hru2net.deploy.onnx import export_onnx
        written["onnx"] = export_onnx(args.save_dir)
    for kind, path in written.items():
        print(f"{kind}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
