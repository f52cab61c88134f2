"""Training transforms (registered in ``paddleseg.cvlibs.manager.TRANSFORMS``).

* :class:`RandomCropOfSizes`: a random crop whose square size is drawn per sample, so one
  training run sees windows from small tiles to whole tiles. Crop-trained U2-Net models tie
  themselves to the crop size: at 160 x 160 the deepest stage (1/32 scale) is 5 x 5 and its
  dilated convolutions (dilation 2-8) see mostly zero padding, so on larger windows they meet
  content they never saw in training. Mixed sizes remove that coupling (``docs/architecture.md``).
  Use it with ``batch_size: 1``, or every sample of a batch would need the same size.
* :class:`RandomInvert`: dark-on-bright images (TEM, STEM bright field, transmission SEM) from
  bright-on-dark ones and back.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from paddleseg.cvlibs import manager
from paddleseg.transforms import RandomPaddingCrop

__all__ = ["RandomCropOfSizes", "RandomInvert"]


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
