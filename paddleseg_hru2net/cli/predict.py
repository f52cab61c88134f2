"""``hru2net-predict`` / ``tools/predict.py``: predict masks for images with a trained model.

Flags are those of PaddleSeg's ``tools/predict.py``. Writes, as PaddleSeg does,
``pseudo_color_prediction/<name>.png`` (palette PNG whose pixel values are class ids) and
``added_prediction/<name>`` (the image with the prediction blended in).
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

from paddleseg_hru2net.cli.common import (UserError, add_device_argument, add_model_arguments,
                                          add_opts_argument, build, friendly_main,
                                          load_model_from_args, set_device)
from paddleseg_hru2net.cli.val import add_inference_arguments, inference_options

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def list_images(image_path: str) -> List[str]:
    """An image, a folder of images (recursively) or a list file of images, as PaddleSeg accepts."""
    if os.path.isdir(image_path):
        found = [os.path.join(root, name) for root, _, names in os.walk(image_path)
                 for name in sorted(names)
                 if name.lower().endswith(IMAGE_SUFFIXES) and not name.startswith(".")]
    elif os.path.isfile(image_path) and image_path.lower().endswith(IMAGE_SUFFIXES):
        found = [image_path]
    elif os.path.isfile(image_path):
        folder = os.path.dirname(image_path)
        with open(image_path) as handle:
            found = [os.path.join(folder, line.split()[0]) for line in handle if line.strip()]
    else:
        raise UserError(f"--image_path {image_path} does not exist (give an image, a folder of "
                        f"images or a list file)")
    if not found:
        raise UserError(f"--image_path {image_path} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    missing = [path for path in found if not os.path.isfile(path)]
    if missing:
        raise UserError(f"{image_path} lists {len(missing)} missing images, e.g. {missing[0]}")
    return sorted(found)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="hru2net-predict", description=__doc__.splitlines()[0])
    add_model_arguments(parser)
    parser.add_argument("--image_path", required=True, help="an image, a folder or a list file")
    parser.add_argument("--save_dir", default="./output/result", help="where results go")
    add_device_argument(parser)
    add_inference_arguments(parser)
    parser.add_argument("--custom_color", nargs="+", type=int, default=None,
                        help="colour map: R G B per class")
    add_opts_argument(parser)
    return parser.parse_args(argv)


@friendly_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from paddleseg.core import predict
    from paddleseg.transforms import Compose

    set_device(args.device)
    loaded = load_model_from_args(args)
    images = list_images(args.image_path)
    transforms = Compose(build(loaded.builder, "val_transforms", loaded.config_path),
                         img_channels=loaded.channels)
    options = inference_options(args, loaded.config)
    predict(loaded.model, model_path=loaded.model_path, transforms=transforms, image_list=images,
            image_dir=args.image_path if os.path.isdir(args.image_path) else None,
            save_dir=args.save_dir, aug_pred=options.pop("aug_eval"),
            custom_color=args.custom_color, **options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
