"""``hru2net-evaluate``: the paper's metrics on whole images (data bar cut), by sliding window.

    hru2net-evaluate --release ../shared/data/tio2_sem_ruhle2021 \\
        --manifest data/tio2_512/manifest.json --split test            # the shipped model
    hru2net-evaluate --config C --model_path W --test_list data/x/val.txt --window 512 512

The window is the one stored with the weights unless --window says otherwise (stride 3/4 of
it). Any backend (--backend); the same sliding window as ``hru2net-val`` and ``hru2net analyze``.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional

from paddleseg_hru2net.cli.common import UserError, doc_parser, friendly_main, positive_pair


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    from paddleseg_hru2net.inference.backends import backend_names
    parser = doc_parser("hru2net-evaluate", __doc__)
    parser.add_argument("--model", default=None, help="a shipped model by name")
    parser.add_argument("--config", default=None)
    parser.add_argument("--model_path", default=None)
    parser.add_argument("--backend", default=None, choices=backend_names(),
                        help="default: the fastest float backend installed (metrics are exact)")
    parser.add_argument("--release", default=None, help="TiO2 release folder (with --manifest)")
    parser.add_argument("--manifest", default=None, help="manifest.json of the prepared split")
    parser.add_argument("--split", default="test", help="a split of the manifest, or all")
    parser.add_argument("--test_list", default=None, help="a PaddleSeg list file instead")
    parser.add_argument("--window", nargs=2, type=int, default=None, metavar=("H", "W"))
    parser.add_argument("--save_json", default=None)
    return parser.parse_args(argv)


@friendly_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    positive_pair(args.window, "--window")
    from paddleseg_hru2net.evaluation import evaluate_whole_images, list_samples, release_samples, split_image_ids
    from paddleseg_hru2net.files import write_json
    from paddleseg_hru2net.inference import load_segmenter, resolve_source

    if args.test_list:
        samples = list_samples(args.test_list)
    elif args.release and args.manifest:
        samples = release_samples(args.release, split_image_ids(args.manifest, args.split))
    else:
        raise UserError("give --release and --manifest (TiO2 whole images), or --test_list")
    source = resolve_source(args.config, args.model_path, model=args.model)
    segmenter = load_segmenter(source, args.backend, args.window, exact=True)
    result = evaluate_whole_images(segmenter, samples)
    result.update(model=source.describe(), split=args.split)
    if args.save_json:
        write_json(args.save_json, result)
    print(json.dumps({k: result[k] for k in ("mIoU", "accuracy", "kappa", "dice", "particle_iou",
                                             "window", "stride", "backend")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
