"""Warnings for images a model may be out of its depth on: the table would look as plausible
as a good one, so the summary and the console say when it should not be trusted."""
from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np

from paddleseg_hru2net.inference.feed import Feed

__all__ = ["out_of_depth_warnings", "NO_PARTICLES", "distrusted_coverage_and_confidence", "LOW_CONFIDENCE",
           "DENSE_FRACTION"]

#: The warning of an image without particles: the model found none, or none that was not drawn
#: over the image (a label box, a scale bar, text).
NO_PARTICLES = "no particles found"
#: Mean particle probability over the particle mask below which the model is unsure.
LOW_CONFIDENCE = 0.8
#: Particle share of the image above which contrast is probably inverted (or it is not particles).
DENSE_FRACTION = 0.6


def distrusted_coverage_and_confidence(particle: np.ndarray
                                       ) -> Tuple[Optional[float], Optional[float]]:
    """``(particle share of the image, mean probability over the particles)`` of a particle
    probability map, each given only where it is a reason for distrust (share above
    :data:`DENSE_FRACTION`, probability below :data:`LOW_CONFIDENCE`), else None."""
    mask = particle > 0.5
    if not mask.any():
        return None, None
    fraction = float(mask.mean())
    confidence = float(particle[mask].mean())
    return (fraction if fraction > DENSE_FRACTION else None,
            confidence if confidence < LOW_CONFIDENCE else None)


def out_of_depth_warnings(particle: np.ndarray, particles_found: int, diameters_px: List[float], feed: Feed,
                          factor: float = 1.0) -> List[str]:
    """Reasons not to trust an image's particle table (empty if none).

    Args:
        particle: particle probability ``(H, W)`` on the image's grid.
        particles_found: how many particles the table holds (those drawn over the image left
            out): none, or no particle pixel in ``particle``, is :data:`NO_PARTICLES` alone.
        diameters_px: equivalent diameters (image pixels) of the particles found not cut by the
            image's border.
        feed: how the model was fed: its window (at the segmentation scale), its training
            particles' median diameter if recorded, and whether it saw the image both ways
            round (then no warning suggests inverting the contrast).
        factor: the resampling factor the image was segmented at.
    """
    warnings: List[str] = []
    if not particles_found or not (particle > 0.5).any():
        return [NO_PARTICLES]
    fraction, confidence = distrusted_coverage_and_confidence(particle)
    if confidence is not None:
        warnings.append(f"low confidence over the particles (mean probability {confidence:.2f})")
    if fraction is not None:
        hint = "" if feed.sees_both_polarities else " - inverted contrast? try a model trained for both polarities"
        warnings.append(f"particles cover {100 * fraction:.0f} % of the image{hint}")
    if diameters_px:
        median = float(np.median(diameters_px)) * factor  # at the segmentation scale
        window = min(feed.window)
        if median > 0.4 * window:
            warnings.append(f"particles ({median:.0f} px at the model's scale) are close to the "
                            f"{window} px window")
        training_diameter_px = feed.particle_diameter_px
        if training_diameter_px and not (training_diameter_px / 3 <= median <= 3 * training_diameter_px):
            warnings.append(f"particle size ({median:.0f} px at the model's scale) is far from the "
                            f"training particles' ({training_diameter_px:.0f} px)")
    return warnings
