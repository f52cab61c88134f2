"""A runnable model: a backend's batch function, how to feed it, and where it came from."""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Optional, Sequence

import numpy as np

from paddleseg_hru2net.inference.feed import Feed
from paddleseg_hru2net.inference.source import ModelSource
from paddleseg_hru2net.inference.windows import DEFAULT_BATCH, BatchRunner, image_probabilities

__all__ = ["Segmenter", "particle_probability_of", "interior_probability_of", "centre_probability_of",
           "probabilities_on_grid"]

#: The image axes each copy is flipped along: none, columns (left-right), rows (up-down), both.
_FLIPS = ((), (1,), (0,), (0, 1))


def probabilities_on_grid(probabilities: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Class probabilities ``(K, h, w)`` of a resampled image brought to the image's own grid
    ``shape`` ``(H, W)`` (bilinear, each pixel's classes summing to 1 again)."""
    import cv2
    height, width = shape[:2]
    back = np.stack([cv2.resize(plane, (width, height), interpolation=cv2.INTER_LINEAR)
                     for plane in probabilities])
    return back / back.sum(axis=0, keepdims=True)


def particle_probability_of(probabilities: np.ndarray) -> np.ndarray:
    """Particle probability ``(H, W)``: everything but background (class 0), so that a model
    with a contact class counts its contacts as particle."""
    return (1.0 - probabilities[0]).astype(np.float32)


def interior_probability_of(probabilities: np.ndarray) -> Optional[np.ndarray]:
    """Probability ``(H, W)`` of particle interior (particle but not contact) of a model with a
    contact class (class 2; a fourth class, the particles' centres, is interior too), or None
    for a two-class model."""
    if probabilities.shape[0] <= 2:
        return None
    interior = probabilities[1] if probabilities.shape[0] == 3 else probabilities[1] + probabilities[3]
    return np.asarray(interior, np.float32)


def centre_probability_of(probabilities: np.ndarray) -> Optional[np.ndarray]:
    """Probability ``(H, W)`` of a particle's centre (class 3) of a model with a centre class,
    or None."""
    return np.asarray(probabilities[3], np.float32) if probabilities.shape[0] > 3 else None


@dataclass
class Segmenter:
    """The one type for "a model ready to run": whichever backend runs it.

    Attributes:
        run: ``(N, C, h, w)`` float32 batch to ``(N, K, h, w)`` scores.
        feed: window, channels, normalisation, classes, training pixel size.
        backend: the registered name of the backend running it.
        source: the files it was loaded from.
        model_seconds: time spent inside ``run`` so far (for "where does the time go").
    """

    run: BatchRunner
    feed: Feed
    backend: str
    source: ModelSource
    batch_size: int = DEFAULT_BATCH
    model_seconds: float = field(default=0.0, compare=False)

    def _timed_run(self, batch: np.ndarray) -> np.ndarray:
        start = time.perf_counter()
        try:
            return self.run(batch)
        finally:
            self.model_seconds += time.perf_counter() - start

    def with_window(self, window: Optional[Sequence[int]], stride: Optional[Sequence[int]] = None
                    ) -> "Segmenter":
        """The same model sliding another window."""
        return Segmenter(self.run, self.feed.with_window(window, stride), self.backend, self.source,
                         self.batch_size)

    def with_flips(self, flips: Optional[bool]) -> "Segmenter":
        """The same model, averaging over flipped copies of each image or not (``Feed.flips``;
        None keeps the model's own setting)."""
        if flips is None or flips == self.feed.flips:
            return self
        return replace(self, feed=replace(self.feed, flips=flips), model_seconds=0.0)

    def with_views(self, views: Optional[Sequence[float]]) -> "Segmenter":
        """The same model, segmenting each image at these scale factors and averaging
        (``Feed.views``; None keeps the model's own setting)."""
        if views is None or tuple(float(v) for v in views) == self.feed.views:
            return self
        return replace(self, feed=replace(self.feed, views=tuple(views)), model_seconds=0.0)

    def probabilities(self, grey: np.ndarray, views: Optional[Sequence[float]] = None) -> np.ndarray:
        """Class probabilities ``(K, H, W)`` of a whole grey image by blended sliding windows,
        averaged over the image's views (``views``, else ``Feed.views``: the image resampled by
        each factor, its probabilities resampled back) and flipped copies where ``Feed.flips``
        says so."""
        views = self.feed.views if views is None else tuple(float(v) for v in views)
        if views == (1.0,):
            return self._flipped_probabilities(grey)
        total = sum(self._view_probabilities(grey, factor) for factor in views)
        return np.ascontiguousarray(total / len(views), dtype=np.float32)

    def _view_probabilities(self, grey: np.ndarray, factor: float) -> np.ndarray:
        if factor == 1.0:
            return self._flipped_probabilities(grey)
        from paddleseg_hru2net.microscopy.resampling import resample
        return probabilities_on_grid(self._flipped_probabilities(resample(grey, factor)), grey.shape)

    def _flipped_probabilities(self, grey: np.ndarray) -> np.ndarray:
        if not self.feed.flips:
            return image_probabilities(grey, self._timed_run, self.feed, self.batch_size)
        total = sum(np.flip(image_probabilities(np.ascontiguousarray(np.flip(grey, axes)), self._timed_run,
                                                self.feed, self.batch_size), tuple(a + 1 for a in axes))
                    for axes in _FLIPS)
        return np.ascontiguousarray(total / len(_FLIPS), dtype=np.float32)

    def particle_probability(self, grey: np.ndarray) -> np.ndarray:
        """Particle probability ``(H, W)`` of a whole grey image."""
        return particle_probability_of(self.probabilities(grey))
