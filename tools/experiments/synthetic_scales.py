"""Images of the synthetic generator with particles of several sizes and no pixel size, through
the default ``hru2net analyze``, matched one-to-one with the generator's own instance maps: how
well an image is brought to the model's scale when nothing says how large its particles are
(docs/results.md, "Climbing from the refined scale").

    python tools/experiments/synthetic_scales.py OUT --radii 4 8 16 32 [--images 3]
    python tools/experiments/synthetic_scales.py OUT --climb-agreement 0   # without the climb
    python tools/experiments/synthetic_scales.py OUT ... -- --backend onnxruntime-int8  # analyze options

Each radius (the generator's median particle radius, px) gets ``--images`` frames of 1024 x 768
(seeds 100, 101, ...; written once to ``OUT/images/r<R>``) and an analysis folder
``OUT/<setting>/r<R>``. Printed: per radius the manual and found particles, matches at IoU > 0.5,
F1, each frame's median equivalent diameter found over the generator's and the scale reached.
Refinement and climb options as in ``refinement_passes.py``.
"""
import argparse
import csv
import sys
from pathlib import Path
from typing import List, Optional

import numpy as np
import tifffile
from PIL import Image

from paddleseg_hru2net.analysis.validation import ParticleMatch, match_particles
from paddleseg_hru2net.cli import analyze
from paddleseg_hru2net.datasets.synthetic import SyntheticSEMConfig, generate_sem_instances
from paddleseg_hru2net.microscopy.particle_diameters import median_equivalent_diameter
from refinement_passes import add_refinement_options, apply_refinement_options

HEIGHT, WIDTH, FIRST_SEED = 768, 1024, 100


def write_images(folder: Path, radius: float, count: int) -> None:
    """``count`` generator frames (``s<i>.png``) and their instance maps (``s<i>_instances.npy``)."""
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        if (folder / f"s{index}.png").exists():
            continue
        image, instances = generate_sem_instances(
            FIRST_SEED + index, SyntheticSEMConfig(height=HEIGHT, width=WIDTH, median_radius=radius))
        np.save(folder / f"s{index}_instances.npy", instances)
        Image.fromarray(image).save(folder / f"s{index}.png")


def scale_reached(summary_csv: Path) -> List[str]:
    """The factor each frame was segmented at, from the analysis summary's ``scale`` column."""
    with open(summary_csv, newline="") as handle:
        return [row["scale"].split(" ")[0] for row in csv.DictReader(handle)]


def radius_row(images: Path, analysis: Path, radius: float, count: int) -> str:
    matched = manual = found = 0
    ratios = []
    for index in range(count):
        truth = np.load(images / f"s{index}_instances.npy")
        labels = tifffile.imread(analysis / f"s{index}_labels.tif")
        match: ParticleMatch = match_particles(truth, labels)
        matched, manual, found = matched + match.matched, manual + match.manual, found + match.predicted
        ours, theirs = median_equivalent_diameter(labels, 9), median_equivalent_diameter(truth, 9)
        ratios.append(f"{ours / theirs:.2f}" if ours and theirs else "-")
    f1 = ParticleMatch(matched, manual, found).f1
    return (f"| {radius:g} | {manual} | {found} | {matched} | {f1:.3f} | {' '.join(ratios)} | "
            f"{' '.join(scale_reached(analysis / 'summary.csv'))} |")


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ours, theirs = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder for the images and the analyses")
    parser.add_argument("--radii", type=float, nargs="+", default=[4, 8, 16, 32])
    parser.add_argument("--images", type=int, default=3, help="frames per radius")
    add_refinement_options(parser)
    args = parser.parse_args(ours)
    setting = apply_refinement_options(args)
    print(setting)
    tag = f"climb_{args.climb_agreement:g}_{args.climb_min_particles}" if args.climb_agreement > 0 else "no_climb"
    rows = ["| median radius (px) | manual | found | matched | F1@0.5 | median found / generator | scale |",
            "|---|---|---|---|---|---|---|"]
    for radius in args.radii:
        images = args.out / "images" / f"r{radius:g}"
        analysis = args.out / tag / f"r{radius:g}"
        write_images(images, radius, args.images)
        if not (analysis / "summary.csv").exists():
            code = analyze.main([str(images), "--out", str(analysis), *theirs])
            if code:
                print(f"hru2net analyze failed on {images} (exit {code})", file=sys.stderr)
                return code
        rows.append(radius_row(images, analysis, radius, args.images))
        print(rows[-1], flush=True)
    print("\n".join([setting, *rows]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
