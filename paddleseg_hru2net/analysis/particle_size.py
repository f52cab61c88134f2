"""The particle size of an image from its grey values alone, for when no model can be trusted to
measure it (a granulometric estimate, in the spirit of Cellpose's size model).

The intensity autocorrelation of an image of particles falls off over about a particle's size:
for discs of diameter D it reaches a quarter of its value at zero shift after a shift of roughly
half a diameter. A smooth background (uneven illumination, charging, a vignette) would hold the
autocorrelation up across the whole image and read as huge particles, so the least-squares
quadratic surface is taken off the image first (:func:`remove_smooth_background`). The radial
profile gives a length (:func:`autocorrelation_length`), and a power law fitted on the EMPS
training images (SEM and TEM of many materials, their val images left out) turns that length
into a median particle diameter (:func:`diameter_from_autocorrelation`).
``hru2net-fit-size-model`` refits the two numbers (:func:`fit_power_law`) and prints how close
the estimates come on the val images.

Measured on the 37 EMPS val images: median factor error 1.33, 65 % within 1.5x of the manual
median diameter; 1.36 and 65 % under a tilt of 80 grey levels across the images (with the mean
alone taken off: 1.35 and 59 %, tilted 1.40 and 54 %, some images read 5-8x too large).
Agglomerates read as larger particles (on TiO2 SEM, about 4x), so the analysis uses this only
where a model's own first pass is unreliable (:mod:`paddleseg_hru2net.analysis.scale`).
"""
from __future__ import annotations

from typing import Sequence, Tuple

import cv2
import numpy as np

__all__ = ["remove_smooth_background", "autocorrelation_length", "diameter_from_autocorrelation",
           "fit_power_law", "factor_errors", "AUTOCORRELATION_LEVEL", "AUTOCORRELATION_FIT"]

#: The fraction of the zero-shift autocorrelation whose shift is the length.
AUTOCORRELATION_LEVEL = 0.25
#: ``log(diameter) = a + b * log(length)``, least squares on the EMPS training images without
#: the val images of ``hru2net-prepare-generalist`` (seed 0): 329 images.
AUTOCORRELATION_FIT = (1.041, 1.007)
#: At most this many pixels (a regular subsample) fit the background surface.
_SURFACE_SAMPLES = 65536


def _quadratic_terms(rows: np.ndarray, cols: np.ndarray) -> list:
    """1, r, c, r², c², rc on the grid of a column of row and a row of column coordinates."""
    shape = (rows.shape[0], cols.shape[1])
    return [np.broadcast_to(term, shape) for term in
            (np.ones((1, 1)), rows, cols, rows * rows, cols * cols, rows * cols)]


def remove_smooth_background(grey: np.ndarray) -> np.ndarray:
    """``grey`` (float32) minus the quadratic surface in the row and column coordinates that fits
    it best (least squares on a regular subsample of at most ``_SURFACE_SAMPLES`` pixels)."""
    image = grey.astype(np.float32)
    height, width = image.shape
    step = max(1, int(np.ceil(np.sqrt(height * width / _SURFACE_SAMPLES))))
    rows = (np.arange(height, dtype=np.float64) / height - 0.5)[:, None]
    cols = (np.arange(width, dtype=np.float64) / width - 0.5)[None, :]
    sampled = _quadratic_terms(rows[::step], cols[:, ::step])
    design = np.stack([term.ravel() for term in sampled], axis=1)
    samples = image[::step, ::step].ravel().astype(np.float64)
    coefficients, *_ = np.linalg.lstsq(design, samples, rcond=None)
    surface = sum(c * term for c, term in zip(coefficients, _quadratic_terms(rows, cols)))
    return image - surface.astype(np.float32)


def _radial_autocorrelation(grey: np.ndarray) -> np.ndarray:
    """Radially averaged autocorrelation of the lightly smoothed image without its smooth
    background, each shift normalised by the number of pixel pairs it has, divided by its value
    at zero shift."""
    image = remove_smooth_background(cv2.GaussianBlur(grey.astype(np.float32), (0, 0), 1.0))
    height, width = image.shape
    padded = (2 * height, 2 * width)
    power = np.abs(np.fft.rfft2(image, s=padded)) ** 2
    pairs = np.abs(np.fft.rfft2(np.ones_like(image), s=padded)) ** 2
    correlation = np.fft.fftshift(np.fft.irfft2(power, s=padded) /
                                  np.maximum(np.fft.irfft2(pairs, s=padded), 1.0))
    rows, cols = np.indices(correlation.shape)
    radius = np.hypot(rows - height, cols - width).astype(np.int64).ravel()
    reach = min(height, width) // 2
    sums = np.bincount(radius, correlation.ravel(), minlength=reach)[:reach]
    counts = np.bincount(radius, minlength=reach)[:reach]
    profile = sums / np.maximum(counts, 1)
    return profile / profile[0] if profile[0] > 0 else np.ones_like(profile)


def autocorrelation_length(grey: np.ndarray, level: float = AUTOCORRELATION_LEVEL) -> float:
    """The smallest shift (px) at which the radial autocorrelation of ``grey`` falls below
    ``level``; half the image's short side if it never does (a flat image: 1)."""
    profile = _radial_autocorrelation(grey)
    below = np.flatnonzero(profile < level)
    return float(max(below[0], 1)) if below.size else float(max(len(profile), 1))


def diameter_from_autocorrelation(grey: np.ndarray,
                                  fit: Tuple[float, float] = AUTOCORRELATION_FIT) -> float:
    """An estimate of the median equivalent diameter (px) of the particles in ``grey``."""
    intercept, slope = fit
    return float(np.exp(intercept + slope * np.log(autocorrelation_length(grey))))


def fit_power_law(lengths: Sequence[float], diameters: Sequence[float]) -> Tuple[float, float]:
    """``(a, b)`` of ``log(diameter) = a + b * log(length)`` by least squares."""
    if len(lengths) < 2 or len(lengths) != len(diameters):
        raise ValueError(f"need two or more (length, diameter) pairs, got {len(lengths)} and {len(diameters)}")
    slope, intercept = np.polyfit(np.log(lengths), np.log(diameters), 1)
    return float(intercept), float(slope)


def factor_errors(lengths: Sequence[float], diameters: Sequence[float],
                  fit: Tuple[float, float] = AUTOCORRELATION_FIT) -> np.ndarray:
    """How many times off each estimate is (>= 1: 1.5 is 1.5x too large or too small)."""
    intercept, slope = fit
    predicted = intercept + slope * np.log(np.asarray(lengths, np.float64))
    return np.exp(np.abs(np.log(np.asarray(diameters, np.float64)) - predicted))
