"""Images brought within what the models were trained on, before anything reads them.

An image whose grey values fill less than half of 0-255 (a camera's counts far below its bit
depth, an under-exposed frame, signed data shifted) is stretched so that its 0.5th and 99.5th
percentiles become 0 and 255, as ImageJ's "Enhance Contrast" with 1 % saturated, and a note
says so; other images are left alone. The training images use most of the grey scale (EMPS: a
median span of 220 grey levels between those percentiles, 16 of 366 images below 128; TiO2:
131-201); the 37 EMPS val images compressed to 80 grey levels took the generalist's F1@0.5
from 0.899 to 0.387, and to 0.892 with the stretch.

A noisy image (white noise above :data:`NOISY_SIGMA` grey levels by Immerkaer's estimate,
:func:`noise_sigma`: a low-dose TEM frame, a fast SEM scan) is smoothed by non-local means
(OpenCV's ``fastNlMeansDenoising``, strength the estimated noise), which keeps edges and small
particles where a Gaussian of the same strength joins them. The EMPS images are at a median of
0.8 grey levels, 14 at most; the TiO2 SEM images 1.7-4.7; the 37 EMPS val images with Gaussian
noise of 20 grey levels took the generalist's F1@0.5 from 0.913 to 0.781 (a quarter more
particles: large ones cut into pieces, specks in the noise), and to 0.901 denoised; with shot
noise (20 counts at white) 0.665, denoised 0.880.
:func:`condition_for_model` does both, as every path into a model does.
"""
from __future__ import annotations

from typing import List, Tuple

import cv2
import numpy as np

from paddleseg_hru2net.microscopy.reading import linear_to_uint8

__all__ = ["condition_for_model", "stretch_low_contrast", "noise_sigma", "denoise_noisy", "LOW_CONTRAST_SPAN",
           "NOISY_SIGMA"]

#: Grey levels the 0.5th-99.5th percentiles of an image must span for it to be used as it is.
LOW_CONTRAST_SPAN = 128
_SATURATED_PERCENT = 0.5
#: Estimated noise (grey levels, standard deviation) above which an image is denoised.
NOISY_SIGMA = 8.0
#: Immerkaer's operator: the difference of two Laplacians, blind to planes and to second-order
#: surfaces, so that what it sees in a smooth image is mostly noise.
_NOISE_OPERATOR = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def condition_for_model(grey: np.ndarray) -> Tuple[np.ndarray, List[str]]:
    """``(uint8 image, notes)``: ``grey`` as the models are given it: stretched if its contrast
    is low (:func:`stretch_low_contrast`), then denoised if it is noisy (:func:`denoise_noisy`)."""
    stretched, stretch_notes = stretch_low_contrast(grey)
    denoised, noise_notes = denoise_noisy(stretched)
    return denoised, stretch_notes + noise_notes


def stretch_low_contrast(grey: np.ndarray) -> Tuple[np.ndarray, List[str]]:
    """``(uint8 image, notes)``: ``grey`` stretched so its 0.5th and 99.5th percentiles become 0
    and 255 where they span fewer than :data:`LOW_CONTRAST_SPAN` grey levels, else as it is (a
    blank image too: nothing to stretch)."""
    low, high = (float(v) for v in np.percentile(grey, [_SATURATED_PERCENT, 100 - _SATURATED_PERCENT]))
    if high - low >= LOW_CONTRAST_SPAN or high - low < 1:
        return grey, []
    note = (f"low contrast (99 % of the grey values within {low:.0f}-{high:.0f}): stretched to 0-255 "
            f"for the model, 1 % saturated")
    return linear_to_uint8(grey.astype(np.float32), low, high), [note]


def noise_sigma(grey: np.ndarray) -> float:
    """The standard deviation (grey levels) of white noise in ``grey``, by Immerkaer's estimate
    (Comput. Vis. Image Underst. 64, 300, 1996): the mean absolute response to
    :data:`_NOISE_OPERATOR` inside the border, times sqrt(pi / 2) / 6. Edges and texture add to
    it, so it reads an image without noise at a few grey levels (0 for a blank one)."""
    if min(grey.shape) < 3:
        return 0.0
    response = cv2.filter2D(grey.astype(np.float32), -1, _NOISE_OPERATOR)[1:-1, 1:-1]
    return float(np.sqrt(np.pi / 2) * np.abs(response).mean(dtype=np.float64) / 6)


def denoise_noisy(grey: np.ndarray) -> Tuple[np.ndarray, List[str]]:
    """``(uint8 image, notes)``: ``grey`` (uint8) smoothed by non-local means of strength its
    estimated noise where that is above :data:`NOISY_SIGMA`, with a note; else as it is."""
    sigma = noise_sigma(grey)
    if sigma <= NOISY_SIGMA:
        return grey, []
    denoised = cv2.fastNlMeansDenoising(np.ascontiguousarray(grey), None, h=sigma,
                                        templateWindowSize=7, searchWindowSize=21)
    note = (f"noisy (noise of about {sigma:.0f} grey levels estimated): denoised for the model by "
            f"non-local means")
    return denoised, [note]
