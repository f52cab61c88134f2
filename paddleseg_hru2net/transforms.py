"""Training transforms (registered in ``paddleseg.cvlibs.manager.TRANSFORMS``).

* :class:`RandomCropOfSizes`: a random crop whose square size is drawn per sample, so one
  training run sees windows from small tiles to whole tiles. Crop-trained U2-Net models tie
  themselves to the crop size: at 160 x 160 the deepest stage (1/32 scale) is 5 x 5 and its
  dilated convolutions (dilation 2-8) see mostly zero padding, so on larger windows they meet
  content they never saw in training. Mixed sizes remove that coupling (``docs/architecture.md``).
  Use it with ``batch_size: 1``, or every sample of a batch would need the same size.
* :class:`RandomInvert`: dark-on-bright images (TEM, STEM bright field, transmission SEM) from
  bright-on-dark ones and back.
* :class:`RandomLowResolution`: the image as a lower magnification records it and the
  analysis enlarges it back to the model's scale (shrunk, then enlarged to its size; the
  labels stay sharp), so the model splits touching particles in softer images too.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from paddleseg.cvlibs import manager
from paddleseg.transforms import RandomPaddingCrop

__all__ = ["RandomCropOfSizes", "RandomInvert", "RandomLowResolution"]


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
class RandomInvert:
    """Invert the image's grey levels (``255 - value``) with probability ``prob``.

    Put it before ``Normalize`` (values are still 0-255 then).
    """

    def __init__(self, prob: float = 0.5):
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"prob must be in [0, 1], got {prob}")
        self.prob = prob

    def __call__(self, data):
        if np.random.random() < self.prob:
            data["img"] = 255.0 - np.asarray(data["img"], np.float32)
        return data


@manager.TRANSFORMS.add_component
class RandomLowResolution:
    """With probability ``prob``, shrink the image by a factor drawn from ``[min_factor, 1)``
    (area averaging) and enlarge it back to its size (bilinear), as
    :func:`paddleseg_hru2net.analysis.scale.resample` does to a low-magnification image.

    Put it before ``Normalize``; the label is left as it is.
    """

    def __init__(self, prob: float = 0.5, min_factor: float = 0.4):
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"prob must be in [0, 1], got {prob}")
        if not 0.0 < min_factor < 1.0:
            raise ValueError(f"min_factor must be in (0, 1), got {min_factor}")
        self.prob = prob
        self.min_factor = min_factor

    def __call__(self, data):
        if np.random.random() >= self.prob:
            return data
        import cv2
        image = np.asarray(data["img"], np.float32)
        height, width = image.shape[:2]
        factor = np.random.uniform(self.min_factor, 1.0)
        small = cv2.resize(image, (max(1, round(width * factor)), max(1, round(height * factor))),
                           interpolation=cv2.INTER_AREA)
        data["img"] = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR).reshape(image.shape)
        return data
