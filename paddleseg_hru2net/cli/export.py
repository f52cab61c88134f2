"""``hru2net-export`` / ``tools/export.py``: export a trained model for deployment.

Flags are those of PaddleSeg's ``tools/export.py``. Writes the static program (``model.json``
on Paddle 3's PIR, ``model.pdmodel`` before), ``model.pdiparams`` and a ``deploy.yaml`` that
names the files actually written.
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from paddleseg_hru2net.cli.common import (UserError, add_model_arguments, add_opts_argument,
                                          friendly_main, load_model_from_args)
from paddleseg_hru2net.training import read_run_record


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

    if args.input_shape is not None and len(args.input_shape) != 4:
        raise UserError(f"--input_shape takes 4 numbers N C H W, got {args.input_shape}")
    paddle.set_device("cpu")
    loaded = load_model_from_args(args)
    record = read_run_record(loaded.model_path)
    extra = {"train_crop_size": record["train_crop_size"]} if record.get("train_crop_size") else {}
    written = export_static(loaded.model, args.save_dir, loaded.channels, args.input_shape,
                            args.output_op, transforms=loaded.config.val_dataset_cfg.get("transforms"),
                            extra=extra)
    if args.onnx:
        from paddleseg_hru2net.deploy.onnx import export_onnx
        written["onnx"] = export_onnx(args.save_dir)
    for kind, path in written.items():
        print(f"{kind}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
