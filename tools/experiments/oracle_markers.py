"""Reproduce "How far better markers could take the splitting" of docs/results.md: the shipped
specialist's own particle mask and P(interior) on the TiO2 val images (float, the default
command's path), flooded from markers taken from the annotators' particles instead of the
model's cores. It tells a limit of the splitting apart from a limit of the model's maps.

    python tools/experiments/oracle_markers.py                       # the shipped specialist
    python tools/experiments/oracle_markers.py --config C --model_path W

Markers, each flooding the model's mask (P(particle) > 0.5) as the shipped splitting does:

* ``model cores``: the shipped splitting (its settings as stored with the weights);
* ``manual centres``: one pixel per manual particle, its point farthest from its outline,
  flooding over -P(interior) - a perfect particle detector;
* ``manual centres, flat``: the same markers flooding at one level (a geodesic Voronoi split),
  ignoring where the model puts contacts;
* ``manual interiors``: each manual particle's interior (its target class 1: the particle less
  the contact band) - a perfect contact class, limited by the model's mask only.

For understanding the errors; it reads the manual masks of the val split and never the test split.
"""
import argparse
import sys
from typing import Dict, List

import numpy as np
from scipy import ndimage

from paddleseg_hru2net.analysis.particles import _mark_coreless_regions, measure_particles
from paddleseg_hru2net.analysis.validation import ParticleMatch, manual_particles, match_particles
from paddleseg_hru2net.analysis.workflow import analyze_segmentation, particle_maps
from paddleseg_hru2net.cli import validate_analysis
from paddleseg_hru2net.datasets.instance_targets import target_of_instances
from tio2_val import add_model_arguments, val_options, val_segmenter

CONTACT_RADIUS = 2  # of the shipped specialist's target


def deepest_points(instances: np.ndarray) -> np.ndarray:
    """One marker pixel per particle of ``instances``, where it lies farthest from its outline."""
    distance = ndimage.distance_transform_edt(instances > 0)
    markers = np.zeros_like(instances)
    for label, window in enumerate(ndimage.find_objects(instances), start=1):
        if window is None:
            continue
        inside = np.where(instances[window] == label, distance[window], -1.0)
        markers[window][np.unravel_index(np.argmax(inside), inside.shape)] = label
    return markers


def flood(surface: np.ndarray, mask: np.ndarray, markers: np.ndarray) -> np.ndarray:
    """Labels of ``mask`` flooded from ``markers`` (inside the mask) up ``surface``; regions of
    the mask no marker reaches are particles of their own, as in the shipped splitting."""
    from skimage.segmentation import watershed
    seeds = _mark_coreless_regions(np.where(mask, markers, 0).astype(np.int32), mask)
    return watershed(surface, seeds, mask=mask).astype(np.int32)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_arguments(parser)
    options = val_options(parser.parse_args(argv), backend="onnxruntime")
    segment = val_segmenter(options)
    totals: Dict[str, ParticleMatch] = {}
    diameters: Dict[str, List[float]] = {}
    for image, manual in validate_analysis.manual_samples(options):
        segmentation = segment(image)
        maps = particle_maps(segmentation.probabilities)
        mask = maps.particle > 0.5
        truth = manual_particles(image, manual).labels
        centres = deepest_points(truth)
        interiors = truth * (target_of_instances(truth, 3, CONTACT_RADIUS) == 1)
        variants = {
            "model cores": analyze_segmentation(image, segmentation).labels,
            "manual centres": flood(-maps.interior, mask, centres),
            "manual centres, flat": flood(np.zeros(mask.shape, np.float32), mask, centres),
            "manual interiors": flood(-maps.interior, mask, interiors),
            "(manual particles)": truth,
        }
        for name, labels in variants.items():
            match = match_particles(truth, labels)
            totals[name] = totals[name] + match if name in totals else match
            diameters.setdefault(name, []).extend(
                p.equivalent_diameter for p in measure_particles(labels, image.pixel_size_nm) if not p.touches_border)
            print(f"{image.path}: {name}: F1 {match.f1:.3f}", flush=True)
    print("| markers | particles | median ECD (nm) | precision | recall | F1@0.5 |")
    print("|---|---|---|---|---|---|")
    for name, match in totals.items():
        print(f"| {name} | {len(diameters[name])} | {np.median(diameters[name]):.1f} | "
              f"{match.precision:.3f} | {match.recall:.3f} | {match.f1:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
