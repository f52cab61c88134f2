"""Instance-aware training targets: where touching particles meet, as a class of its own.

A two-class model paints the 1-px lines that separate touching particles in a manual mask as
particle, so its mask merges them. The instance-aware HRU2-Net† learns three classes instead:

* 0 background,
* 1 particle (interior),
* 2 contact: pixels whose neighbourhood (a square of side ``2 * radius + 1``) holds two different
  particles - the separation line of a manual mask and the particle pixels next to it.

Particle pixels are classes 1 and 2 together; connected regions of class 1 are one particle each
and seed the split (:func:`paddleseg_hru2net.analysis.particles.split_with_contacts`). This is
the three-class target of nucleus segmentation (Caicedo et al., Cytometry A 95, 2019), but
with only the boundaries *between* particles marked, so that class 1 keeps the meaning of the
two-class model's particle class and its weights are a good start.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["BACKGROUND", "PARTICLE", "CONTACT", "CONTACT_CLASSES", "instances_from_mask",
           "contact_pixels", "contact_target"]

BACKGROUND, PARTICLE, CONTACT = 0, 1, 2
CONTACT_CLASSES = {BACKGROUND: "background", PARTICLE: "particle", CONTACT: "contact"}
_FOUR_CONNECTED = ndimage.generate_binary_structure(2, 1)


def instances_from_mask(mask: np.ndarray) -> np.ndarray:
    """Particles of a binary mask in which touching particles are separated by background lines.

    Regions are 4-connected, so a 1-px separation line (8-connected) keeps its two sides apart,
    as in the TiO2 release's ``TiO2_Masks_Manual_4connected`` masks.
    """
    labels, _ = ndimage.label(np.asarray(mask) > 0, structure=_FOUR_CONNECTED)
    return labels.astype(np.int32)


def contact_pixels(instances: np.ndarray, radius: int = 1) -> np.ndarray:
    """True where the ``(2 radius + 1)``-square around a pixel holds two or more particles."""
    if radius < 1:
        raise ValueError(f"contact radius must be at least 1 pixel, got {radius}")
    instances = np.asarray(instances).astype(np.int64)
    size = 2 * radius + 1
    none = int(instances.max()) + 1  # stands for "no particle" in the minimum (exact in float64)
    largest = ndimage.maximum_filter(instances, size=size, mode="constant", cval=0)
    background_as_none = np.where(instances > 0, instances, none)
    smallest = ndimage.minimum_filter(background_as_none, size=size, mode="constant", cval=none)
    return (largest > 0) & (smallest < none) & (largest != smallest)


def contact_target(instances: np.ndarray, radius: int = 1) -> np.ndarray:
    """Three-class target (uint8: 0 background, 1 particle, 2 contact) of an instance map."""
    target = (np.asarray(instances) > 0).astype(np.uint8) * PARTICLE
    target[contact_pixels(instances, radius)] = CONTACT
    return target
