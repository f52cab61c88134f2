"""``hru2net-synth``: write N synthetic SEM images with exact masks as a PaddleSeg dataset."""
from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

from tqdm import tqdm

from paddleseg_hru2net.cli.common import UserError, friendly_main
from paddleseg_hru2net.datasets.layout import write_lists, write_sample
from paddleseg_hru2net.datasets.synthetic import SyntheticSEMConfig, generate_sem_image
from paddleseg_hru2net.files import staged_folder, write_json


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="hru2net-synth", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="dataset folder to write")
    parser.add_argument("--num", type=int, default=100, help="number of images")
    parser.add_argument("--size", nargs=2, type=int, default=[512, 512], metavar=("H", "W"),
                        help="image height and width")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first image")
    parser.add_argument("--val_fraction", type=float, default=0.2, help="fraction for val.txt")
    parser.add_argument("--test_fraction", type=float, default=0.0, help="fraction for test.txt")
    parser.add_argument("--data_bar_rows", type=int, default=0, help="add a data bar this high")
    parser.add_argument("--median_radius", type=float, default=SyntheticSEMConfig.median_radius,
                        help="median particle radius in pixels")
    parser.add_argument("--coverage", type=float, default=SyntheticSEMConfig.coverage,
                        help="fraction of the image covered by particles")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    return parser.parse_args(argv)


def split_counts(total: int, val_fraction: float, test_fraction: float) -> tuple:
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise UserError("--val_fraction and --test_fraction must be in [0, 1) and sum below 1")
    val = int(round(total * val_fraction))
    test = int(round(total * test_fraction))
    if total - val - test < 1:
        raise UserError(f"--num {total} leaves no training image")
    return total - val - test, val, test


@friendly_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.num < 1:
        raise UserError("--num must be at least 1")
    if min(args.size) < 16:
        raise UserError(f"--size {args.size[0]} {args.size[1]}: images need at least 16 x 16 pixels")
    if not 0 <= args.data_bar_rows < args.size[0] - 16:
        raise UserError(f"--data_bar_rows {args.data_bar_rows} must leave at least 16 image rows")
    if not args.median_radius > 0 or not 0 < args.coverage < 1:
        raise UserError("--median_radius must be positive and --coverage between 0 and 1")
    train_n, val_n, test_n = split_counts(args.num, args.val_fraction, args.test_fraction)
    config = SyntheticSEMConfig(height=args.size[0], width=args.size[1],
                                data_bar_rows=args.data_bar_rows,
                                median_radius=args.median_radius, coverage=args.coverage)
    with staged_folder(args.out, args.overwrite, UserError) as staging:
        pairs = []
        for index in tqdm(range(args.num), desc="synthetic SEM", unit="image"):
            image, mask = generate_sem_image(args.seed + index, config)
            pairs.append(write_sample(staging, f"synthetic_{args.seed + index:05d}", image, mask))
        splits = {"train": pairs[:train_n], "val": pairs[train_n:train_n + val_n],
                  "test": pairs[train_n + val_n:]}
        write_lists(staging, splits)
        write_json(os.path.join(staging, "manifest.json"), {
            "generator": "paddleseg_hru2net.datasets.synthetic", "seed": args.seed,
            "config": vars(config), "counts": {k: len(v) for k, v in splits.items()},
            "classes": {"0": "background", "1": "particle"}})
    print(f"wrote {args.num} images to {args.out} (train {train_n}, val {val_n}, test {test_n})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
