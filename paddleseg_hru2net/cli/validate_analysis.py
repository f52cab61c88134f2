"""``hru2net-validate-analysis``: particle statistics of a model against manual masks, per image.

    hru2net-validate-analysis --release ../shared/data/tio2_sem_ruhle2021 \\
        --manifest data/tio2_512/manifest.json --split val --tune --model hru2netp_contact_tio2  # settings
    hru2net-validate-analysis ... --split test                        # measure once, with them

For each whole image (data bar cut): particle count and median equivalent circle diameter (nm,
from the image's own metadata) of the particles not cut by the border, manual against model;
particle pixel IoU; one-to-one matches (IoU > 0.5), precision, recall, F1. ``--tune`` scores a
grid of splitting settings and prints the best; it refuses the test split. ``--rescale F``
measures the analysis at another magnification: the image resampled as the microscope would have
recorded it, the manual labels with it (each pixel the label covering most of it, so touching
particles stay apart), and the particle IoU that of the annotated area with the model's pixels.

``--tune`` with several factors chooses settings that hold across magnifications: each setting
is scored at every factor, and the best is the highest F1 at the first factor among those whose
median diameter (nm) and particle IoU at every other factor stay within 3 % and 0.02 of the
first's (issue 14's marks)::

    hru2net-validate-analysis ... --split val --tune --rescale 1 1.5 2          # splitting
    hru2net-validate-analysis ... --split val --tune --tune-enlarged --rescale 1 0.5 0.75
                                                             # splitting_enlarged, the other kept
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections import Counter
from typing import List, Optional

from paddleseg_hru2net.cli.common import (UserError, add_augmentation_options, doc_parser, friendly_main,
                                          positive_views)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    from paddleseg_hru2net.inference.backends import backend_names
    parser = doc_parser("hru2net-validate-analysis", __doc__)
    parser.add_argument("--release", default=None, help="TiO2 release folder")
    parser.add_argument("--emps", default=None,
                        help="the EMPS folder instead (with --manifest of hru2net-prepare-generalist: its val images)")
    parser.add_argument("--manifest", required=True, help="manifest.json of a prepared split")
    parser.add_argument("--split", default="test", help="val or test (a split of the manifest)")
    parser.add_argument("--model", default=None,
                        help="a shipped model by name, or 'auto' (as hru2net analyze; its default "
                             "when both the specialist and the generalist ship)")
    parser.add_argument("--config", default=None)
    parser.add_argument("--model_path", default=None)
    parser.add_argument("--backend", default=None, choices=backend_names())
    parser.add_argument("--window", nargs=2, type=int, default=None, metavar=("H", "W"))
    for option in ("threshold", "core-threshold", "min-depth"):
        parser.add_argument(f"--{option}", dest=option.replace("-", "_"), type=float, default=None)
    parser.add_argument("--min-area", dest="min_area", type=int, default=None)
    parser.add_argument("--min-core-area", dest="min_core_area", type=int, default=None)
    parser.add_argument("--lines", action=argparse.BooleanOptionalAction, default=None,
                        help="touching particles separated by 1-px lines (as hru2net analyze --lines)")
    parser.add_argument("--native-scale", "--native_scale", dest="native_scale", action="store_true",
                        help="segment at the image's own scale (as hru2net analyze --native-scale)")
    add_augmentation_options(parser)
    parser.add_argument("--scale-bars", "--scale_bars", dest="scale_bars", action="store_true",
                        help="EMPS: give each image the pixel size of a scale bar drawn over it, as "
                             "hru2net analyze does (default: none, lengths in pixels)")
    parser.add_argument("--invert", action="store_true",
                        help="invert the images' contrast first (dark particles on a bright background)")
    parser.add_argument("--rescale", type=float, nargs="+", default=[1.0], metavar="F",
                        help="resample images and masks by this factor first (pixel size adjusted); "
                             "with --tune, several: settings that hold at each")
    parser.add_argument("--tune", action="store_true", help="score a grid of splitting settings")
    parser.add_argument("--tune-thresholds", "--tune_thresholds", dest="tune_thresholds", nargs="+",
                        type=float, default=None, metavar="T",
                        help="mask thresholds the --tune grid tries (default: 0.5 only)")
    parser.add_argument("--tune-enlarged", "--tune_enlarged", dest="tune_enlarged", action="store_true",
                        help="--tune the settings of images enlarged for the model (splitting_enlarged); "
                             "the others keep the model's own")
    parser.add_argument("--save_json", default=None, help="write the totals (and per image) as JSON")
    return parser.parse_args(argv)


def sample_ids(args) -> List[str]:
    """The ids of the images ``args`` choose: EMPS val images, or a split of the TiO2 release."""
    from paddleseg_hru2net.evaluation import emps_val_ids, split_image_ids
    if args.emps:
        if args.split != "val":
            raise UserError("--emps evaluates the EMPS images held out for validation: --split val")
        return emps_val_ids(args.manifest)
    if not args.release:
        raise UserError("give --release (TiO2) or --emps")
    return split_image_ids(args.manifest, args.split)


def manual_samples(args):
    """``(SEMImage, manual mask or instance map)`` of the chosen images."""
    from paddleseg_hru2net.analysis.workflow import SEMImage, load_sem_image, read_drawn_pixel_size
    from paddleseg_hru2net.datasets.generalist import read_emps_sample
    from paddleseg_hru2net.datasets.tio2_release import find_pairs, load_sample
    from paddleseg_hru2net.microscopy.conditioning import condition_for_model
    if args.emps:
        for image_id in sample_ids(args):
            grey, instances = read_emps_sample(args.emps, image_id)
            grey, notes = condition_for_model(grey)  # as load_sem_image does
            image = SEMImage(f"{image_id}.png", grey, 0, None, "none (pixels)", notes)
            if args.scale_bars:
                read_drawn_pixel_size(image)
            yield image, instances
        return
    wanted = set(sample_ids(args))
    for pair in [p for p in find_pairs(args.release) if p.image_id in wanted]:
        yield load_sem_image(pair.image_path), load_sample(pair).label


def transformed(image, manual, rescale: float, invert: bool):
    """``(image, manual mask, coverage or None)``: the image and its manual mask as another
    microscope might have recorded them, resampled by ``rescale`` (pixel size divided by it) and/or
    with inverted contrast; where resampled, the share of each pixel the annotated particles
    cover (:func:`~paddleseg_hru2net.microscopy.resampling.resampled_coverage`)."""
    import dataclasses

    from paddleseg_hru2net.microscopy.resampling import resample, resample_labels, resampled_coverage
    grey, coverage = image.grey, None
    if rescale != 1.0:
        if not 0.1 <= rescale <= 10:
            raise UserError(f"--rescale {rescale}: use a factor between 0.1 and 10")
        coverage = resampled_coverage(manual, rescale)
        grey, manual = resample(grey, rescale), resample_labels(manual, rescale)
    if invert:
        grey = 255 - grey
    pixel = image.pixel_size_nm / rescale if image.pixel_size_nm else None
    return dataclasses.replace(image, grey=grey, pixel_size_nm=pixel), manual, coverage


def transform_description(rescale: float, invert: bool) -> str:
    """What :func:`transformed` did to the images, for the report ("" where nothing)."""
    done = [f"images resampled by {rescale:g} (the annotation by majority; particle IoU of the "
            f"annotated area)"] if rescale != 1.0 else []
    return "; ".join(done + (["contrast inverted"] if invert else []))


def segmented_samples(args, segment, rescale: float):
    """``(SEMImage, manual mask, Segmentation, manual coverage or None)`` of the chosen images,
    resampled by ``rescale`` and transformed as the options say (:func:`transformed`), one at a
    time, with a progress bar."""
    from tqdm import tqdm
    for image, manual in tqdm(list(manual_samples(args)), desc=f"segmenting x{rescale:g}"):
        image, manual, coverage = transformed(image, manual, rescale, args.invert)
        yield image, manual, segment(image), coverage


SEVERAL_FACTORS_NEED_NM = "--tune at several magnifications compares sizes in nm, so every image needs a pixel size"

TUNING_GRID = {"threshold": [0.5], "core_threshold": [0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
               "min_depth": [0.5, 1.0, 2.0, 100.0], "min_core_area": [0, 10, 20, 40]}


def tuning_grid(base: dict, thresholds: List[float]) -> list:
    """The splitting settings ``--tune`` scores: :data:`TUNING_GRID` with ``thresholds``, the
    rest of ``base`` (a splitting's settings) kept."""
    from paddleseg_hru2net.analysis.workflow import Splitting
    return [Splitting(**{**base, "threshold": t, "core_threshold": c, "min_depth": h, "min_core_area": a})
            for t, c, h, a in itertools.product(thresholds, *list(TUNING_GRID.values())[1:]) if t <= c]


def tune(args: argparse.Namespace, model, segment, thresholds: List[float]) -> int:
    """``--tune``: score the grid at each ``--rescale`` factor (one factor's images in memory at a
    time) and print the table and the best settings."""
    from paddleseg_hru2net.analysis.validation import (SCALE_IOU_TOLERANCE, SCALE_MEDIAN_TOLERANCE,
                                                       rank_across_scales, score_splittings)
    splittings = model.splittings
    base = (splittings.enlarged if args.tune_enlarged and splittings.enlarged else splittings.native).as_dict()
    grid = tuning_grid(base, thresholds)

    def scored(factor: float) -> list:
        return score_splittings(list(segmented_samples(args, segment, factor)), grid, args.tune_enlarged)

    scored_at = [scored(args.rescale[0])]
    if len(args.rescale) == 1:
        print("\n".join(tuning_table(scored_at[0])))
        print("best: " + json.dumps(scored_at[0][0][0].as_dict()))
        return 0
    if scored_at[0][0][1]["unit"] != "nm":  # known after the first factor: the others are not scored
        raise UserError(f"{SEVERAL_FACTORS_NEED_NM}: some of these images have none (no scale bar found)")
    scored_at += [scored(factor) for factor in args.rescale[1:]]
    tunings = rank_across_scales(args.rescale, scored_at)
    print("\n".join(scale_tuning_table(tunings)))
    best = tunings[0]
    if best.consistent():
        print("best (within the marks at every factor): " + json.dumps(best.splitting.as_dict()))
    else:
        print(f"no setting keeps the median within {100 * SCALE_MEDIAN_TOLERANCE:g} % and the particle IoU "
              f"within {SCALE_IOU_TOLERANCE:g} at every factor; highest F1 at the first: "
              + json.dumps(best.splitting.as_dict()))
    return 0


def tuning_table(scored: list) -> List[str]:
    """Markdown lines of ``(splitting, summary)`` pairs (:func:`score_splittings`)."""
    lines = ["| threshold | core threshold | min depth | min core area | count manual | count model | "
             "median manual | median model | median ratio | particle IoU | F1 |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for splitting, total in scored:
        lines.append(f"| {_settings_cells(splitting)} | {total['count_manual']} | {total['count_model']} | "
                     f"{total['median_manual']:.1f} | {total['median_model']:.1f} | "
                     f"{total['median_ratio']:.3f} | {total['particle_iou']:.3f} | {total['f1']:.3f} |")
    return lines


def scale_tuning_table(tunings: list) -> List[str]:
    """Markdown lines of :class:`ScaleTuning` rows: at the first factor count, median, particle IoU
    and F1; at each other the median's change (%), the IoU's change and F1."""
    first, others = tunings[0].factors[0], tunings[0].factors[1:]
    header = (["threshold", "core threshold", "min depth", "min core area", f"count x{first:g}",
               f"median x{first:g} (nm)", f"particle IoU x{first:g}", f"F1 x{first:g}"]
              + [cell for f in others for cell in (f"median x{f:g}", f"IoU x{f:g}", f"F1 x{f:g}")]
              + ["within marks"])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for tuning in tunings:
        ref = tuning.reference
        cells = [f"{ref['count_model']}", f"{ref['median_model']:.1f}", f"{ref['particle_iou']:.3f}",
                 f"{ref['f1']:.3f}"]
        for index in range(1, len(tuning.factors)):
            cells += [f"{100 * tuning.median_change(index):+.1f} %", f"{tuning.iou_change(index):+.3f}",
                      f"{tuning.summaries[index]['f1']:.3f}"]
        lines.append(f"| {_settings_cells(tuning.splitting)} | " + " | ".join(cells)
                     + f" | {'yes' if tuning.consistent() else 'no'} |")
    return lines


def _settings_cells(splitting) -> str:
    return f"{splitting.threshold} | {splitting.core_threshold} | {splitting.min_depth} | {splitting.min_core_area}"


@friendly_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    positive_views(args.views)
    if args.tune and args.split == "test":
        raise UserError("--tune chooses settings: run it on --split val, never on the test images")
    thresholds = args.tune_thresholds or TUNING_GRID["threshold"]
    if not all(0.0 < t < 1.0 for t in thresholds):
        raise UserError(f"--tune-thresholds {' '.join(map(str, thresholds))}: use values between 0 and 1")
    if len(args.rescale) > 1 and not args.tune:
        raise UserError(f"--rescale {' '.join(f'{f:g}' for f in args.rescale)}: several factors are for "
                        "--tune; measure one magnification at a time")
    if len(args.rescale) > 1 and args.emps and not args.scale_bars:
        raise UserError(f"{SEVERAL_FACTORS_NEED_NM}: the EMPS images have one only with --scale-bars")
    if args.tune_enlarged and not args.tune:
        raise UserError("--tune-enlarged says which settings --tune chooses: add --tune")
    sample_ids(args)  # a bad manifest or split fails here, before any model is loaded
    from paddleseg_hru2net.analysis.validation import (comparison_table, compare_with_manual, outcome_table,
                                                       summarise, warning_table)
    from paddleseg_hru2net.cli.analyze import analysis_models, segmentation_function
    from paddleseg_hru2net.files import write_json

    models = analysis_models(args)
    if args.tune and len(models) > 1:
        raise UserError("--tune chooses the splitting settings of one model: name it with --model")
    segment = segmentation_function(models, args.native_scale)
    if args.tune:
        return tune(args, models[0], segment, thresholds)
    rescale = args.rescale[0]
    rows, made_by = [], []
    for image, manual, segmentation, coverage in segmented_samples(args, segment, rescale):
        # compared one at a time: an image enlarged for the model holds its probabilities at
        # two scales, and 37 of them at once can exhaust the memory of a 24 GiB machine
        rows.append(compare_with_manual(image, manual, segmentation, None, manual_coverage=coverage))
        made_by.append((segmentation.model, segmentation.describe_model(), segmentation.scale.describe()))
    total = summarise(rows)
    for model in models:
        print(f"model: {model.name}, backend {model.segmenter.backend}, window "
              f"{list(model.segmenter.feed.window)}, flips {'on' if model.segmenter.feed.flips else 'off'}, "
              f"views {list(model.segmenter.feed.views)}, "
              f"split {args.split}, {model.splittings.as_record()}")
    transform = transform_description(rescale, args.invert)
    if transform:
        print(transform)
    if len(models) > 1:
        used = Counter(model for model, _, _ in made_by)
        print("images per model: " + ", ".join(f"{name} {count}" for name, count in used.items()))
    print("\n".join(comparison_table(rows)))
    print("\n".join(outcome_table(rows)))
    print("\n".join(warning_table(rows)))
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in total.items()}))
    if args.save_json:
        write_json(args.save_json, {"total": total, "split": args.split, "rescale": rescale,
                                    "invert": args.invert,
                                    "models": {m.name: {**m.splittings.as_record(),
                                                        "window": list(m.segmenter.feed.window)}
                                               for m in models},
                                    "per_image": {r.image: {"count_manual": r.count_manual,
                                                            "count_model": r.count_model,
                                                            "median_manual": r.median_diameter_manual,
                                                            "median_model": r.median_diameter_model,
                                                            "particle_iou": r.particle_iou,
                                                            "f1": r.match.f1,
                                                            "model": described,
                                                            "scale": scale,
                                                            "warnings": r.warnings}
                                                  for r, (_, described, scale) in zip(rows, made_by)}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
