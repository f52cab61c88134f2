"""``hru2net analyze``: SEM images in; particle masks, overlays and statistics in nanometres out.

    hru2net analyze IMAGE_OR_FOLDER --out results/            # shipped HRU2-Net† weights
    hru2net analyze images/ --out r/ --config C --model_path W --pixel-size 7.34
    hru2net analyze images/ --out r/ --backend onnxruntime --deploy_dir output/inference_model

Per image: <name>_mask.png, <name>_overlay.png, <name>_particles.csv (area, equivalent diameter,
Feret min/max, aspect ratio, circularity, touches-border flag). Per run: summary.csv,
size_histogram.png, and failures.csv if some image could not be analysed (exit code 1 then).
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from paddleseg_hru2net.cli.common import UserError, friendly_main


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    from paddleseg_hru2net.analysis.workflow import Splitting
    from paddleseg_hru2net.deploy.backends import BACKENDS
    parser = argparse.ArgumentParser(prog="hru2net analyze", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("input", help="an SEM image or a folder of them")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--backend", choices=BACKENDS,
                        default="paddle", help="how to run the model (default: paddle)")
    parser.add_argument("--config", default=None, help="model config (paddle backend)")
    parser.add_argument("--model_path", "--model", dest="model_path", default=None,
                        help="weights (paddle backend; default: shipped HRU2-Net†)")
    parser.add_argument("--deploy_dir", default=None, help="exported model (other backends)")
    parser.add_argument("--pixel-size", "--pixel_size", dest="pixel_size", type=float, default=None,
                        help="nm per pixel where the image has no metadata")
    parser.add_argument("--data-bar-rows", "--data_bar_rows", dest="data_bar_rows", type=int,
                        default=None, help="rows of data bar to cut (default: detect)")
    parser.add_argument("--window", nargs=2, type=int, default=None, metavar=("H", "W"),
                        help="sliding window (default: the training crop size)")
    default = Splitting()
    parser.add_argument("--threshold", type=float, default=default.threshold,
                        help=f"particle probability above which a pixel is particle (default {default.threshold})")
    parser.add_argument("--core-threshold", dest="core_threshold", type=float,
                        default=default.core_threshold,
                        help="stricter probability for particle cores, where gaps between touching "
                             f"particles open up (default {default.core_threshold})")
    parser.add_argument("--min-depth", dest="min_depth", type=float, default=default.min_depth,
                        help="watershed: how much deeper (px) than a neck a particle core must be "
                             f"(default {default.min_depth})")
    parser.add_argument("--min-area", dest="min_area", type=int, default=default.min_area,
                        help="leave particles smaller than this many pixels out of the tables "
                             f"(default {default.min_area}: keep all)")
    return parser.parse_args(argv)


@friendly_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from paddleseg_hru2net.analysis.workflow import Splitting, analyze_folder, particle_probability
    from paddleseg_hru2net.deploy.backends import make_segmenter

    try:
        segmenter = make_segmenter(args.backend, args.config, args.model_path, args.deploy_dir,
                                   args.window)
    except (ValueError, FileNotFoundError) as error:
        raise UserError(str(error)) from error

    try:
        splitting = Splitting(args.threshold, args.core_threshold, args.min_depth, args.min_area)
    except ValueError as error:
        raise UserError(str(error)) from error

    def probability_of(image):
        return particle_probability(image, segmenter.run, segmenter)

    outcome = analyze_folder(args.input, args.out, probability_of, args.pixel_size,
                             args.data_bar_rows, splitting)
    for row in outcome["summary"]:
        size = row["median_equivalent_diameter"]
        size_text = f"{size:.1f} {row['unit']}" if size != "" else "—"
        print(f"{row['image']}: {row['particles']} particles, median diameter {size_text} "
              f"(pixel size: {row['pixel_size_source']})")
    print(f"results in {args.out}")
    if outcome["failures"]:
        print(f"{len(outcome['failures'])} image(s) failed; see {args.out}/failures.csv",
              file=sys.stderr)
        return 1
    return 0


def hru2net(argv: Optional[List[str]] = None) -> int:
    """The ``hru2net`` command: ``hru2net analyze ...``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("analyze",):
        print("usage: hru2net analyze IMAGE_OR_FOLDER --out DIR [options]  (hru2net analyze -h)",
              file=sys.stderr)
        return 2
    return main(argv[1:])


if __name__ == "__main__":
    sys.exit(hru2net())
