"""``hru2net-fit-size-model``: refit the particle-size estimate from grey values on EMPS.

    hru2net-fit-size-model --emps ../shared/data/emps_train --manifest data/generalist_r2/manifest.json

Fits ``log(median diameter) = a + b * log(autocorrelation length)`` on the EMPS images outside
the manifest's val images (the manual instance maps give the diameters; particles cut by the
border left out where an image has others), then prints ``a, b`` and the factor errors on the
train and the val images. ``analysis/particle_size.py`` holds the numbers the analysis uses.
"""
from __future__ import annotations

import json
import sys
from typing import List, Optional

from paddleseg_hru2net.cli.common import doc_parser, friendly_main


@friendly_main
def main(argv: Optional[List[str]] = None) -> int:
    parser = doc_parser("hru2net-fit-size-model", __doc__)
    parser.add_argument("--emps", required=True, help="the EMPS folder (images/, segmaps/, train.csv)")
    parser.add_argument("--manifest", required=True,
                        help="manifest.json of hru2net-prepare-generalist (its EMPS val ids are held out)")
    args = parser.parse_args(argv)
    import numpy as np
    from tqdm import tqdm

    from paddleseg_hru2net.analysis.particle_size import (AUTOCORRELATION_FIT, autocorrelation_length,
                                                          factor_errors, fit_power_law)
    from paddleseg_hru2net.datasets.generalist import emps_ids, read_emps_sample
    from paddleseg_hru2net.errors import InputError
    from paddleseg_hru2net.microscopy.particle_diameters import median_equivalent_diameter
    try:
        with open(args.manifest) as handle:
            val_ids = set(json.load(handle)["sources"]["emps"]["val_ids"])
    except (OSError, ValueError, KeyError) as error:
        raise InputError(f"{args.manifest}: not a manifest of hru2net-prepare-generalist with EMPS "
                         f"val ids ({error})") from error
    pairs = {"train": ([], []), "val": ([], [])}
    for image_id in tqdm(emps_ids(args.emps), desc="measuring"):
        grey, instances = read_emps_sample(args.emps, image_id)
        diameter = median_equivalent_diameter(instances)
        if diameter is None:
            continue
        lengths, diameters = pairs["val" if image_id in val_ids else "train"]
        lengths.append(autocorrelation_length(grey))
        diameters.append(diameter)
    fit = fit_power_law(*pairs["train"])
    print(f"fit on {len(pairs['train'][0])} train images: a = {fit[0]:.3f}, b = {fit[1]:.3f} "
          f"(in use: a = {AUTOCORRELATION_FIT[0]}, b = {AUTOCORRELATION_FIT[1]})")
    for split, (lengths, diameters) in pairs.items():
        if lengths:
            errors = factor_errors(lengths, diameters, fit)
            print(f"{split}: {len(lengths)} images, median factor error {np.median(errors):.2f}, "
                  f"{100 * np.mean(errors < 1.5):.0f} % within 1.5x, {100 * np.mean(errors < 2):.0f} % within 2x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
