"""``hru2net-validate-analysis`` with the refinement of a grey-value scale estimate
(``analysis.workflow._refined``) run with another band and number of passes: a refinement that
would change the factor by less than the band is not worth a pass (``scale.REFINEMENT_BAND``),
and a refined scale is refined again from its own segmentation up to ``--passes`` times
(``workflow.MAX_REFINEMENTS``).

    python tools/experiments/refinement_passes.py --band 0.87 1.15 --passes 2 -- \\
        --emps ../shared/data/emps_train --manifest data/generalist_r2/manifest.json --split val

Only the generalist refines its scale (``size_from: grey_values_refined``).
"""
import argparse
import sys
from typing import List, Optional

import paddleseg_hru2net.cli.validate_analysis as validate_analysis
from paddleseg_hru2net.analysis import scale, workflow


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ours, theirs = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--band", type=float, nargs=2, metavar=("LOW", "HIGH"), default=scale.REFINEMENT_BAND,
                        help="ratios of the refined to the current factor not worth a pass")
    parser.add_argument("--passes", type=int, default=workflow.MAX_REFINEMENTS,
                        help="refinements at most, each from the last one's segmentation")
    args = parser.parse_args(ours)
    scale.REFINEMENT_BAND = tuple(args.band)
    workflow.MAX_REFINEMENTS = args.passes
    print(f"refinement band {args.band[0]:g}-{args.band[1]:g}, at most {args.passes} pass(es)")
    return validate_analysis.main(theirs)


if __name__ == "__main__":
    sys.exit(main())
