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

The centre target (:func:`centre_target`) adds a fourth class:

* 3 centre: the inner part of each particle, where the distance to the particle's own outline
  (background or another particle) is at least ``CENTRE_FRACTION`` of the particle's largest.

Every particle has a centre, however small, and centres of touching particles lie apart even
where the contact between them is faint, so centres seed the split where class-1 regions of
neighbours run into each other (the specialist's class-1 cores stayed joined across 81 of the
142 TiO2 val particles it merged). Deep watershed (Bai and Urtasun, CVPR 2017) learns such
levels of the distance as classes; here one level is enough for markers.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from paddleseg_hru2net.microscopy.particle_diameters import equivalent_diameters

__all__ = ["BACKGROUND", "PARTICLE", "CONTACT", "CENTRE", "CONTACT_CLASSES", "CENTRE_CLASSES",
           "CENTRE_FRACTION", "instances_from_mask", "contact_pixels", "small_particle_pixels", "contact_target",
           "centre_pixels", "centre_target", "target_of_instances"]

BACKGROUND, PARTICLE, CONTACT, CENTRE = 0, 1, 2, 3
CONTACT_CLASSES = {BACKGROUND: "background", PARTICLE: "particle", CONTACT: "contact"}
CENTRE_CLASSES = {**CONTACT_CLASSES, CENTRE: "centre"}
CENTRE_FRACTION = 0.5
_FOUR_CONNECTED = ndimage.generate_binary_structure(2, 1)


def instances_from_mask(mask: np.ndarray) -> np.ndarray:
    """Particles of a binary mask in which touching particles are separated by background lines.

    Regions are 4-connected, so a 1-px separation line (8-connected) keeps its two sides apart,
    as in the TiO2 release's ``TiO2_Masks_Manual_4connected`` masks.
    """
    labels, _ = ndimage.label(np.asarray(mask) > 0, structure=_FOUR_CONNECTED)
    return labels.astype(np.int32)


def contact_pixels(instances: np.ndarray, radius: int = 1, narrow_below: float = 0.0) -> np.ndarray:
    """True where the ``(2 radius + 1)``-square around a pixel holds two or more particles.

    ``narrow_below`` (pixels): the pixels of particles whose equivalent diameter is smaller are
    contact only by the 3 x 3 square (radius 1), so a band wider than that never takes the
    interior of a particle a few pixels across (0: every particle gets the full radius).
    """
    if narrow_below > 0 and radius > 1:
        small = small_particle_pixels(instances, narrow_below)
        return _contacts_within(instances, 1) | (_contacts_within(instances, radius) & ~small)
    return _contacts_within(instances, radius)


def small_particle_pixels(instances: np.ndarray, diameter: float) -> np.ndarray:
    """True on the pixels of particles whose equivalent diameter (of a disc of the same area) is
    below ``diameter`` pixels."""
    diameters = equivalent_diameters(instances)
    small = (diameters > 0) & (diameters < diameter)
    return small[np.asarray(instances)]


def _contacts_within(instances: np.ndarray, radius: int) -> np.ndarray:
    if radius < 1:
        raise ValueError(f"contact radius must be at least 1 pixel, got {radius}")
    instances = np.asarray(instances).astype(np.int64)
    size = 2 * radius + 1
    none = int(instances.max()) + 1  # stands for "no particle" in the minimum (exact in float64)
    largest = ndimage.maximum_filter(instances, size=size, mode="constant", cval=0)
    background_as_none = np.where(instances > 0, instances, none)
    smallest = ndimage.minimum_filter(background_as_none, size=size, mode="constant", cval=none)
    return (largest > 0) & (smallest < none) & (largest != smallest)


def contact_target(instances: np.ndarray, radius: int = 1, narrow_below: float = 0.0) -> np.ndarray:
    """Three-class target (uint8: 0 background, 1 particle, 2 contact) of an instance map
    (``narrow_below``: :func:`contact_pixels`)."""
    target = (np.asarray(instances) > 0).astype(np.uint8) * PARTICLE
    target[contact_pixels(instances, radius, narrow_below)] = CONTACT
    return target


def centre_pixels(instances: np.ndarray, fraction: float = CENTRE_FRACTION) -> np.ndarray:
    """True where a particle's distance to its own outline is at least ``fraction`` of its
    largest (a particle's outline is background, another particle, or the image edge)."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"centre fraction must be in (0, 1], got {fraction}")
    instances = np.asarray(instances)
    centres = np.zeros(instances.shape, bool)
    for index, box in enumerate(ndimage.find_objects(instances), start=1):
        if box is None:
            continue
        inside = np.pad(instances[box] == index, 1)  # padding: the image edge is an outline too
        distance = ndimage.distance_transform_edt(inside)[1:-1, 1:-1]
        centres[box] |= distance >= fraction * distance.max()
    return centres


def centre_target(instances: np.ndarray, radius: int = 1,
                  fraction: float = CENTRE_FRACTION, narrow_below: float = 0.0) -> np.ndarray:
    """Four-class target (uint8: 0 background, 1 particle, 2 contact, 3 centre) of an instance
    map: :func:`contact_target` with each particle's centre marked; contact pixels stay contact."""
    target = contact_target(instances, radius, narrow_below)
    target[centre_pixels(instances, fraction) & (target == PARTICLE)] = CENTRE
    return target


def target_of_instances(instances: np.ndarray, num_classes: int, radius: int = 1,
                        narrow_below: float = 0.0) -> np.ndarray:
    """The training target of a model of ``num_classes`` classes (uint8): particle/background
    (2), with contacts (3), with contacts and centres (4) (``narrow_below``: :func:`contact_pixels`)."""
    if num_classes == 2:
        return (np.asarray(instances) > 0).astype(np.uint8)
    if num_classes == 3:
        return contact_target(instances, radius, narrow_below)
    if num_classes == 4:
        return centre_target(instances, radius, narrow_below=narrow_below)
    raise ValueError(f"no particle target has {num_classes} classes (2, 3 or 4)")
