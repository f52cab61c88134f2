"""Reproduce the oracle row of docs/results.md ("Refining the grey-value scale"): the default
analysis of the EMPS val images with the generalist's particle-size estimate replaced by the
manual median diameter of each image's annotated particles, to bound what a better size
estimate could give.

    python tools/experiments/scale_oracle.py [--manifest M] [more hru2net-validate-analysis options]

An experiment, not a tool: it replaces the grey-value estimate of ``analysis/scale.py`` for
this process only (and turns its refinement off), and refuses an image it has no manual
diameter for.
"""
import hashlib
import json
import sys

import numpy as np

from paddleseg_hru2net.analysis import scale
from paddleseg_hru2net.cli import validate_analysis
from paddleseg_hru2net.datasets.generalist import read_emps_sample
from paddleseg_hru2net.microscopy.particle_diameters import median_equivalent_diameter

EMPS, MANIFEST = "../shared/data/emps_train", "data/generalist_r2/manifest.json"


def _key(grey: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(grey, np.uint8).tobytes()).hexdigest()


def manual_diameters(manifest: str) -> dict:
    """Each val image's manual median equivalent diameter (px), by the hash of its grey values."""
    with open(manifest) as handle:
        ids = json.load(handle)["sources"]["emps"]["val_ids"]
    diameters = {}
    for image_id in ids:
        grey, instances = read_emps_sample(EMPS, image_id)
        diameters[_key(grey)] = median_equivalent_diameter(instances, 9)
    return diameters


def main(argv: list) -> int:
    manifest = argv[argv.index("--manifest") + 1] if "--manifest" in argv else MANIFEST
    rest = [a for i, a in enumerate(argv) if a != "--manifest" and (i == 0 or argv[i - 1] != "--manifest")]
    diameters = manual_diameters(manifest)

    def manual(grey: np.ndarray) -> float:
        key = _key(grey)
        if key not in diameters:
            raise SystemExit("an image without a manual diameter reached the size estimate")
        return diameters[key]

    scale.diameter_from_autocorrelation = manual
    scale.refined_factor = lambda *args: None  # the manual size as it is
    return validate_analysis.main(["--emps", EMPS, "--manifest", manifest, "--split", "val", "--no-flips"] + rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
