"""``hru2net-prepare-tio2`` / ``tools/prepare_tio2.py``: the TiO2 SEM release as PaddleSeg tiles.

Example:
    hru2net-prepare-tio2 ../shared/data/tio2_sem_ruhle2021 --out data/tio2_512
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional

from paddleseg_hru2net.cli.common import UserError, friendly_main
from paddleseg_hru2net.datasets.tio2_release import ReleaseError, prepare_dataset


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="hru2net-prepare-tio2", description=__doc__.splitlines()[0])
    parser.add_argument("release", help="the release folder (Zenodo 4563942 layout)")
    parser.add_argument("--out", required=True, help="dataset folder to create")
    parser.add_argument("--tile", type=int, default=512, help="tile size in pixels (default 512)")
    parser.add_argument("--protocol", choices=["by-image", "paper"], default="by-image",
                        help="by-image: split by source image (default); paper: the paper's 200 "
                             "crops augmented to 2,000/500 (leaks between splits)")
    parser.add_argument("--val_fraction", type=float, default=0.1, help="share of images for val")
    parser.add_argument("--test_fraction", type=float, default=0.2, help="share of images for test")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split")
    parser.add_argument("--data_bar_rows", type=int, default=None,
                        help="rows of data bar to cut (default: detect in each image)")
    parser.add_argument("--images", default=None, help="image folder (overrides the release layout)")
    parser.add_argument("--masks", default=None, help="mask folder (overrides the release layout)")
    parser.add_argument("--mask_suffix", default="_m", help="mask name = image name + suffix")
    parser.add_argument("--target", choices=["binary", "contact", "centre"], default="binary",
                        help="labels: binary (0/1, the paper's), contact (adds class 2 where "
                             "touching particles meet, for the instance-aware model) or centre "
                             "(adds class 3, the inner half of each particle's depth)")
    parser.add_argument("--contact_radius", type=int, default=1,
                        help="with --target contact or centre: 1 marks the 1-px separation lines, 2 widens "
                             "them to 3 px bands (default 1)")
    parser.add_argument("--narrow_contacts_below", type=float, default=0.0, metavar="PX",
                        help="particles of an equivalent diameter below PX pixels get only the 1-px "
                             "lines, so --contact_radius 2 leaves them an interior (default 0: off)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    return parser.parse_args(argv)


@friendly_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        manifest = prepare_dataset(
            args.release, args.out, tile=args.tile, protocol=args.protocol,
            val_fraction=args.val_fraction, test_fraction=args.test_fraction, seed=args.seed,
            data_bar_rows=args.data_bar_rows, images_dir=args.images, masks_dir=args.masks,
            mask_suffix=args.mask_suffix, overwrite=args.overwrite, target=args.target,
            contact_radius=args.contact_radius, narrow_contacts_below=args.narrow_contacts_below)
    except (ReleaseError, ValueError) as error:
        raise UserError(str(error)) from error
    print(json.dumps({k: manifest[k] for k in ("protocol", "tile_counts", "source_images")}))
    print(f"dataset written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
