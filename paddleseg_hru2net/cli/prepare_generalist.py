"""``hru2net-prepare-generalist``: TiO2 + EMPS + synthetic images as one three-class training folder.

    hru2net-prepare-tio2 ../shared/data/tio2_sem_ruhle2021 --out data/tio2_contact_r2 --target contact \\
        --contact_radius 2
    hru2net-prepare-generalist --tio2 data/tio2_contact_r2 --emps ../shared/data/emps_train \\
        --synthetic 60 --out data/generalist
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional

from paddleseg_hru2net.cli.common import UserError, doc_parser, friendly_main


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = doc_parser("hru2net-prepare-generalist", __doc__)
    parser.add_argument("--out", required=True, help="dataset folder to create")
    parser.add_argument("--tio2", default=None,
                        help="a TiO2 folder prepared with hru2net-prepare-tio2 --target contact")
    parser.add_argument("--emps", default=None, help="the EMPS folder (images/, segmaps/)")
    parser.add_argument("--synthetic", type=int, default=60, help="synthetic images (default 60)")
    parser.add_argument("--val_fraction", type=float, default=0.1,
                        help="share of EMPS and synthetic images held out for val (default 0.1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and images")
    parser.add_argument("--contact_radius", type=int, default=None,
                        help="half-width of the contact bands (default: the TiO2 folder's, else 1)")
    parser.add_argument("--bright_particles", action="store_true",
                        help="store EMPS images with dark particles inverted (for a model that "
                             "relies on contrast detection at inference)")
    parser.add_argument("--particle_diameter", type=float, default=None,
                        help="resample each EMPS image so its particles' median equivalent diameter "
                             "is this many pixels (e.g. 23.3, the TiO2 tiles'); default: as they are")
    parser.add_argument("--tio2_repeats", type=int, default=1,
                        help="list each TiO2 training tile this many times in train.txt, so "
                             "training sees TiO2 that many times as often (default 1)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    return parser.parse_args(argv)


@friendly_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from paddleseg_hru2net.datasets.generalist import GeneralistDataError, prepare_generalist
    try:
        manifest = prepare_generalist(args.out, args.tio2, args.emps, args.synthetic,
                                      args.val_fraction, args.seed, args.overwrite,
                                      contact_radius=args.contact_radius,
                                      bright_particles=args.bright_particles,
                                      particle_diameter=args.particle_diameter,
                                      tio2_repeats=args.tio2_repeats)
    except (GeneralistDataError, ValueError) as error:
        raise UserError(str(error)) from error
    print(json.dumps(manifest["counts"]))
    print(f"dataset written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
