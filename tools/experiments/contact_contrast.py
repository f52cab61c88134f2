"""Do the TiO2 specialist's contacts between particles lie where a contact is? For each image
the specialist segments at a pixel size (as the automatic model choice tries it), two measures
on the pixels where two of its particles meet:

* contact depth, from the grey values: (median inside - median on contacts) / (median inside -
  median background), in the contrast the model was given. Real contacts between bright
  particles should be dark valleys; not adopted (twenty-seventh session: TiO2 images 0.01-0.72);
* the generalist's mean P(interior) there, shown the image at the specialist's scale and
  contrast, unflipped, in the busiest window, as the model choice measures it
  (``analysis.model_choice.compare_in_busiest_window``, shipped; images enlarged for the model
  are measured here but not judged by it).

    python tools/experiments/contact_contrast.py tio2 val train [--rescale F] [--invert]
    python tools/experiments/contact_contrast.py emps 1 2 0.5 [--only NAME.png ...]   # EMPS val, made-up pixel sizes
    python tools/experiments/contact_contrast.py synthetic 9 0 1 2 3 4 5

The EMPS pixel sizes are made up as in ``auto_with_pixel_size.py`` (size factors). For choosing
the model choice's check; never run on the test split. The contacts are
``analysis.particles.contacts_between``, the model choice's; the twenty-seventh session's
figures also counted contact pixels next to the background.
"""
import argparse
import sys
from typing import Iterator, List, Tuple

import numpy as np
from scipy import ndimage

from paddleseg_hru2net.analysis.particles import contacts_between
from paddleseg_hru2net.analysis.workflow import SEMImage, analyze_segmentation
from paddleseg_hru2net.cli import validate_analysis
from paddleseg_hru2net.cli.analyze import analysis_models

TIO2, TIO2_MANIFEST = "../shared/data/tio2_sem_ruhle2021", "data/tio2_contact_r2/manifest.json"
EMPS, EMPS_MANIFEST = "../shared/data/emps_train", "data/generalist_r2/manifest.json"


def contact_depth(grey: np.ndarray, labels: np.ndarray) -> Tuple[float, int]:
    """``(depth, contact pixels)`` of :mod:`this module's <contact_contrast>` measure; depth is
    nan where the particles touch nowhere."""
    grey = grey.astype(np.float64)
    contact = contacts_between(labels)
    particle = labels > 0
    inside = ndimage.binary_erosion(particle, iterations=2) & ~ndimage.binary_dilation(contact, iterations=2)
    background = ~ndimage.binary_dilation(particle, iterations=2)
    if contact.sum() == 0 or inside.sum() == 0 or background.sum() == 0:
        return float("nan"), int(contact.sum())
    inner, edge, back = np.median(grey[inside]), np.median(grey[contact]), np.median(grey[background])
    return float((inner - edge) / max(inner - back, 1.0)), int(contact.sum())


def samples(kind: str, values: List[str], rescale: float = 1.0, invert: bool = False
            ) -> Iterator[Tuple[SEMImage, str]]:
    if kind == "tio2":
        for split in values:
            args = validate_analysis.parse_args(["--release", TIO2, "--manifest", TIO2_MANIFEST, "--split", split])
            for image, manual in validate_analysis.manual_samples(args):
                image, _, _ = validate_analysis.transformed(image, manual, rescale, invert)
                yield image, f"{split} x{rescale:g}{' inverted' if invert else ''}"
    elif kind == "emps":
        sys.path.insert(0, "tools/experiments")
        from auto_with_pixel_size import specialist_particle_nm, with_made_up_pixel_size
        args = validate_analysis.parse_args(["--emps", EMPS, "--manifest", EMPS_MANIFEST, "--split", "val"])
        loaded, particle_nm = list(validate_analysis.manual_samples(args)), specialist_particle_nm()
        for factor in map(float, values):
            for image, instances in loaded:
                yield with_made_up_pixel_size(image, instances, factor, particle_nm), f"F={factor:g}"
    elif kind == "synthetic":
        from paddleseg_hru2net.datasets.synthetic import SyntheticSEMConfig, generate_sem_image
        for seed in map(int, values):
            grey, _ = generate_sem_image(seed, SyntheticSEMConfig(height=200, width=280, data_bar_rows=0))
            yield SEMImage(f"synthetic{seed}", grey, 0, 7.34, "given"), "synthetic"
    else:
        raise SystemExit(f"unknown kind {kind}")


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["tio2", "emps", "synthetic"])
    parser.add_argument("values", nargs="+")
    parser.add_argument("--only", nargs="+", default=None, help="these image names only")
    parser.add_argument("--rescale", type=float, default=1.0, help="tio2: resample the images first")
    parser.add_argument("--invert", action="store_true", help="tio2: invert the images first")
    args = parser.parse_args(argv)
    specialist, generalist = analysis_models(validate_analysis.parse_args(
        ["--manifest", "x", "--model", "auto"]))
    from paddleseg_hru2net.analysis.model_choice import compare_in_busiest_window
    print("| image | set | particles | contacts px | contact depth | warnings | agreement | "
          "generalist P(interior) on contacts (shipped measure) |")
    for image, label in samples(args.kind, args.values, args.rescale, args.invert):
        if "test" in label:
            raise SystemExit("never the test split")
        if args.only and image.path.split("/")[-1] not in args.only:
            continue
        segmentation = specialist.segment(image)
        result = analyze_segmentation(image, segmentation)
        depth, pixels = contact_depth(segmentation.grey, result.labels)
        compared = compare_in_busiest_window(segmentation, result.labels, generalist.segmenter)
        print(f"| {image.path.split('/')[-1]} | {label} | {len(result.particles)} | {pixels} | {depth:.3f} | "
              f"{len(result.warnings)} | {compared.particle_iou:.3f} | {compared.interior_on_contacts:.3f} |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
