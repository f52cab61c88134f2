"""Sliding windows over whole images, blended without seams: the one way a model sees an image.

Models of the U2-Net family trained on small crops segment poorly when run on a much larger
input (particle IoU 0.656 on a whole TiO2 frame against 0.891 in 160 px windows for the
two-class HRU2-Net†), so inference slides a window of the size the model was trained for (or,
for the instance-aware models that segment as well in larger windows, the size recorded with
them) and blends overlapping windows with a weight that falls towards each window's border, so
no seam shows where windows meet. The window is the largest tile: an image is cut into as few
tiles as windows at the feed's stride would need, each shrunk to what covers the image with at
least the same overlap (:func:`tile_layout`), so the model sees little more than the image.
``hru2net-val``, ``hru2net-predict``, whole-image evaluation, the benchmark and ``hru2net
analyze`` all call :func:`sliding_window_probabilities`.
"""
from __future__ import annotations

from typing import Callable, List, Sequence, Tuple

import numpy as np

from paddleseg_hru2net.inference.feed import Feed, normalise

__all__ = ["BatchRunner", "window_starts", "window_boxes", "tile_layout", "TILE_MULTIPLE", "blend_weight",
           "softmax", "sliding_window_probabilities", "image_probabilities", "DEFAULT_BATCH"]

#: ``(N, C, h, w)`` float32 batch in, ``(N, K, h, w)`` class scores (logits) out.
BatchRunner = Callable[[np.ndarray], np.ndarray]
#: Windows per model call.
DEFAULT_BATCH = 8


def window_starts(length: int, window: int, stride: int) -> List[int]:
    """Window offsets along one axis: every ``stride`` pixels, the last one flush with the end."""
    if length <= window:
        return [0]
    starts = list(range(0, length - window, stride))
    starts.append(length - window)
    return starts


#: Tiles narrower than their window are a multiple of this many pixels (the networks halve their
#: input five times).
TILE_MULTIPLE = 32


def tile_layout(length: int, window: int, stride: int) -> Tuple[int, List[int]]:
    """``(tile size, tile starts)`` along an axis of ``length`` pixels: as many tiles as windows
    of ``window`` pixels every ``stride`` pixels would need, each as small as covers the axis with
    neighbours overlapping by at least ``window - stride`` pixels (rounded up to
    :data:`TILE_MULTIPLE`, never above ``window``), shrunk tiles spread evenly from one end to
    the other (whole windows every ``stride`` pixels, the last flush with the end, as
    :func:`window_starts`). One tile may be longer than the axis (the image is then padded to it)."""
    overlap = max(window - stride, 0)
    count = 1 if length <= window else -(-(length - overlap) // (window - overlap))
    needed = -(-(length + (count - 1) * overlap) // count)
    tile = min(window, -(-needed // TILE_MULTIPLE) * TILE_MULTIPLE)
    if count == 1:
        return tile, [0]
    if tile == window:  # whole windows step by the stride as they always have (figures reproduce)
        return tile, window_starts(length, window, stride)
    return tile, [round(index * (length - tile) / (count - 1)) for index in range(count)]


def window_boxes(height: int, width: int, window: Sequence[int], stride: Sequence[int]
                 ) -> List[Tuple[int, int]]:
    """``(top, left)`` of every window covering an image of ``height`` x ``width``."""
    return [(top, left) for top in window_starts(height, int(window[0]), int(stride[0]))
            for left in window_starts(width, int(window[1]), int(stride[1]))]


def blend_weight(height: int, width: int, floor: float = 0.05) -> np.ndarray:
    """Separable tent weight, 1 in the middle and ``floor`` at the borders of a window."""
    def ramp(n: int) -> np.ndarray:
        position = (np.arange(n) + 0.5) / n
        return np.maximum(1.0 - np.abs(2.0 * position - 1.0), 0.0)
    weight = np.outer(ramp(height), ramp(width))
    return (floor + (1.0 - floor) * weight).astype(np.float32)


def softmax(scores: np.ndarray, axis: int = 1) -> np.ndarray:
    """Softmax over ``axis`` (class scores to probabilities), in float32."""
    shifted = scores.astype(np.float32) - scores.max(axis=axis, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=axis, keepdims=True)
    return shifted


def _pad_to_tile(image: np.ndarray, tile: Tuple[int, int]) -> np.ndarray:
    """Mirror-pad a ``(C, H, W)`` image at the bottom/right up to the tile (edge if 1 px)."""
    _, height, width = image.shape
    pad_h, pad_w = max(tile[0] - height, 0), max(tile[1] - width, 0)
    if not (pad_h or pad_w):
        return image
    mode = "reflect" if min(height, width) > 1 else "edge"
    return np.pad(image, ((0, 0), (0, pad_h), (0, pad_w)), mode=mode)


def sliding_window_probabilities(image: np.ndarray, run: BatchRunner, feed: Feed,
                                 batch_size: int = DEFAULT_BATCH) -> np.ndarray:
    """Class probabilities ``(K, H, W)`` of a normalised ``(C, H, W)`` image.

    Args:
        image: float32 ``(C, H, W)``, normalised as in training.
        run: the model as a function of a batch (see :data:`BatchRunner`).
        feed: window (the largest tile), stride (the smallest overlap is window - stride) and
            number of classes.
        batch_size: tiles per model call.
    """
    _, height, width = image.shape
    win_h, tops = tile_layout(height, feed.window[0], feed.stride[0])
    win_w, lefts = tile_layout(width, feed.window[1], feed.stride[1])
    padded = _pad_to_tile(image, (win_h, win_w))
    full_h, full_w = padded.shape[1:]
    weight = blend_weight(win_h, win_w)
    total = np.zeros((feed.num_classes, full_h, full_w), np.float32)
    norm = np.zeros((full_h, full_w), np.float32)
    boxes = [(top, left) for top in tops for left in lefts]
    for first in range(0, len(boxes), batch_size):
        chunk = boxes[first:first + batch_size]
        batch = np.stack([padded[:, t:t + win_h, l:l + win_w] for t, l in chunk])
        scores = run(np.ascontiguousarray(batch, np.float32))
        if scores.shape[1] != feed.num_classes:
            raise ValueError(f"the model returned {scores.shape[1]} classes, its feed says "
                             f"{feed.num_classes}")
        probabilities = softmax(scores)
        probabilities *= weight
        for (top, left), prob in zip(chunk, probabilities):
            total[:, top:top + win_h, left:left + win_w] += prob
            norm[top:top + win_h, left:left + win_w] += weight
    total /= norm
    return total[:, :height, :width]


def image_probabilities(grey: np.ndarray, run: BatchRunner, feed: Feed,
                        batch_size: int = DEFAULT_BATCH) -> np.ndarray:
    """Class probabilities ``(K, H, W)`` of a whole grey image (8- or 16-bit), normalised as
    ``feed`` says, by :func:`sliding_window_probabilities`."""
    return sliding_window_probabilities(normalise(grey, feed), run, feed, batch_size)
