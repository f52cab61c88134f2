"""Segment at the model's scale: resample images so particles have the size the model knows.

A model learns particles of the sizes it was trained on (TiO2 at 7.34 nm/px: about 24 px
across). An image at another magnification is resampled before segmentation; touching
particles are split there, at the scale the splitting settings were chosen for, and the class
probabilities and particle labels are mapped back to the image's own grid
(:func:`labels_to_grid`), so labels and lengths stay in the image's pixels and nanometres:

* the image's pixel size is known and the model's is too: factor = image / model pixel size;
* otherwise, when the model records its training particles' median diameter, a first pass at
  the native scale measures the image's particles and the factor brings their median to the
  model's (not applied within 0.77x-1.3x, where the model works as it is). Where that first pass
  is one the warnings of :mod:`paddleseg_hru2net.analysis.confidence` would distrust (particles
  over most of the image or unsure over them: sizes measured on it mean nothing), the particle
  size is estimated from the image's grey values instead
  (:mod:`paddleseg_hru2net.analysis.particle_size`). A model that records ``size_from:
  grey_values`` (trained at one particle size: its first pass on particles of other sizes
  measures fragments of them) skips the first pass and always uses that estimate; one that
  records ``grey_values_refined`` (the generalist) then measures its own segmentation at that
  scale and segments again at the scale the measurement gives (:func:`refined_factor`), where
  the second segmentation is as plausible as the first (``analysis.workflow``), and so on from
  there while the measurement asks for another scale (at most three refinements); then it
  climbs: the image is enlarged step by step (:func:`climbing_factor`) while the particles at
  the larger scale still measure at most :data:`CLIMB_AGREEMENT` times the model's size;
* otherwise, or when asked (``--native-scale``), the native scale.

The summary says which (``scale`` column).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
from scipy import ndimage

from paddleseg_hru2net.analysis.confidence import distrusted_coverage_and_confidence
from paddleseg_hru2net.analysis.particle_size import diameter_from_autocorrelation
from paddleseg_hru2net.inference.segmenter import Segmenter, particle_probability_of, probabilities_on_grid
from paddleseg_hru2net.microscopy.particle_diameters import median_equivalent_diameter
from paddleseg_hru2net.microscopy.resampling import resample

__all__ = ["ScaleChoice", "median_particle_diameter", "resample", "probabilities_at",
           "choose_scale", "scaled_probabilities", "labels_to_grid", "first_pass_doubt", "MIN_FACTOR",
           "MAX_FACTOR", "MAX_SCALED_PIXELS", "refined_factor", "climbing_factor",
           "CLIMB_AGREEMENT", "MIN_PARTICLES_TO_CLIMB"]

#: The range of resampling factors. Shrinking as far as 1/8 lets images of particles up to about
#: 190 px across reach the generalist's 23.3 px (EMPS val, default command: F1 0.661 with 1/4 as
#: the floor, 0.695 with 1/8, 0.691 with 0.18, 0.695 with 0.1).
MIN_FACTOR, MAX_FACTOR = 0.125, 4.0
#: The most pixels an image is enlarged to: an image of tiny particles at a large frame size would
#: otherwise be enlarged up to 16 times in pixels (a 4096 x 4096 frame: 268 megapixels, about
#: 11 min a pass at 2.5 us a pixel and gigabytes of probabilities). 40 megapixels is about 100 s a
#: pass on ONNX Runtime float here; the factor is lowered to fit, and the summary says so.
MAX_SCALED_PIXELS = 40_000_000
#: A refined scale must leave an image at least this many of the model's particles across.
MIN_PARTICLES_ACROSS = 2.0
#: Factors this close to 1 are not worth a resampling (the model is trained with 0.75-1.33 jitter).
NEUTRAL = (0.77, 1.3)
#: A refinement (:func:`refined_factor`) changing the factor by less than these is not worth a
#: pass. Narrower than :data:`NEUTRAL`: a model measures particles smaller than its own too
#: large (it merges touching ones, more so in a soft image), so a first pass asks for too little
#: enlargement. EMPS val blurred by a Gaussian of 2 px, F1@0.5 (``tools/experiments/refinement_passes.py``):
#: 0.714 with NEUTRAL and one refinement, 0.842 with 0.87-1.15 and two, 0.872 with 0.9-1.1 and
#: three (482193653a, 495 particles of 14 px: 0.452 -> 0.885); as published 0.920, 0.925, 0.924.
REFINEMENT_BAND = (0.9, 1.1)
#: Climbing from a refined grey-value scale (:func:`climbing_factor`): each step enlarges by
#: this. A model that merges touching particles measures its merged particles near its own size,
#: so measuring alone settles where particles are merged in twos and threes (agglomerates of
#: TiO2 and of the synthetic generator: 2-5 times too small a scale, grey values 4-6 times).
CLIMB_STEP = 2 ** 0.5
#: ...and the image is enlarged again while its particles, split at the larger scale, measure at
#: most this times the model's size: merged particles separate as they grow, until single ones
#: reach and then pass that size. 1.3 is the top of the band the model is used unresampled in
#: (:data:`NEUTRAL`); TiO2 val with the generalist alone F1 0.297 -> 0.537 (``docs/results.md``).
CLIMB_AGREEMENT = 1.3
#: ...starting only from a segmentation with at least this many particles (of 9 px and more): the
#: median of a few large particles says little of their size, and enlarging cuts them into
#: pieces (EMPS val: four images of 1-4 particles lost F1 without it, none gained). Neither is a
#: segmentation the warnings distrust (:func:`first_pass_doubt`) climbed from or to (EMPS val
#: blurred by 2 px: 611b9564a4, 8 particles of 122 px found at a mean probability of 0.65,
#: climbed to where the model's flipped copies left fragments, F1 0.48 -> 0).
MIN_PARTICLES_TO_CLIMB = 10
_FOUR = ndimage.generate_binary_structure(2, 1)


@dataclass(frozen=True)
class ScaleChoice:
    """The factor an image was resampled by before segmentation (``> 1`` enlarges) and why;
    ``split_at_model_scale``: split touching particles at the segmentation scale even when the
    image was shrunk (else a shrunk image is split on its own, finer grid);
    ``refinable``: estimated from the grey values for a model that refines that estimate by
    measuring its own segmentation (``size_from: grey_values_refined``)."""

    factor: float
    source: str
    split_at_model_scale: bool = False
    refinable: bool = False

    @property
    def enlarges(self) -> bool:
        """Whether the image was enlarged for the model (its pixels coarser than the model's)."""
        return self.factor > 1.0

    def describe(self) -> str:
        if self.factor != 1.0:
            return f"x{self.factor:.3g} ({self.source})"
        return "native" if self.source == "native" else f"native ({self.source})"


def median_particle_diameter(particle: np.ndarray, threshold: float = 0.5,
                             min_area: int = 9) -> Optional[float]:
    """Median equivalent diameter (px) of the regions of ``particle > threshold`` with at least
    ``min_area`` pixels, those cut by the border left out where others remain; None if none."""
    regions = ndimage.label(particle > threshold, structure=_FOUR)[0]
    return median_equivalent_diameter(regions, min_area)


def probabilities_at(segmenter: Segmenter, grey: np.ndarray, factor: float
                     ) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Class probabilities ``(K, H, W)`` on ``grey``'s own grid, segmented at ``factor``, and
    those at the segmentation scale (None when ``factor`` is 1). An image enlarged for the model
    (``factor`` > 1) is segmented without the model's further views (``Feed.views``): it is
    blurred already, and the splitting for enlarged images was chosen without them."""
    if factor == 1.0:
        return segmenter.probabilities(grey), None
    scaled = segmenter.probabilities(resample(grey, factor), views=(1.0,) if factor > 1.0 else None)
    return probabilities_on_grid(scaled, grey.shape), scaled


def _nearest_indices(size: int, scaled_size: int) -> np.ndarray:
    """For each of ``size`` pixels, the index of the scaled pixel whose centre is nearest."""
    return np.minimum(((np.arange(size) + 0.5) * scaled_size / size).astype(np.int64), scaled_size - 1)


def labels_to_grid(scaled_labels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Particle labels made at another scale, on the grid of ``mask`` (the particle mask there):
    every pixel takes the label of the nearest scaled pixel, pixels outside the mask become
    background, and mask pixels left without a label join the nearest particle within the
    size of a scaled pixel (plus one). Ids are renumbered 1..N in the order of the scaled ones."""
    from skimage.segmentation import expand_labels, relabel_sequential
    height, width = mask.shape
    rows = _nearest_indices(height, scaled_labels.shape[0])
    cols = _nearest_indices(width, scaled_labels.shape[1])
    labels = scaled_labels[rows[:, None], cols[None, :]]
    reach = int(np.ceil(max(height / scaled_labels.shape[0], width / scaled_labels.shape[1]))) + 1
    labels = expand_labels(np.where(mask, labels, 0), distance=reach)
    labels[~mask] = 0
    return relabel_sequential(labels)[0]


def first_pass_doubt(particle: np.ndarray) -> Optional[str]:
    """Why a segmentation (a native-scale first pass, or a step of the climb from a refined
    scale) is no ground to measure the particle size on, or None."""
    fraction, confidence = distrusted_coverage_and_confidence(particle)
    if fraction is not None:
        return f"particles over {100 * fraction:.0f} % of it"
    if confidence is not None:
        return f"mean probability {confidence:.2f} over its particles"
    return None


def _clamped(factor: float) -> float:
    return float(min(max(factor, MIN_FACTOR), MAX_FACTOR))


def _enlargement_within_budget(choice: ScaleChoice, shape: Tuple[int, ...]) -> ScaleChoice:
    """``choice``, its factor lowered where the enlarged image would exceed
    :data:`MAX_SCALED_PIXELS` (to 1, native, if even that would not fit)."""
    pixels = float(shape[0]) * float(shape[1])
    if not choice.enlarges or pixels * choice.factor ** 2 <= MAX_SCALED_PIXELS:
        return choice
    affordable = max(1.0, float(np.sqrt(MAX_SCALED_PIXELS / pixels)))
    note = (f"; enlarged x{affordable:.3g} instead of x{choice.factor:.3g} to stay within "
            f"{MAX_SCALED_PIXELS / 1e6:.0f} megapixels: particles are smaller than the model's")
    return ScaleChoice(1.0 if affordable < NEUTRAL[1] else round(affordable, 4), choice.source + note,
                       choice.split_at_model_scale, choice.refinable)


def choose_scale(grey: np.ndarray, pixel_size_nm: Optional[float], segmenter: Segmenter,
                 resample_to_model: bool = True) -> Tuple[ScaleChoice, Optional[np.ndarray]]:
    """``(ScaleChoice, the native-scale probabilities of a first pass or None)`` following the
    module's rules, the enlargement kept within :data:`MAX_SCALED_PIXELS`. Without a first pass
    the choice does not depend on which way round the image's contrast is (the grey-value
    estimate is of the mean-free image), so it holds for the image inverted too."""
    choice, first = _scale_by_the_rules(grey, pixel_size_nm, segmenter, resample_to_model)
    return _enlargement_within_budget(choice, grey.shape), first


def _scale_by_the_rules(grey: np.ndarray, pixel_size_nm: Optional[float], segmenter: Segmenter,
                        resample_to_model: bool) -> Tuple[ScaleChoice, Optional[np.ndarray]]:
    feed = segmenter.feed
    if not resample_to_model:
        return ScaleChoice(1.0, "native (asked for)"), None
    if pixel_size_nm and feed.pixel_size_nm:
        factor = _clamped(pixel_size_nm / feed.pixel_size_nm)
        if NEUTRAL[0] <= factor <= NEUTRAL[1]:
            return ScaleChoice(1.0, "pixel size matches the model's"), None
        return ScaleChoice(round(factor, 4), f"pixel size {pixel_size_nm:.3g} nm, model "
                                             f"{feed.pixel_size_nm:.3g} nm"), None
    if not feed.particle_diameter_px:
        return ScaleChoice(1.0, "native"), None
    first, diameter, how, from_grey_values = _estimated_particle_diameter(grey, segmenter)
    if diameter is None:
        return ScaleChoice(1.0, "no particles found at the native scale"), first
    factor = _clamped(feed.particle_diameter_px / diameter)
    refinable = from_grey_values and feed.size_from == "grey_values_refined"
    if NEUTRAL[0] <= factor <= NEUTRAL[1]:
        return ScaleChoice(1.0, f"{how}: particle size matches the model's", refinable=refinable), first
    return ScaleChoice(round(factor, 4), f"{how}: median diameter {diameter:.1f} px, model "
                                         f"{feed.particle_diameter_px:.1f} px",
                       split_at_model_scale=from_grey_values, refinable=refinable), first


def refined_factor(choice: ScaleChoice, measured_px: Optional[float], model_px: float,
                   shape: Tuple[int, ...]) -> Optional[ScaleChoice]:
    """The scale a segmentation made at ``choice`` asks for: its particles' median diameter
    ``measured_px`` (pixels at the segmentation scale) brought to the model's ``model_px``;
    None where there is nothing to measure, the new factor is within :data:`REFINEMENT_BAND` of
    the old one (not worth another pass), or it would leave the image (``shape``) fewer than
    :data:`MIN_PARTICLES_ACROSS` of the model's particles across (nothing left to measure)."""
    if not measured_px:
        return None
    factor = _clamped(choice.factor * model_px / measured_px)
    if REFINEMENT_BAND[0] <= factor / choice.factor <= REFINEMENT_BAND[1]:
        return None
    if min(shape[:2]) * factor < MIN_PARTICLES_ACROSS * model_px:
        return None
    native_diameter = measured_px / choice.factor
    refined = ScaleChoice(round(factor, 4) if not REFINEMENT_BAND[0] <= factor <= REFINEMENT_BAND[1] else 1.0,
                          f"{choice.source}; refined by the model's own measurement, median "
                          f"diameter {native_diameter:.1f} px", split_at_model_scale=True)
    refined = _enlargement_within_budget(refined, shape)
    return None if refined.factor == choice.factor else refined


def climbing_factor(choice: ScaleChoice, shape: Tuple[int, ...],
                    start: Optional[ScaleChoice] = None) -> Optional[ScaleChoice]:
    """The scale one climbing step (:data:`CLIMB_STEP`) above ``choice`` on the climb from
    ``start`` (``choice`` itself unless given; its source is the step's), or None where it would
    pass :data:`MAX_FACTOR` or enlarge the image (``shape``) past :data:`MAX_SCALED_PIXELS`.
    A factor within :data:`REFINEMENT_BAND` of 1 becomes 1, the image as it is."""
    factor = choice.factor * CLIMB_STEP
    if factor > MAX_FACTOR:
        return None
    if REFINEMENT_BAND[0] <= factor <= REFINEMENT_BAND[1]:
        factor = 1.0
    step = ScaleChoice(round(factor, 4), f"{(start or choice).source}; climbed while its particles "
                                         f"measured at most {CLIMB_AGREEMENT:g} times the model's size",
                       split_at_model_scale=True)
    return step if _enlargement_within_budget(step, shape) == step else None


def scaled_probabilities(grey: np.ndarray, pixel_size_nm: Optional[float], segmenter: Segmenter,
                         resample_to_model: bool = True,
                         chosen: Optional[Tuple[ScaleChoice, Optional[np.ndarray]]] = None
                         ) -> Tuple[np.ndarray, Optional[np.ndarray], ScaleChoice]:
    """``(probabilities on grey's grid, probabilities at the segmentation scale or None,
    ScaleChoice)``, segmented at ``chosen`` (a :func:`choose_scale` of this image) if given,
    else at :func:`choose_scale`'s; ``resample_to_model=False`` segments at the image's own
    scale whatever its pixel size."""
    scale, first = chosen or choose_scale(grey, pixel_size_nm, segmenter, resample_to_model)
    if scale.factor == 1.0 and first is not None:
        return first, None, scale
    return (*probabilities_at(segmenter, grey, scale.factor), scale)


def _estimated_particle_diameter(grey: np.ndarray, segmenter: Segmenter
                                 ) -> Tuple[Optional[np.ndarray], Optional[float], str, bool]:
    """``(native-scale probabilities or None, median particle diameter in px or None, how it was
    estimated, whether from the grey values)`` for an image without a pixel size, as
    ``segmenter.feed.size_from`` says."""
    from_grey_values = "estimated from the grey values"
    if segmenter.feed.size_from in ("grey_values", "grey_values_refined"):
        return None, diameter_from_autocorrelation(grey), f"{from_grey_values} (the model's rule)", True
    first = segmenter.probabilities(grey)
    particle = particle_probability_of(first)
    doubt = first_pass_doubt(particle)
    if doubt is not None:
        return (first, diameter_from_autocorrelation(grey),
                f"{from_grey_values} (first pass unreliable: {doubt})", True)
    return first, median_particle_diameter(particle), "estimated from a first pass", False
