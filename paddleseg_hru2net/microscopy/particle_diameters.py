"""The median particle size of a label image: one definition for the analysis (the size a first
pass measures, to choose an image's scale), the data preparation (resampling EMPS images to one
particle size) and the fit of the grey-value size estimate (``hru2net-fit-size-model``).

A particle's size is its equivalent circle diameter, ``sqrt(4 * area / pi)`` in pixels, as in
the particle tables (:func:`paddleseg_hru2net.analysis.particles.measure_particles`).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

__all__ = ["equivalent_diameters", "median_equivalent_diameter"]


def equivalent_diameters(labels: np.ndarray) -> np.ndarray:
    """Equivalent diameter (px) of every id of ``labels``, indexed by id (0 for the background
    and for ids no pixel has)."""
    return _diameters_of_areas(_areas(labels))


def _areas(labels: np.ndarray) -> np.ndarray:
    """Pixels of every id of ``labels``, indexed by id (0 for the background)."""
    areas = np.bincount(np.asarray(labels, np.int64).ravel())
    areas[0] = 0
    return areas


def _diameters_of_areas(areas: np.ndarray) -> np.ndarray:
    """Diameters of the discs of ``areas``."""
    return np.sqrt(4.0 * areas / np.pi)


def median_equivalent_diameter(labels: np.ndarray, min_area: int = 0,
                               leave_out_border_cut: bool = True) -> Optional[float]:
    """Median equivalent diameter (px) of the particles of ``labels`` (0 background, one id per
    particle) that have at least ``min_area`` pixels, None if there are none. With
    ``leave_out_border_cut``, particles touching the image border are left out where others
    remain (a cut particle looks smaller than it is)."""
    areas = _areas(labels)
    present = areas > 0
    keep = present & (areas >= min_area)
    if leave_out_border_cut:
        whole = keep.copy()
        whole[np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])] = False
        if whole.any():
            keep = whole
    if not keep.any():
        return None
    return float(np.median(_diameters_of_areas(areas[keep])))
