"""``hru2net-validate-analysis`` on its images with Gaussian noise added, as a noisier microscope
would have recorded them, then conditioned as the analysis conditions an image it reads
(``condition_for_model``: the stretch, the denoising); ``--no-denoise``: without the denoising,
as before the twenty-second session (docs/results.md, "Noisy images denoised for the model").

    python tools/experiments/noisy_images.py --sigma 20 -- --release ../shared/data/tio2_sem_ruhle2021 \\
        --manifest data/tio2_contact_r2/manifest.json --split val
    python tools/experiments/noisy_images.py --sigma 20 --no-denoise -- ...

Each image draws its noise from a seed made of its file name, so a run is repeatable.
"""
import argparse
import dataclasses
import sys
import zlib
from typing import Iterator, List, Optional

import numpy as np

import paddleseg_hru2net.cli.validate_analysis as validate_analysis
from paddleseg_hru2net.microscopy import conditioning


def with_noise(samples: Iterator, sigma: float) -> Iterator:
    """The ``(SEMImage, manual)`` pairs of ``samples`` with noise of ``sigma`` grey levels added
    to each image, then conditioned for the model."""
    for image, manual in samples:
        rng = np.random.default_rng(zlib.crc32(image.path.encode()))
        noisy = np.clip(np.round(image.grey + rng.normal(0, sigma, image.grey.shape)), 0, 255).astype(np.uint8)
        grey, notes = conditioning.condition_for_model(noisy)
        yield dataclasses.replace(image, grey=grey, notes=image.notes + notes), manual


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ours, theirs = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sigma", type=float, required=True, help="Gaussian noise, grey levels")
    parser.add_argument("--no-denoise", action="store_true", help="leave the noisy images as they are")
    args = parser.parse_args(ours)
    if args.no_denoise:
        conditioning.denoise_noisy = lambda grey: (grey, [])
    manual_samples = validate_analysis.manual_samples
    validate_analysis.manual_samples = lambda options: with_noise(manual_samples(options), args.sigma)
    return validate_analysis.main(theirs)


if __name__ == "__main__":
    sys.exit(main())
