"""Reproduce "Why touching TiO2 particles stay merged" of docs/results.md: for each TiO2 val
particle the specialist merges into a neighbour, whether its target interior is a speck, and
whether the model's interior region inside it (P(interior) above the core threshold) is joined
to another particle's, i.e. the contact class was drawn across only part of the contact.

    python tools/experiments/merged_particles.py                       # the shipped specialist
    python tools/experiments/merged_particles.py --config C --model_path W
    python tools/experiments/merged_particles.py --small_below 10 --backend onnxruntime   # slivers

With ``--small_below PX``: also, of the manual particles under PX pixels of equivalent diameter
that the model merges, the largest P(interior) inside each and its pixels above the core
threshold (whether the model sees an interior of its own there at all).

For understanding the errors; never run on the test split.
"""
import argparse
import sys
from collections import Counter
from typing import List, Tuple

import numpy as np
from scipy import ndimage

from paddleseg_hru2net.analysis.validation import manual_particle_outcomes, manual_particles
from paddleseg_hru2net.analysis.workflow import analyze_segmentation, particle_maps
from paddleseg_hru2net.cli import validate_analysis
from paddleseg_hru2net.datasets.instance_targets import target_of_instances
from paddleseg_hru2net.microscopy.particle_diameters import equivalent_diameters
from tio2_val import add_model_arguments, val_options, val_segmenter

MIN_CORE_PIXELS = 10


def merged_kinds(instances: np.ndarray, predicted: np.ndarray, interior: np.ndarray,
                 core_threshold: float, contact_radius: int) -> Counter:
    """Counts of the merged manual particles by why: ``speck`` (fewer than MIN_CORE_PIXELS
    interior pixels in the target), ``no core`` (the model's interior covers fewer of them),
    ``core joined`` (that interior region reaches another manual particle's interior), ``core
    apart``."""
    target_interior = target_of_instances(instances, 3, contact_radius) == 1
    cores = interior > core_threshold
    regions, _ = ndimage.label(cores)
    kinds: Counter = Counter()
    for label, outcome in manual_particle_outcomes(instances, predicted).items():
        if outcome.kind != "merged":
            continue
        own = instances == label
        if (own & target_interior).sum() < MIN_CORE_PIXELS:
            kinds["speck"] += 1
            continue
        own_core = own & cores
        if own_core.sum() < MIN_CORE_PIXELS:
            kinds["no core"] += 1
            continue
        reached = np.isin(regions, np.unique(regions[own_core])) & cores & target_interior
        others = np.unique(instances[reached & ~own])
        kinds["core joined" if (others > 0).any() else "core apart"] += 1
    return kinds


def merged_small_particles(instances: np.ndarray, predicted: np.ndarray, interior: np.ndarray,
                           core_threshold: float, below: float) -> Tuple[int, List[Tuple[float, int]]]:
    """How many manual particles are under ``below`` px of equivalent diameter, and for each of
    them the model merges: (largest P(interior) inside it, its pixels above ``core_threshold``)."""
    diameters = equivalent_diameters(instances)
    small = (diameters > 0) & (diameters < below)
    merged = []
    for label, outcome in manual_particle_outcomes(instances, predicted).items():
        if small[label] and outcome.kind == "merged":
            inside = interior[instances == label]
            merged.append((float(inside.max()), int((inside > core_threshold).sum())))
    return int(small.sum()), merged


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_arguments(parser)
    parser.add_argument("--contact_radius", type=int, default=2)
    parser.add_argument("--small_below", type=float, default=0.0, metavar="PX")
    parser.add_argument("--backend", default="onnxruntime-int8")
    args = parser.parse_args(argv)
    options = val_options(args, backend=args.backend)
    segment = val_segmenter(options)
    total: Counter = Counter()
    small_count, small_merged = 0, []
    for image, manual in validate_analysis.manual_samples(options):
        segmentation = segment(image)
        splitting = segmentation.own_splitting()
        predicted = analyze_segmentation(image, segmentation).labels
        instances = manual_particles(image, manual).labels
        interior = particle_maps(segmentation.probabilities).interior
        kinds = merged_kinds(instances, predicted, interior, splitting.core_threshold, args.contact_radius)
        print(f"{image.path}: {dict(kinds)}", flush=True)
        total += kinds
        if args.small_below:
            count, merged = merged_small_particles(instances, predicted, interior, splitting.core_threshold,
                                                   args.small_below)
            small_count, small_merged = small_count + count, small_merged + merged
    print(f"merged: {sum(total.values())}, {dict(total)}")
    if small_merged:
        peaks, cores = np.array([m[0] for m in small_merged]), np.array([m[1] for m in small_merged])
        print(f"under {args.small_below:g} px: {small_count}, merged {len(small_merged)}; largest P(interior) "
              f"inside, median {np.median(peaks):.2f}; core pixels, median {np.median(cores):.0f}, "
              f"10 or more in {(cores >= 10).mean():.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
