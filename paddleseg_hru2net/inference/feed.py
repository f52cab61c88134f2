"""How to feed a model whole microscope images: window, channels, normalisation, classes, scale."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

__all__ = ["Feed", "SIZE_SOURCES", "POLARITY_SOURCES", "RECORDED_SETTINGS", "recorded_settings",
           "overlap_stride", "normalise", "normalisation_from_transforms", "intensity_range"]

#: How a particle size can be estimated where an image has no pixel size (``Feed.size_from``).
SIZE_SOURCES = ("first_pass", "grey_values", "grey_values_refined")
#: How a bright-only model decides whether to invert an image (``Feed.polarity_from``).
POLARITY_SOURCES = ("histogram", "confidence", "shape", "shape_and_frame")
#: The :class:`Feed` settings a training run records (``train_meta.json``) and an exported model
#: carries (``deploy.yaml``): what the weights know, beyond their window and normalisation.
RECORDED_SETTINGS = ("pixel_size_nm", "particle_diameter_px", "polarity", "size_from", "polarity_from",
                     "flips", "views")


def overlap_stride(window: Sequence[int]) -> Tuple[int, int]:
    """Stride of 3/4 of the window: a quarter of each window overlaps its neighbour."""
    return tuple(max(1, int(v) * 3 // 4) for v in window)  # type: ignore[return-value]


@dataclass(frozen=True)
class Feed:
    """What running a model on a whole image needs besides the model itself.

    Attributes:
        window: ``(height, width)`` of the sliding window (the size the model was trained for).
        channels: input channels (grey images are repeated to fill them).
        mean, std: per-channel normalisation of intensities scaled to ``[0, 1]``.
        num_classes: classes the model outputs (2: background/particle; 3: with contacts; 4: and centres).
        pixel_size_nm: the pixel size of the training images, where known (the model's scale).
        particle_diameter_px: the median equivalent diameter (pixels) of the training particles:
            the size the model sees best; images are resampled towards it.
        polarity: ``bright`` (trained on bright particles on a dark background only) or
            ``both`` (trained with inverted contrast too).
        size_from: how the particle size of an image without a pixel size is estimated:
            ``first_pass`` (a segmentation at the image's own scale, measured; the grey values
            where that pass looks unreliable), ``grey_values`` (the grey values only: for a
            model trained at one particle size, whose first pass on other sizes measures
            fragments), or ``grey_values_refined`` (that estimate, then the model's own
            measurement of its segmentation at that scale; see ``analysis.scale``).
        polarity_from: how a ``bright`` model decides whether an image has dark particles and
            is to be inverted: ``histogram`` (the grey-level histogram alone), or both ways round
            are segmented and the one kept is the one the model is surer of (``confidence``),
            whose particles are the more convex (``shape``), or the more convex and the less on
            the frame's edge (``shape_and_frame``).
        flips: test-time augmentation: each image is segmented as it is, flipped left-right,
            up-down and both, and the four probability maps (flipped back) averaged - four
            times the model's time. Recorded per model, chosen on its validation images
            (``docs/results.md``: "Flipped copies"); ``--flips`` / ``--no-flips`` override it.
        views: test-time augmentation by scale: the factors each image is also segmented at
            (resampled by them, the probabilities resampled back and averaged); ``(1.0,)``, the
            default, segments it as it is only. A view at 1.5 costs 2.25 times the model's time
            of the image. Recorded per model, chosen on its validation images (``docs/results.md``:
            "Views of the image enlarged"); ``--views`` overrides it. The analysis leaves them
            out where it enlarges an image for the model (``analysis.scale.probabilities_at``).
        stride: ``(height, width)`` step between windows; default 3/4 of the window.
    """

    window: Tuple[int, int]
    channels: int = 1
    mean: Tuple[float, ...] = (0.5,)
    std: Tuple[float, ...] = (0.5,)
    num_classes: int = 2
    pixel_size_nm: Optional[float] = None
    particle_diameter_px: Optional[float] = None
    polarity: str = "bright"
    size_from: str = "first_pass"
    polarity_from: str = "histogram"
    flips: bool = False
    views: Tuple[float, ...] = (1.0,)
    stride: Tuple[int, int] = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        window = tuple(int(v) for v in self.window)
        if len(window) != 2 or min(window) < 1:
            raise ValueError(f"window must be two positive sizes (height, width), got {self.window}")
        object.__setattr__(self, "window", window)
        if self.size_from not in SIZE_SOURCES:
            raise ValueError(f"size_from must be one of {', '.join(SIZE_SOURCES)}, got {self.size_from!r}")
        if self.polarity_from not in POLARITY_SOURCES:
            raise ValueError(f"polarity_from must be one of {', '.join(POLARITY_SOURCES)}, "
                             f"got {self.polarity_from!r}")
        stride = overlap_stride(window) if self.stride is None else tuple(int(v) for v in self.stride)
        if len(stride) != 2 or min(stride) < 1:
            raise ValueError(f"stride must be two positive steps (height, width), got {self.stride}")
        object.__setattr__(self, "stride", stride)
        views = tuple(float(v) for v in self.views)
        if not views or min(views) <= 0:
            raise ValueError(f"views must be one or more positive scale factors, got {self.views}")
        object.__setattr__(self, "views", views)
        object.__setattr__(self, "mean", tuple(float(v) for v in self.mean))
        object.__setattr__(self, "std", tuple(float(v) for v in self.std))

    def with_window(self, window: Optional[Sequence[int]], stride: Optional[Sequence[int]] = None) -> "Feed":
        """The same feed with another window (and its default or a given stride)."""
        if window is None and stride is None:
            return self
        window = tuple(window) if window is not None else self.window
        return replace(self, window=window, stride=tuple(stride) if stride is not None else None)

    @property
    def segments_both_ways(self) -> bool:
        """Whether a bright-only model segments an image as recorded and inverted and keeps the
        likelier (``polarity_from`` other than ``histogram``)."""
        return self.polarity == "bright" and self.polarity_from != "histogram"

    @property
    def sees_both_polarities(self) -> bool:
        """Whether an image reaches the model either way round: a model trained on both
        polarities, or a bright one that segments both ways."""
        return self.polarity == "both" or self.segments_both_ways

    def as_dict(self) -> dict:
        return {"window": list(self.window), "stride": list(self.stride), "channels": self.channels,
                "mean": list(self.mean), "std": list(self.std), "num_classes": self.num_classes,
                "pixel_size_nm": self.pixel_size_nm, "particle_diameter_px": self.particle_diameter_px,
                "polarity": self.polarity, "size_from": self.size_from,
                "polarity_from": self.polarity_from, "flips": self.flips, "views": list(self.views)}


def recorded_settings(record: Mapping[str, Any]) -> Dict[str, Any]:
    """The :data:`RECORDED_SETTINGS` a record holds, as :class:`Feed` keyword arguments (those it
    lacks keep the Feed's defaults)."""
    return {key: record[key] for key in RECORDED_SETTINGS if key in record}


def intensity_range(grey: np.ndarray) -> float:
    """The value that maps to 1.0: 255 for 8-bit images, 65535 for 16-bit ones."""
    return 65535.0 if grey.dtype == np.uint16 else 255.0


def normalise(grey: np.ndarray, feed: Feed) -> np.ndarray:
    """Grey ``(H, W)`` image to a float32 ``(C, H, W)`` model input, as PaddleSeg's Normalize."""
    scaled = grey.astype(np.float32) / intensity_range(grey)
    stacked = np.repeat(scaled[None], feed.channels, axis=0)
    mean = np.asarray(feed.mean, np.float32).reshape(-1, 1, 1)
    std = np.asarray(feed.std, np.float32).reshape(-1, 1, 1)
    return (stacked - mean) / std


def normalisation_from_transforms(transforms: Optional[Sequence[dict]]) -> Tuple[List[float], List[float]]:
    """Mean and std of the ``Normalize`` step of a config's transform list (PaddleSeg's default
    0.5/0.5 where the list has none)."""
    for transform in transforms or []:
        if transform.get("type") == "Normalize":
            return list(transform.get("mean", [0.5])), list(transform.get("std", [0.5]))
    return [0.5], [0.5]
