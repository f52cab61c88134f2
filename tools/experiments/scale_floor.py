"""Reproduce the table "Shrinking images as far as 1/8" of docs/results.md: the default analysis
of the EMPS val images with another floor for the resampling factor (``analysis/scale.py``,
``MIN_FACTOR``; the shipped floor is 1/8, chosen with this script).

    python tools/experiments/scale_floor.py 0.25 [more hru2net-validate-analysis options]

An experiment, not a tool: it replaces the module's constant for this process only.
"""
import sys

from paddleseg_hru2net.analysis import scale
from paddleseg_hru2net.cli import validate_analysis

EMPS_VAL = ["--emps", "../shared/data/emps_train", "--manifest", "data/generalist_r2/manifest.json",
            "--split", "val", "--no-flips"]

if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    scale.MIN_FACTOR = float(sys.argv[1])
    sys.exit(validate_analysis.main(EMPS_VAL + sys.argv[2:]))
