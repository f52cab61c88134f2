"""Resampling a grey image (and its label image) by a factor, as another magnification would have
recorded it: area averaging when shrinking, bilinear when enlarging, nearest neighbour for labels.
Used to bring images to a model's scale, to prepare training images at one particle size, and to
test analysis at other magnifications."""
from __future__ import annotations

from typing import Tuple

import cv2
import numpy as np

__all__ = ["resample", "resample_labels", "resampled_size"]


def resampled_size(shape: Tuple[int, ...], factor: float) -> Tuple[int, int]:
    """``(width, height)`` of an image of ``shape`` (height, width, ...) scaled by ``factor``."""
    height, width = shape[:2]
    return max(1, int(round(width * factor))), max(1, int(round(height * factor)))


def resample(grey: np.ndarray, factor: float) -> np.ndarray:
    """``grey`` scaled by ``factor`` (area averaging when shrinking, bilinear when enlarging)."""
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    return cv2.resize(grey, resampled_size(grey.shape, factor), interpolation=interpolation)


def resample_labels(labels: np.ndarray, factor: float) -> np.ndarray:
    """An integer label or mask image scaled by ``factor`` by nearest neighbour, to the size
    :func:`resample` gives; same dtype (label ids up to 2**24 survive)."""
    scaled = cv2.resize(labels.astype(np.float32), resampled_size(labels.shape, factor),
                        interpolation=cv2.INTER_NEAREST)
    return scaled.astype(labels.dtype)
