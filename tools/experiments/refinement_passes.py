"""``hru2net-validate-analysis`` with the refinement of a grey-value scale estimate
(``analysis.workflow._refined``) run with another band and number of passes: a refinement that
would change the factor by less than the band is not worth a pass (``scale.REFINEMENT_BAND``),
and a refined scale is refined again from its own segmentation up to ``--passes`` times
(``workflow.MAX_REFINEMENTS``); then the climb above it (``workflow._climbed``) with another
agreement (``scale.CLIMB_AGREEMENT``; 0: no climbing) and fewest particles to climb from
(``scale.MIN_PARTICLES_TO_CLIMB``).

    python tools/experiments/refinement_passes.py --band 0.87 1.15 --passes 2 -- \\
        --emps ../shared/data/emps_train --manifest data/generalist_r2/manifest.json --split val
    python tools/experiments/refinement_passes.py --climb-agreement 0 -- --release ... --split val

Only the generalist refines its scale (``size_from: grey_values_refined``).
"""
import argparse
import sys
from typing import List, Optional

import paddleseg_hru2net.cli.validate_analysis as validate_analysis
from paddleseg_hru2net.analysis import scale, workflow


def add_refinement_options(parser: argparse.ArgumentParser) -> None:
    """The options of the grey-value scale's refinement and climb, defaulting to the shipped ones."""
    parser.add_argument("--band", type=float, nargs=2, metavar=("LOW", "HIGH"), default=scale.REFINEMENT_BAND,
                        help="ratios of the refined to the current factor not worth a pass")
    parser.add_argument("--passes", type=int, default=workflow.MAX_REFINEMENTS,
                        help="refinements at most, each from the last one's segmentation")
    parser.add_argument("--climb-agreement", type=float, default=scale.CLIMB_AGREEMENT,
                        help="climb while the particles measure at most this times the model's size (0: never)")
    parser.add_argument("--climb-min-particles", type=int, default=scale.MIN_PARTICLES_TO_CLIMB,
                        help="climb only from a segmentation with this many particles")


def apply_refinement_options(args: argparse.Namespace) -> str:
    """Set the refinement and climb of this process as ``args`` say; what was set, in words."""
    scale.REFINEMENT_BAND = tuple(args.band)
    workflow.MAX_REFINEMENTS = args.passes
    scale.CLIMB_AGREEMENT = workflow.CLIMB_AGREEMENT = args.climb_agreement  # the summary names it too
    workflow.MIN_PARTICLES_TO_CLIMB = args.climb_min_particles
    if args.climb_agreement <= 0:
        workflow._climbed = lambda segmentation, *rest: segmentation
    climb = (f"climbing to {args.climb_agreement:g} x the model's size from {args.climb_min_particles} particles"
             if args.climb_agreement > 0 else "no climbing")
    return f"refinement band {args.band[0]:g}-{args.band[1]:g}, at most {args.passes} pass(es), {climb}"


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ours, theirs = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_refinement_options(parser)
    print(apply_refinement_options(parser.parse_args(ours)))
    return validate_analysis.main(theirs)


if __name__ == "__main__":
    sys.exit(main())
