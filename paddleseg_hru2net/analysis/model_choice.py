"""Which model segments an image when the user names none (``--model auto``).

The TiO2 specialist is the best model on the images it knows (secondary-electron SEM of bright
particles about 24 px across at 7.34 nm/px) and the generalist is the better one elsewhere. The
choice is made per image:

* an image without a pixel size goes to the generalist: the specialist knows one pixel size,
  and without it the specialist's own first pass would choose the scale, which on the EMPS val
  images it kept 5 of 37 for and was worse than the generalist on 3 of them;
* otherwise the specialist segments the image at its pixel size, and when its result draws
  none of the out-of-depth warnings of :mod:`paddleseg_hru2net.analysis.confidence`
  (particles over most of the image, low confidence over them, a size far from its training
  particles or close to its window) the image is at home and its result stands; else the
  generalist segments the image.

The summary's ``model`` column says which model made each table and why;
``hru2net-validate-analysis --model auto`` measures the rule.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from paddleseg_hru2net.analysis.workflow import (ModelSplittings, SEMImage, Segmentation,
                                                 analyze_segmentation, segment_image)
from paddleseg_hru2net.inference.segmenter import Segmenter

__all__ = ["AnalysisModel", "segment_with_fallback"]


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
    specialist needs and draws no out-of-depth warning from it, else the generalist's, with the
    reason."""
    known = specialist.segmenter.feed.pixel_size_nm
    if known and not image.pixel_size_nm and resample_to_model:
        return generalist.segment(image, resample_to_model, reason=f"no pixel size; {specialist.name} "
                                                                   f"knows {known:.3g} nm/px images only")
    first = specialist.segment(image, resample_to_model)
    result = analyze_segmentation(image, first)
    if not result.warnings:
        return replace(first, analysed=result)
    return generalist.segment(image, resample_to_model, reason=f"{specialist.name} was out of its "
                                                               f"depth: {'; '.join(result.warnings)}")
