"""``hru2net analyze``: microscope images in; particle masks, labels, overlays and sizes in nanometres out.

    hru2net analyze IMAGE_OR_FOLDER --out results/            # shipped model, fastest backend
    hru2net analyze images/ --out r/ --config C --model_path W --pixel-size 7.34
    hru2net analyze images/ --out r/ --backend paddle         # Paddle dynamic (GPU if built with CUDA)
    hru2net analyze images/ --out r/ --resume                 # finish an interrupted run

Images: TIFF, PNG, JPEG, BMP, Gatan DigitalMicrograph .dm3/.dm4 and Thermo Fisher Velox .emd,
with the pixel size their metadata records (the summary names the source).
Per image: <name>_mask.png, <name>_labels.tif (16-bit, one id per particle, the CSV's ids),
<name>_overlay.png (label boxes, scale bars, letters and numbers drawn over the image outlined
in cyan: they are left out of the particles), <name>_particles.csv (columns named with their
units). Per run: summary.csv, size_histogram.png, run.json, and failures.csv if some image
failed (exit code 1 then).
"""
from __future__ import annotations

import argparse
import math
import sys
from typing import List, Optional

from paddleseg_hru2net.cli.common import (UserError, add_augmentation_options, doc_parser, friendly_main,
                                          positive_pair, positive_views)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    from paddleseg_hru2net.inference.backends import backend_names, installed_backends
    parser = doc_parser("hru2net analyze", __doc__)
    parser.add_argument("input", help="an image or a folder of them (TIFF, PNG, JPEG, BMP, Gatan .dm3/.dm4, Velox .emd)")
    parser.add_argument("--out", required=True, help="output folder (new or empty; see --resume, --overwrite)")
    parser.add_argument("--backend", choices=backend_names(), default=None,
                        help="how to run the model (default: the fastest installed; installed "
                             f"here, fastest first: {', '.join(installed_backends()) or 'none'})")
    parser.add_argument("--model", default=None,
                        help="a shipped model by name, or 'auto': the TiO2 specialist where it is at "
                             "home, the generalist elsewhere, per image (the default when both ship)")
    parser.add_argument("--config", default=None, help="model config, with --model_path")
    parser.add_argument("--model_path", default=None, help="trained weights (.pdparams)")
    parser.add_argument("--deploy_dir", default=None, help="an exported model (hru2net-export --output_op none)")
    parser.add_argument("--pixel-size", "--pixel_size", dest="pixel_size", type=float, default=None,
                        help="nm per pixel where the image has no metadata")
    parser.add_argument("--data-bar-rows", "--data_bar_rows", dest="data_bar_rows", type=int,
                        default=None, help="rows of data bar to cut (default: detect)")
    parser.add_argument("--particles", choices=("auto", "bright", "dark"), default="auto",
                        help="how the particles look against the background: bright (SEM "
                             "secondary electrons) or dark (TEM/STEM bright field, transmission "
                             "SEM); default: decided per image, and the summary says how")
    parser.add_argument("--window", nargs=2, type=int, default=None, metavar=("H", "W"),
                        help="sliding window (default: the one stored with the model)")
    parser.add_argument("--threshold", type=float, default=None,
                        help="particle probability above which a pixel is particle")
    parser.add_argument("--core-threshold", dest="core_threshold", type=float, default=None,
                        help="stricter probability for particle cores, where touching particles part")
    parser.add_argument("--min-depth", dest="min_depth", type=float, default=None,
                        help="watershed: how much deeper (px) than a neck a particle core must be")
    parser.add_argument("--min-area", dest="min_area", type=int, default=None,
                        help="leave particles smaller than this many pixels out of the tables")
    parser.add_argument("--min-core-area", dest="min_core_area", type=int, default=None,
                        help="ignore particle cores smaller than this many pixels when splitting")
    parser.add_argument("--lines", action=argparse.BooleanOptionalAction, default=None,
                        help="separate touching particles in the label image by a 1-px background "
                             "line, as ImageJ's Watershed and many annotators draw them (default: "
                             "as stored with the model)")
    parser.add_argument("--native-scale", "--native_scale", dest="native_scale", action="store_true",
                        help="segment at the image's own scale (default: resample to the model's "
                             "scale by pixel size, or by a first pass where the size is unknown)")
    add_augmentation_options(parser)
    parser.add_argument("--resume", action="store_true",
                        help="finish an interrupted run in --out: images already done are kept")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the results of an earlier run in --out")
    return parser.parse_args(argv)


def _check_numbers(args: argparse.Namespace) -> None:
    positive_pair(args.window, "--window")
    positive_views(args.views)
    if args.pixel_size is not None and not (math.isfinite(args.pixel_size) and args.pixel_size > 0):
        raise UserError(f"--pixel-size must be a positive number of nanometres, got {args.pixel_size}")
    if args.data_bar_rows is not None and args.data_bar_rows < 0:
        raise UserError(f"--data-bar-rows must be 0 or more, got {args.data_bar_rows}")


def _splitting_options(args: argparse.Namespace) -> dict:
    """The splitting settings given on the command line (named as :class:`Splitting`'s fields)."""
    from paddleseg_hru2net.analysis.workflow import Splitting
    return {k: getattr(args, k) for k in Splitting().as_dict() if getattr(args, k, None) is not None}


def _splittings(args: argparse.Namespace, source):
    """The model's :class:`~paddleseg_hru2net.analysis.workflow.ModelSplittings` as the command
    line leaves them: options given there override the stored settings and then apply to every
    image, so the model's settings for images enlarged for it are dropped."""
    from paddleseg_hru2net.analysis.workflow import ModelSplittings, Splitting, stored_splittings
    try:
        stored = stored_splittings(source)
    except (TypeError, ValueError) as error:
        raise UserError(f"{source.describe()}: the splitting settings in its train_meta.json cannot be "
                        f"used ({error}): mend or remove them") from error
    options = _splitting_options(args)
    if not options:
        return stored
    try:
        return ModelSplittings(Splitting(**{**stored.native.as_dict(), **options}))
    except (TypeError, ValueError) as error:
        raise UserError(str(error)) from error


def analysis_models(args: argparse.Namespace) -> list:
    """The models the analysis runs, as :class:`~paddleseg_hru2net.analysis.model_choice.AnalysisModel`:
    one, or for ``--model auto`` (the default when no model is named and both ship) the specialist
    and the generalist. Splitting options given on the command line apply to each."""
    from paddleseg_hru2net.analysis.model_choice import AnalysisModel
    from paddleseg_hru2net.inference import load_segmenter, resolve_source
    from paddleseg_hru2net.inference.source import (AUTO_MODEL, DEFAULT_MODEL, GENERALIST_MODEL,
                                                    auto_choice_available)
    deploy_dir = getattr(args, "deploy_dir", None)
    named = any(v is not None for v in (args.model, args.model_path, deploy_dir, args.config))
    if args.model == AUTO_MODEL and not auto_choice_available():
        raise UserError(f"--model {AUTO_MODEL} needs the shipped models {DEFAULT_MODEL} and "
                        f"{GENERALIST_MODEL}; this install lacks the second: name a model instead")
    if args.model == AUTO_MODEL or (not named and auto_choice_available()):
        if args.config is not None or args.model_path is not None or deploy_dir is not None:
            raise UserError(f"--model {AUTO_MODEL} runs the shipped models with their own configs; "
                            f"drop --config, --model_path and --deploy_dir")
        names = [DEFAULT_MODEL, GENERALIST_MODEL]
        sources = [resolve_source(model=name, announce=False) for name in names]
        print(f"using the shipped models {names[0]} where an image has a pixel size and it is not "
              f"out of its depth, else {names[1]}", file=sys.stderr)
    else:
        sources = [resolve_source(args.config, args.model_path, exported=deploy_dir,
                                  model=args.model)]
    models = []
    for source in sources:
        segmenter = load_segmenter(source, args.backend, args.window)
        segmenter = segmenter.with_flips(args.flips).with_views(args.views)
        models.append(AnalysisModel(segmenter, _splittings(args, source), source.name or source.describe()))
    return models


def segmentation_function(models: list, native_scale: bool):
    """What segments one image: the single model, or the specialist with the generalist to fall
    back on (:func:`~paddleseg_hru2net.analysis.model_choice.segment_with_fallback`)."""
    from paddleseg_hru2net.analysis.model_choice import segment_with_fallback
    if len(models) == 1:
        return lambda image: models[0].segment(image, not native_scale)
    return lambda image: segment_with_fallback(image, *models, resample_to_model=not native_scale)


def _report(outcome: dict, out_dir: str) -> int:
    for row in outcome["summary"]:
        unit = "nm" if row["median_equivalent_diameter_nm"] != "" else "px"
        size = row[f"median_equivalent_diameter_{unit}"]
        size_text = f"{size:.1f} {unit}" if size != "" else "-"
        print(f"{row['image']}: {row['particles']} particles, median diameter {size_text} "
              f"(pixel size: {row['pixel_size_source']}; scale: {row['scale']})")
        if row.get("warnings"):
            print(f"  warning: {row['warnings']}", file=sys.stderr)
    print(f"results in {out_dir}")
    if outcome["interrupted"]:
        print(f"interrupted after {len(outcome['records'])} of {outcome['images']} images; the "
              f"summary covers those. Run the same command with --resume to finish.", file=sys.stderr)
        return 130
    if outcome["failures"]:
        print(f"{len(outcome['failures'])} image(s) failed; see {out_dir}/failures.csv", file=sys.stderr)
        return 1
    return 0


@friendly_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    _check_numbers(args)
    from paddleseg_hru2net.analysis.workflow import analyze_folder, list_sem_images, prepare_output_folder

    list_sem_images(args.input)
    prepare_output_folder(args.out, args.input, overwrite=args.overwrite, resume=args.resume)
    models = analysis_models(args)
    settings = {"model": " or ".join(m.name for m in models),
                "models": {m.name: {"window": list(m.segmenter.feed.window), "flips": m.segmenter.feed.flips,
                                    "views": list(m.segmenter.feed.views), **m.splittings.as_record()}
                           for m in models}}
    outcome = analyze_folder(args.input, args.out, segmentation_function(models, args.native_scale),
                             args.pixel_size, args.data_bar_rows, resume=args.resume,
                             settings=dict(settings, native_scale=args.native_scale),
                             particles_look=None if args.particles == "auto" else args.particles)
    return _report(outcome, args.out)


def hru2net(argv: Optional[List[str]] = None) -> int:
    """The ``hru2net`` command: ``hru2net analyze ...`` or ``hru2net finetune ...``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("analyze", "finetune"):
        print("usage: hru2net analyze IMAGE_OR_FOLDER --out DIR [options]  (hru2net analyze -h)\n"
              "       hru2net finetune --images DIR --masks DIR --out DIR  (hru2net finetune -h)",
              file=sys.stderr)
        return 2
    if argv[0] == "finetune":
        from paddleseg_hru2net.cli.finetune import main as finetune
        return finetune(argv[1:])
    return main(argv[1:])


if __name__ == "__main__":
    sys.exit(hru2net())
