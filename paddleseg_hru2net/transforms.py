"""Training transforms (registered in ``paddleseg.cvlibs.manager.TRANSFORMS``).

* :class:`RandomCropOfSizes`: a random crop whose square size is drawn per sample, so one
  training run sees windows from small tiles to whole tiles. Crop-trained U2-Net models tie
  themselves to the crop size: at 160 x 160 the deepest stage (1/32 scale) is 5 x 5 and its
  dilated convolutions (dilation 2-8) see mostly zero padding, so on larger windows they meet
  content they never saw in training. Mixed sizes remove that coupling (``docs/architecture.md``).
  Use it with ``batch_size: 1``, or every sample of a batch would need the same size.
* :class:`AlignedResizeStepScaling`: PaddleSeg's ``ResizeStepScaling`` with the labels resampled
  onto the resized image's pixels. PaddleSeg resizes labels with OpenCV's nearest neighbour, which
  takes the source pixel at the floor of the scaled index: at every factor but 1 the labels land
  half a pixel down and right of the image (the random flips after it make that half a pixel
  either way), so a 1-px line between touching particles is taught half a pixel off.
* :class:`RandomInvert`: dark-on-bright images (TEM, STEM bright field, transmission SEM) from
  bright-on-dark ones and back.
* :class:`RandomLowResolution`: the image as a lower magnification records it and the
  analysis enlarges it back to the model's scale (shrunk, then enlarged to its size; the
  labels stay sharp), so the model splits touching particles in softer images too.
* :class:`RandomUnevenBackground`: a smooth brightness field added to the image (a tilt in a
  random direction and a bowl or dome around a random centre), as uneven illumination, charging,
  detector shadowing or a thick support give it.
* :class:`RandomGaussianNoise`: shot and detector noise of a fast scan or a low dose.
* :class:`RandomGamma`: a detector's or an export's tone curve (brightness and contrast set on
  the microscope, a camera's gamma, a figure brightened for print), which bends the grey levels
  rather than shifting or scaling them.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np
from paddleseg.cvlibs import manager
from paddleseg.transforms import RandomPaddingCrop, ResizeStepScaling

from paddleseg_hru2net.microscopy.resampling import labels_of_size

__all__ = ["AlignedResizeStepScaling", "RandomCropOfSizes", "RandomInvert", "RandomLowResolution", "RandomUnevenBackground",
           "RandomGaussianNoise", "RandomGamma", "background_field"]


class _AppliedWithProbability:
    """A transform of the image alone (grey values 0-255: put it before ``Normalize``), applied
    to a sample with probability ``prob``; subclasses give :meth:`_apply`."""

    def __init__(self, prob: float):
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"prob must be in [0, 1], got {prob}")
        self.prob = prob

    def __call__(self, data):
        if np.random.random() < self.prob:
            data["img"] = self._apply(np.asarray(data["img"], np.float32))
        return data

    def _apply(self, image: np.ndarray) -> np.ndarray:
        raise NotImplementedError


def _require_positive(name: str, value: float) -> None:
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")


@manager.TRANSFORMS.add_component
class RandomCropOfSizes(RandomPaddingCrop):
    """A square random crop whose side is drawn uniformly from ``sizes`` for every sample.

    Args:
        sizes: candidate side lengths in pixels.
        im_padding_value, label_padding_value: as :class:`paddleseg.transforms.RandomPaddingCrop`
            (an image smaller than the crop is padded bottom/right; padding is labelled ignore).
    """

    def __init__(self, sizes: Sequence[int] = (192, 256, 320, 384, 512), im_padding_value: float = 0,
                 label_padding_value: int = 255):
        sizes = [int(s) for s in sizes]
        if not sizes or min(sizes) < 1:
            raise ValueError(f"sizes must be positive pixel counts, got {sizes}")
        super().__init__(crop_size=(sizes[0], sizes[0]), im_padding_value=im_padding_value,
                         label_padding_value=label_padding_value)
        self.sizes = sizes

    def __call__(self, data):
        side = int(np.random.choice(self.sizes))
        self.crop_size = (side, side)
        return super().__call__(data)


@manager.TRANSFORMS.add_component
class AlignedResizeStepScaling(ResizeStepScaling):
    """Scale a sample by a factor drawn as :class:`paddleseg.transforms.ResizeStepScaling` draws it
    (the same arguments), the image resized by PaddleSeg (bilinear) and the labels by majority
    on the same pixel grid (:func:`~paddleseg_hru2net.microscopy.resampling.labels_of_size`),
    not by OpenCV's nearest neighbour, which shifts them half a pixel against the image."""

    def __call__(self, data):
        label_keys = list(data.get("gt_fields", []))
        data["gt_fields"] = []
        try:
            data = super().__call__(data)
        finally:
            data["gt_fields"] = label_keys
        height, width = data["img"].shape[:2]
        for key in label_keys:
            data[key] = labels_of_size(np.asarray(data[key]), (width, height))
        return data


@manager.TRANSFORMS.add_component
class RandomInvert(_AppliedWithProbability):
    """Invert the image's grey levels (``255 - value``) with probability ``prob``.

    Put it before ``Normalize`` (values are still 0-255 then).
    """

    def __init__(self, prob: float = 0.5):
        super().__init__(prob)

    def _apply(self, image: np.ndarray) -> np.ndarray:
        return 255.0 - image


@manager.TRANSFORMS.add_component
class RandomLowResolution(_AppliedWithProbability):
    """With probability ``prob``, shrink the image by a factor drawn from ``[min_factor, 1)``
    (area averaging) and enlarge it back to its size (bilinear), as
    :func:`paddleseg_hru2net.analysis.scale.resample` does to a low-magnification image.

    Put it before ``Normalize``; the label is left as it is.
    """

    def __init__(self, prob: float = 0.5, min_factor: float = 0.4):
        super().__init__(prob)
        if not 0.0 < min_factor < 1.0:
            raise ValueError(f"min_factor must be in (0, 1), got {min_factor}")
        self.min_factor = min_factor

    def _apply(self, image: np.ndarray) -> np.ndarray:
        import cv2
        height, width = image.shape[:2]
        factor = np.random.uniform(self.min_factor, 1.0)
        small = cv2.resize(image, (max(1, round(width * factor)), max(1, round(height * factor))),
                           interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR).reshape(image.shape)


def background_field(height: int, width: int, tilt_angle: float, tilt: float,
                     bowl: float = 0.0, bowl_centre: Tuple[float, float] = (0.5, 0.5)) -> np.ndarray:
    """A smooth float32 field of shape ``(height, width)``: a plane rising by ``tilt`` grey levels
    from one side of the image to the other in the direction ``tilt_angle`` (radians, 0 = left to
    right), plus ``bowl`` grey levels at the corner farthest from ``bowl_centre`` (fractions of
    height and width) on a paraboloid that is 0 there (negative ``bowl``: a dome).
    """
    rows = (np.arange(height, dtype=np.float32) + 0.5)[:, None] / height
    cols = (np.arange(width, dtype=np.float32) + 0.5)[None, :] / width
    along = np.cos(tilt_angle) * (cols - 0.5) + np.sin(tilt_angle) * (rows - 0.5)
    reach = abs(np.cos(tilt_angle)) * 0.5 + abs(np.sin(tilt_angle)) * 0.5
    field = tilt * along / (2 * reach)
    centre_row, centre_col = bowl_centre
    squared = (rows - centre_row) ** 2 + (cols - centre_col) ** 2
    farthest = max(centre_row, 1 - centre_row) ** 2 + max(centre_col, 1 - centre_col) ** 2
    return (field + bowl * squared / farthest).astype(np.float32)


@manager.TRANSFORMS.add_component
class RandomUnevenBackground(_AppliedWithProbability):
    """With probability ``prob``, add :func:`background_field` with a tilt and a bowl each drawn
    uniformly from ``[-max_levels, max_levels]`` grey levels, a random direction and centre, and
    clip to 0-255. Put it before ``Normalize``; the label is left as it is.
    """

    def __init__(self, prob: float = 0.5, max_levels: float = 60.0):
        super().__init__(prob)
        _require_positive("max_levels", max_levels)
        self.max_levels = max_levels

    def _apply(self, image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        field = background_field(height, width, tilt_angle=np.random.uniform(0, 2 * np.pi),
                                 tilt=np.random.uniform(-self.max_levels, self.max_levels),
                                 bowl=np.random.uniform(-self.max_levels, self.max_levels),
                                 bowl_centre=tuple(np.random.uniform(0, 1, 2)))
        return np.clip(image + (field[:, :, None] if image.ndim == 3 else field), 0, 255)


@manager.TRANSFORMS.add_component
class RandomGaussianNoise(_AppliedWithProbability):
    """With probability ``prob``, add Gaussian noise of a standard deviation drawn uniformly from
    ``[0, max_sigma]`` grey levels and clip to 0-255. Put it before ``Normalize``.
    """

    def __init__(self, prob: float = 0.5, max_sigma: float = 20.0):
        super().__init__(prob)
        _require_positive("max_sigma", max_sigma)
        self.max_sigma = max_sigma

    def _apply(self, image: np.ndarray) -> np.ndarray:
        sigma = np.random.uniform(0, self.max_sigma)
        return np.clip(image + np.random.normal(0, sigma, image.shape).astype(np.float32), 0, 255)


@manager.TRANSFORMS.add_component
class RandomGamma(_AppliedWithProbability):
    """With probability ``prob``, map grey values ``v`` to ``255 * (v / 255) ** gamma`` with
    ``gamma`` drawn log-uniformly from ``[1 / max_gamma, max_gamma]`` (below 1 the dark tones are
    spread and the bright ones pressed together, above 1 the reverse). Put it before
    ``Normalize``; the label is left as it is.
    """

    def __init__(self, prob: float = 0.5, max_gamma: float = 2.0):
        super().__init__(prob)
        if max_gamma <= 1.0:
            raise ValueError(f"max_gamma must be above 1, got {max_gamma}")
        self.max_gamma = max_gamma

    def _apply(self, image: np.ndarray) -> np.ndarray:
        gamma = np.exp(np.random.uniform(-np.log(self.max_gamma), np.log(self.max_gamma)))
        return 255.0 * (np.clip(image, 0, 255) / 255.0) ** gamma
