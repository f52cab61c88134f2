"""Resampling a grey image (and its label image) by a factor, as another magnification would have
recorded it: area averaging when shrinking, bilinear when enlarging; labels by majority (each
pixel the label covering most of it).
Used to bring images to a model's scale, to prepare training images at one particle size, and to
test analysis at other magnifications."""
from __future__ import annotations

from typing import Callable, Tuple

import cv2
import numpy as np

__all__ = ["resample", "resample_labels", "labels_of_size", "resampled_coverage", "resampled_size"]


def resampled_size(shape: Tuple[int, ...], factor: float) -> Tuple[int, int]:
    """``(width, height)`` of an image of ``shape`` (height, width, ...) scaled by ``factor``."""
    height, width = shape[:2]
    return max(1, int(round(width * factor))), max(1, int(round(height * factor)))


def resample(grey: np.ndarray, factor: float) -> np.ndarray:
    """``grey`` scaled by ``factor`` (area averaging when shrinking, bilinear when enlarging)."""
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    return cv2.resize(grey, resampled_size(grey.shape, factor), interpolation=interpolation)


#: Points per axis spread over each pixel of a resampled label image, which vote for its label.
_VOTES_PER_AXIS = 4
#: Rows of the resampled image voted at once (the votes of a 4096-px-wide row take 256 KiB).
_ROWS_AT_ONCE = 256


def resample_labels(labels: np.ndarray, factor: float) -> np.ndarray:
    """An integer label or mask image scaled by ``factor``, to the size :func:`resample` gives;
    same dtype. Each pixel takes the label that covers most of it (a vote of points spread evenly
    over it), background where background ties: a pixel is particle where particles cover more
    than half of it, as in the mask of :func:`resample` thresholded at 0.5, and a 1-px line
    between touching particles stays a line when shrunk. (OpenCV's nearest neighbour takes the
    pixel at the floor of the scaled index: a shift of up to half a pixel against
    :func:`resample`, and at 0.5x every other such line lost.)"""
    if factor == 1.0:
        return labels.copy()
    return labels_of_size(labels, resampled_size(labels.shape, factor))


def labels_of_size(labels: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """An integer label or mask image resampled to ``size`` ``(width, height)`` by majority, as
    :func:`resample_labels` does (pixel centres aligned with OpenCV's bilinear and area resizing
    of the image to that size); same dtype."""
    return _voted(labels, size, _majority_where_mixed, labels.dtype)


def resampled_coverage(mask: np.ndarray, factor: float) -> np.ndarray:
    """The share (0-1, float32) of each pixel of ``mask`` scaled by ``factor`` that the mask's
    nonzero pixels cover (exact where the factor is 1/2, 1/4, 2 or 4; else to 1/16), to the
    size :func:`resample` gives: the area a resampled annotation stands for, which no rounding
    to a label image keeps whole."""
    return _voted(np.asarray(mask) > 0, resampled_size(np.shape(mask), factor),
                  lambda votes: np.mean(votes, axis=0), np.float32)


def _voted(labels: np.ndarray, size: Tuple[int, int], count: Callable[[np.ndarray], np.ndarray],
           dtype) -> np.ndarray:
    """A grid of ``size`` ``(width, height)`` over ``labels``, each pixel ``count`` of the values of
    ``labels`` at :data:`_VOTES_PER_AXIS` squared points spread evenly over it (``count`` takes
    the votes ``(votes, rows, W')`` of a band of rows)."""
    width, height = size
    offsets = [(k + 0.5) / _VOTES_PER_AXIS for k in range(_VOTES_PER_AXIS)]
    rows = [_source_indices(height, labels.shape[0], offset) for offset in offsets]
    cols = [_source_indices(width, labels.shape[1], offset) for offset in offsets]
    resampled = np.empty((height, width), dtype)
    for start in range(0, height, _ROWS_AT_ONCE):
        band = slice(start, start + _ROWS_AT_ONCE)
        resampled[band] = count(np.stack([labels[r[band, None], c[None, :]] for r in rows for c in cols]))
    return resampled


def _majority_where_mixed(votes: np.ndarray) -> np.ndarray:
    """The most frequent vote of each pixel (``votes`` ``(votes, rows, W')``), the smallest
    value among equally frequent ones, so background (0) wins its ties; counted only where the
    votes differ (at edges)."""
    from scipy import stats
    resampled = votes[0].copy()
    mixed = (votes != votes[0]).any(axis=0)
    resampled[mixed] = stats.mode(votes[:, mixed], axis=0, keepdims=False).mode
    return resampled


def _source_indices(size: int, source_size: int, offset: float) -> np.ndarray:
    """For each of ``size`` pixels, the source pixel under the point ``offset`` (0-1) across it."""
    return np.minimum(((np.arange(size) + offset) * source_size / size).astype(np.int64), source_size - 1)
