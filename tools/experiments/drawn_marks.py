"""Reproduce the table of "Letters and numbers drawn without a box" of docs/results.md: how many
particles the drawn-mark test (``microscopy.annotations.drawn_particles``) would drop, and how
many it keeps for being compact, among

* the annotators' particles of the 366 EMPS training images (``emps``),
* the shipped specialist's and the annotators' particles of the TiO2 training and val images
  (``tio2``; never the test images),
* synthetic images, as generated and inverted (``synthetic``),
* the shipped generalist's particles on the EMPS val images, the default command's path
  (``emps-val``; with how many lie over an annotated particle).

    python tools/experiments/drawn_marks.py emps tio2 synthetic emps-val
"""
import argparse
import sys
from typing import Iterable, List, Tuple

import numpy as np

from paddleseg_hru2net.microscopy.annotations import drawn_particles
from paddleseg_hru2net.microscopy.annotations import DRAWN_PARTICLE_MAX_IMAGE_SHARE, DRAWN_PARTICLE_SHARE

EMPS = "../shared/data/emps_train"


def count(name: str, pairs: Iterable[Tuple[np.ndarray, np.ndarray, np.ndarray]]) -> None:
    """``pairs`` of (grey, labels, annotated mask or None); prints one table row."""
    particles = dropped = kept = over_annotated = 0
    for grey, labels, annotated in pairs:
        particles += int(len(np.unique(labels)) - (labels == 0).any())
        strokes = set(drawn_particles(grey, labels).tolist())
        candidates = drawn_particles(grey, labels, stroke_share=float("inf"))
        dropped += len(strokes)
        kept += len(candidates) - len(strokes)
        if annotated is not None:
            over_annotated += sum(annotated[labels == i].mean() > 0.5 for i in strokes)
    over = f", {over_annotated} of those over an annotated particle" if name == "emps-val" else ""
    print(f"{name}: {particles} particles; >= {DRAWN_PARTICLE_SHARE:.0%} flat and saturated, <= "
          f"{DRAWN_PARTICLE_MAX_IMAGE_SHARE:.0%} of the image: {dropped} in strokes (dropped){over}, "
          f"{kept} compact (kept)", flush=True)


def emps_annotated():
    from paddleseg_hru2net.datasets.generalist import emps_ids, read_emps_sample
    for image_id in emps_ids(EMPS):
        grey, instances = read_emps_sample(EMPS, image_id)
        yield grey, instances, None


def tio2(which: str):
    sys.path.insert(0, "tools/experiments")
    from tio2_val import add_model_arguments, val_options, val_segmenter

    from paddleseg_hru2net.analysis.validation import manual_particles
    from paddleseg_hru2net.analysis.workflow import analyze_segmentation
    from paddleseg_hru2net.cli import validate_analysis
    parser = argparse.ArgumentParser()
    add_model_arguments(parser)
    options = val_options(parser.parse_args([]), backend="onnxruntime")
    for split in ("train", "val"):
        options.split = split
        segment = val_segmenter(options) if which == "model" else None
        for image, manual in validate_analysis.manual_samples(options):
            truth = manual_particles(image, manual).labels
            if which == "model":
                labels = _labels_before_marks(image, segment(image), analyze_segmentation)
                yield image.grey, labels, truth > 0
            else:
                yield image.grey, truth, None


def _labels_before_marks(image, segmentation, analyze_segmentation) -> np.ndarray:
    """The analysis' labels with nothing left out as drawn (boxes and bars still are)."""
    from paddleseg_hru2net.analysis import workflow
    saved = workflow.drawn_particles
    workflow.drawn_particles = lambda grey, labels: np.zeros(0, np.int64)
    try:
        return analyze_segmentation(image, segmentation).labels
    finally:
        workflow.drawn_particles = saved


def synthetic():
    from paddleseg_hru2net.datasets.synthetic import generate_sem_instances
    for seed in range(40):
        grey, instances = generate_sem_instances(seed)
        yield grey, instances, None
        yield 255 - grey, instances, None


def emps_val():
    from paddleseg_hru2net.analysis.workflow import analyze_segmentation
    from paddleseg_hru2net.cli import validate_analysis
    from paddleseg_hru2net.cli.analyze import analysis_models, segmentation_function
    args = validate_analysis.parse_args(["--emps", EMPS, "--manifest", "data/generalist_r2/manifest.json",
                                         "--split", "val", "--backend", "onnxruntime"])
    segment = segmentation_function(analysis_models(args), args.native_scale)
    for image, manual, segmentation, _ in validate_analysis.segmented_samples(args, segment, rescale=1.0):
        yield image.grey, _labels_before_marks(image, segmentation, analyze_segmentation), manual > 0


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", choices=("emps", "tio2", "synthetic", "emps-val"))
    for name in parser.parse_args(argv).sets:
        if name == "tio2":
            count("tio2 (specialist)", tio2("model"))
            count("tio2 (annotators)", tio2("manual"))
        else:
            count(name, {"emps": emps_annotated, "synthetic": synthetic, "emps-val": emps_val}[name]())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
