"""How the automatic model choice (``--model auto``) fares on images of other materials that
carry a pixel size: the EMPS val images given the pixel size at which their particles would be
as large, in pixels after resampling, as the TiO2 specialist's training particles (times
``--size_factor``: 2 means particles twice that size). That is the specialist's best case on a
new material: right scale, wrong material. Compare with ``--model hru2netp_contact_generalist``.

    python tools/experiments/auto_with_pixel_size.py [--size_factor F] [hru2net-validate-analysis options]

An experiment, not a tool: the EMPS images carry no pixel size, and it is made up here from
their manual particles.
"""
import dataclasses
import sys

from paddleseg_hru2net.cli import validate_analysis
from paddleseg_hru2net.inference.source import DEFAULT_MODEL, shipped_source
from paddleseg_hru2net.microscopy.particle_diameters import median_equivalent_diameter
from paddleseg_hru2net.run_records import read_run_record

EMPS, MANIFEST = "../shared/data/emps_train", "data/generalist_r2/manifest.json"


def specialist_particle_nm() -> float:
    """The median diameter (nm) of the shipped specialist's training particles, from its record:
    its particle diameter in pixels times its pixel size."""
    record = read_run_record(shipped_source(DEFAULT_MODEL).weights)
    return float(record["particle_diameter_px"]) * float(record["pixel_size_nm"])


def with_made_up_pixel_size(image, instances, size_factor: float, particle_nm: float):
    """``image`` given the pixel size at which its manual median diameter (``instances``) is
    ``size_factor`` times the specialist's training particles' (``particle_nm``)."""
    pixel = particle_nm * size_factor / median_equivalent_diameter(instances, 9)
    return dataclasses.replace(image, pixel_size_nm=pixel, pixel_size_source="made up")


def main(argv: list) -> int:
    size_factor = float(argv[argv.index("--size_factor") + 1]) if "--size_factor" in argv else 1.0
    rest = [a for i, a in enumerate(argv)
            if a != "--size_factor" and (i == 0 or argv[i - 1] != "--size_factor")]
    emps_samples = validate_analysis.manual_samples
    particle_nm = specialist_particle_nm()

    def with_pixel_size(args):
        for image, instances in emps_samples(args):
            yield with_made_up_pixel_size(image, instances, size_factor, particle_nm), instances

    validate_analysis.manual_samples = with_pixel_size
    return validate_analysis.main(["--emps", EMPS, "--manifest", MANIFEST, "--split", "val"] + rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
