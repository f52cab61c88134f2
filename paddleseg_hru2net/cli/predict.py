"""``hru2net-predict`` / ``tools/predict.py``: predict masks for images with a trained model.

Flags are those of PaddleSeg's ``tools/predict.py``; images are segmented by the library's
blended sliding window (as in ``hru2net-val`` and ``hru2net analyze``). Writes, as PaddleSeg does,
``pseudo_color_prediction/<name>.png`` (palette PNG whose pixel values are class ids) and
``added_prediction/<name>`` (the image with the prediction blended in).
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

from paddleseg_hru2net.cli.common import (UserError, add_device_argument, add_model_arguments,
                                          add_opts_argument, friendly_main, network_from_args,
                                          set_device)
from paddleseg_hru2net.cli.val import add_inference_arguments
from paddleseg_hru2net.microscopy.containers import CONTAINER_SUFFIXES
from paddleseg_hru2net.microscopy.reading import IMAGE_SUFFIXES as MICROSCOPE_SUFFIXES

#: The image files PaddleSeg's predict reads (microscope containers go to ``hru2net analyze``).
IMAGE_SUFFIXES = tuple(s for s in MICROSCOPE_SUFFIXES if s not in CONTAINER_SUFFIXES)


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


DEFAULT_COLORS = [(0, 0, 0), (255, 60, 60), (60, 200, 60), (60, 110, 255), (250, 200, 40)]


def class_palette(custom_color: Optional[List[int]], num_classes: int) -> List[tuple]:
    """One RGB colour per class: ``--custom_color R G B ...`` or the defaults."""
    if custom_color:
        if len(custom_color) % 3 or len(custom_color) // 3 < num_classes:
            raise UserError(f"--custom_color needs R G B for each of the {num_classes} classes, "
                            f"got {len(custom_color)} numbers")
        return [tuple(custom_color[i:i + 3]) for i in range(0, len(custom_color), 3)]
    return [DEFAULT_COLORS[i % len(DEFAULT_COLORS)] for i in range(num_classes)]


def write_prediction(classes, grey, palette: List[tuple], save_dir: str, relative: str) -> None:
    """PaddleSeg's two outputs: ``pseudo_color_prediction/<rel>.png`` (palette PNG whose pixel
    values are class ids) and ``added_prediction/<rel>`` (the image with the classes blended in)."""
    import numpy as np
    from PIL import Image

    from paddleseg_hru2net.files import atomic_path, write_png
    stem = os.path.splitext(relative)[0]
    pseudo = Image.fromarray(classes.astype(np.uint8), mode="P")
    flat = [v for colour in palette for v in colour]
    pseudo.putpalette(flat + [0] * (768 - len(flat)))
    with atomic_path(os.path.join(save_dir, "pseudo_color_prediction", stem + ".png")) as temporary:
        pseudo.save(temporary, format="PNG")
    base = grey.astype(np.float32) / (257.0 if grey.dtype == np.uint16 else 1.0)
    rgb = np.repeat(base[..., None], 3, axis=2)
    colours = np.asarray(palette, np.float32)[classes]
    blended = np.where(classes[..., None] > 0, 0.6 * rgb + 0.4 * colours, rgb)
    write_png(os.path.join(save_dir, "added_prediction", stem + ".png"),
              np.clip(blended, 0, 255).astype(np.uint8))


@friendly_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from tqdm import tqdm

    from paddleseg_hru2net.cli.val import segmenter_from_args
    from paddleseg_hru2net.files import read_grey

    set_device(args.device)
    network = network_from_args(args)
    images = list_images(args.image_path)
    segmenter = segmenter_from_args(args, network)
    palette = class_palette(args.custom_color, segmenter.feed.num_classes)
    root = args.image_path if os.path.isdir(args.image_path) else None
    for path in tqdm(images, desc="predicting", unit="image"):
        grey = read_grey(path)
        classes = segmenter.probabilities(grey).argmax(axis=0)
        relative = os.path.relpath(path, root) if root else os.path.basename(path)
        write_prediction(classes, grey, palette, args.save_dir, relative)
    print(f"predictions written to {args.save_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
