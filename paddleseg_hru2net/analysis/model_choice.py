"""Which model segments an image when the user names none (``--model auto``).

The TiO2 specialist is the best model on the images it knows (secondary-electron SEM of bright
particles about 24 px across at 7.34 nm/px) and the generalist is the better one elsewhere. The
choice is made per image:

* an image without a pixel size goes to the generalist: the specialist knows one pixel size,
  and without it the specialist's own first pass would choose the scale, which on the EMPS val
  images it kept 5 of 37 for and was worse than the generalist on 3 of them;
* so does an image whose pixel size was read from a scale bar drawn over it (a figure's, an
  export's; twenty-sixth session): on the EMPS val images given the pixel sizes of their drawn
  scale bars (5 of 37), the specialist was kept for 2 and failed on both (F1@0.5 1.00 -> 0.02,
  0.67 -> 0.00: large particles cut into tens of pieces, with no warning and the generalist
  agreeing on the particle pixels);
* otherwise the specialist segments the image at its pixel size, and when its result draws
  none of the out-of-depth warnings of :mod:`paddleseg_hru2net.analysis.confidence`
  (particles over most of the image, low confidence over them, a size far from its training
  particles or close to its window) and the generalist, given the same image at the same
  scale, paints the same pixels as particle (:data:`MIN_AGREEMENT`) and sees most of the
  specialist's contacts between particles as contacts too (:data:`MAX_INTERIOR_ON_CONTACTS`,
  unless the image was enlarged for the model; both in one window:
  :func:`compare_in_busiest_window`), the image is at home and its result
  stands; else the generalist segments the image. The last two tests are for other materials
  with a pixel size: at the right scale the specialist can fail on them without any of the
  warnings, cutting their particles into pieces (EMPS val images given pixel sizes that bring
  their particles to 0.5-2 times the specialist's: kept for 6-7 of 37 and worse on each with the
  warnings and the particle IoU alone, 1-5 with the contacts asked about too; twenty-seventh
  session).

The summary's ``model`` column says which model made each table and why;
``hru2net-validate-analysis --model auto`` measures the rule.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple, Sequence, Tuple

import numpy as np

from paddleseg_hru2net.analysis.particles import contacts_between
from paddleseg_hru2net.analysis.workflow import (ModelSplittings, SEMImage, Segmentation,
                                                 analyze_segmentation, particle_maps, segment_image)
from paddleseg_hru2net.inference.segmenter import Segmenter

__all__ = ["AnalysisModel", "segment_with_fallback", "compare_in_busiest_window", "WindowComparison",
           "MIN_AGREEMENT", "MAX_INTERIOR_ON_CONTACTS"]

#: The specialist's result stands only where the generalist's particle mask of the same image
#: at the same scale overlaps its own by at least this (IoU, :func:`compare_in_busiest_window`). The specialist's
#: 26 TiO2 training and val images that draw no warning: 0.866-0.954. EMPS val images of other
#: materials given the pixel size that brings their particles to the specialist's size, where it
#: drew no warning but failed (F1 0.51 and 0.33, the generalist 0.98 and 1.00): 0.31 and 0.39.
MIN_AGREEMENT = 0.75

#: ... and only where the generalist, in that window, gives its particle-interior class a mean
#: probability of at most this on the pixels where two of the specialist's particles meet: where
#: the specialist cuts another material's particles into pieces, the generalist sees their
#: insides there (twenty-seventh session, docs/results.md). Images enlarged for the model are not
#: judged by it: interpolation blurs their contacts for the generalist too (TiO2 val recorded at
#: 0.5x and 0.75x: up to 0.54). The specialist's 26 TiO2 training and val images: 0.25-0.43 (val
#: at 1.5x and 2x: up to 0.42); synthetic SEM images of the project's generator at 7.34 nm/px:
#: 0.45-0.52; the EMPS val images given pixel sizes that bring their particles to 0.5-2 times
#: the specialist's size (all shrunk for it) where it drew no warning, the generalist agreed on
#: the pixels and the specialist failed worst: 0.55-0.91.
MAX_INTERIOR_ON_CONTACTS = 0.55


@dataclass(frozen=True)
class AnalysisModel:
    """A model as the analysis uses it: ready to run, with the splitting settings chosen for it
    on validation images (:class:`~paddleseg_hru2net.analysis.workflow.ModelSplittings`), and
    the name the summary gives it."""

    segmenter: Segmenter
    splittings: ModelSplittings
    name: str

    def segment(self, image: SEMImage, resample_to_model: bool = True, reason: str = "") -> Segmentation:
        """The image segmented by this model, labelled with its name (and why it was used)."""
        segmentation = segment_image(image, self.segmenter, resample_to_model, self.splittings)
        return replace(segmentation, splittings=self.splittings, model=self.name, chosen_because=reason)


def segment_with_fallback(image: SEMImage, specialist: AnalysisModel, generalist: AnalysisModel,
                          resample_to_model: bool = True) -> Segmentation:
    """The specialist's segmentation of ``image`` where the image has the pixel size the
    specialist needs, draws no out-of-depth warning from it and the generalist bears it out
    (:func:`compare_in_busiest_window`), else the generalist's, with the reason."""
    known = specialist.segmenter.feed.pixel_size_nm
    if known and not image.pixel_size_nm and resample_to_model:
        return generalist.segment(image, resample_to_model, reason=f"no pixel size; {specialist.name} "
                                                                   f"knows {known:.3g} nm/px images only")
    if known and image.pixel_size_is_drawn and resample_to_model:
        return generalist.segment(image, resample_to_model, reason="the pixel size is a drawn scale bar's: "
                                                                   "a figure, not a micrograph as recorded")
    first = specialist.segment(image, resample_to_model)
    result = analyze_segmentation(image, first)
    if result.warnings:
        return generalist.segment(image, resample_to_model, reason=f"{specialist.name} was out of its "
                                                                   f"depth: {'; '.join(result.warnings)}")
    # an image enlarged for the model is not judged by its contacts (see MAX_INTERIOR_ON_CONTACTS)
    compared = compare_in_busiest_window(first, result.labels, generalist.segmenter,
                                         measure_contacts=not first.scale.enlarges)
    if compared.particle_iou < MIN_AGREEMENT:
        return generalist.segment(image, resample_to_model, reason=f"{specialist.name} and {generalist.name} "
                                                                   f"disagree on the particles (IoU "
                                                                   f"{compared.particle_iou:.2f})")
    if compared.interior_on_contacts > MAX_INTERIOR_ON_CONTACTS:
        return generalist.segment(image, resample_to_model, reason=f"{specialist.name} splits particles "
                                                                   f"{generalist.name} sees whole (P(interior) "
                                                                   f"{compared.interior_on_contacts:.2f} on its "
                                                                   f"contacts)")
    return replace(first, analysed=result)


class WindowComparison(NamedTuple):
    """How a segmentation compares with another model's view of the same window
    (:func:`compare_in_busiest_window`)."""

    particle_iou: float  # of the two particle masks (1.0 where neither has any)
    interior_on_contacts: float  # the other's mean P(interior) on the contacts between particles (0.0: none, or not measured)


def compare_in_busiest_window(segmentation: Segmentation, labels: np.ndarray, other: Segmenter,
                              measure_contacts: bool = True) -> WindowComparison:
    """``segmentation`` (its particles ``labels`` on the image's own grid) against what ``other``
    makes of the same grey image at the same scale, unflipped, over the window of ``other``'s
    size where ``segmentation`` has the most particle pixels (one window of ``other``'s time):
    the particle IoU of the two masks, and the mean probability ``other`` gives its interior
    class (particle, not contact) on the pixels where two of ``labels``' particles meet (0.0
    where none meet, ``other`` has no such class or ``measure_contacts`` is off, which spares
    resampling ``labels`` to the segmentation scale)."""
    from paddleseg_hru2net.microscopy.resampling import resample, resample_labels
    if segmentation.grey is None:
        raise ValueError("the comparison needs the grey image the segmentation was made of")
    factor = segmentation.scale.factor
    grey = segmentation.grey if factor == 1.0 else resample(segmentation.grey, factor)
    mine = particle_maps(segmentation.at_segmentation_scale).particle > 0.5
    if mine.shape != grey.shape:
        raise ValueError(f"segmentation {mine.shape} and its image at that scale {grey.shape} differ")
    rows, cols = busiest_window(mine, other.feed.window)
    theirs = particle_maps(other.with_flips(False).probabilities(np.ascontiguousarray(grey[rows, cols])))
    either = int((mine[rows, cols] | (theirs.particle > 0.5)).sum())
    particle_iou = float((mine[rows, cols] & (theirs.particle > 0.5)).sum()) / either if either else 1.0
    if not measure_contacts or theirs.interior is None:
        return WindowComparison(particle_iou, 0.0)
    scaled = labels if factor == 1.0 else resample_labels(labels, factor)
    if scaled.shape != grey.shape:
        return WindowComparison(particle_iou, 0.0)
    window = scaled[rows, cols]
    contacts = contacts_between(window)
    inside = float(theirs.interior[contacts].mean()) if contacts.any() else 0.0
    return WindowComparison(particle_iou, inside)


def busiest_window(mask: np.ndarray, window: Sequence[int]) -> Tuple[slice, slice]:
    """``(rows, columns)`` of the window of size ``window`` (height, width; cut to the image)
    holding the most pixels of ``mask``, among windows half a window apart and those at the
    image's far edges."""
    from paddleseg_hru2net.inference.windows import window_boxes
    height, width = mask.shape
    h, w = min(int(window[0]), height), min(int(window[1]), width)
    table = np.pad(mask.astype(np.int64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    _, top, left = max((int(table[t + h, l + w] - table[t, l + w] - table[t + h, l] + table[t, l]), t, l)
                       for t, l in window_boxes(height, width, (h, w), (max(1, h // 2), max(1, w // 2))))
    return slice(top, top + h), slice(left, left + w)
