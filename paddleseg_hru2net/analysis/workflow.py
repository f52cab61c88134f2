"""Whole SEM images in; masks, overlays and particle statistics out.

One function per step, so each can be used (and tested) alone:
:func:`load_sem_image` → :func:`particle_probability` → :func:`split_particles` /
:func:`measure_particles` → :func:`write_image_results`; :func:`analyze_folder` runs them over a folder, skipping (and
reporting) images that cannot be read.
"""
from __future__ import annotations

import csv
import io
import os
import sys
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from paddleseg_hru2net.analysis.particles import (Particle, drop_small_particles, measure_particles,
                                                  particle_columns, separate_touching, split_particles)
from paddleseg_hru2net.microscopy.annotations import (Annotation, annotation_mask, drawn_particles, moved,
                                                      find_annotations, find_text, flat_pixels,
                                                      labels_mostly_inside)
from paddleseg_hru2net.microscopy.data_bar import sample_rows
from paddleseg_hru2net.microscopy.margins import Margins, white_or_black_margins
from paddleseg_hru2net.microscopy.pixel_size import read_pixel_size_nm
from paddleseg_hru2net.files import ImageReadError, atomic_path, write_json, write_png, write_text
from paddleseg_hru2net.microscopy.conditioning import condition_for_model
from paddleseg_hru2net.microscopy.reading import IMAGE_SUFFIXES, MIN_SIDE, read_microscope_image
from paddleseg_hru2net.analysis.scale import (CLIMB_AGREEMENT, MIN_PARTICLES_TO_CLIMB, ScaleChoice,
                                              choose_scale, climbing_factor, first_pass_doubt,
                                              labels_to_grid, refined_factor, resample,
                                              scaled_probabilities)
from paddleseg_hru2net.analysis.run_folder import (done_record, output_stems, prepare_output_folder,
                                                   check_same_settings)
from paddleseg_hru2net.inference.feed import Feed
from paddleseg_hru2net.inference.segmenter import (centre_probability_of, interior_probability_of,
                                                  particle_probability_of)

__all__ = ["SEMImage", "ImageResult", "Splitting", "Segmentation", "load_sem_image", "overlay",
           "analyze_image", "segment_image", "read_drawn_pixel_size", "analyze_segmentation", "write_image_results",
           "write_label_tiff", "summary_row", "image_record", "list_sem_images", "analyze_folder",
           "stored_splittings", "ModelSplittings", "ParticleMaps", "SPLITTING_RECORD_KEYS", "output_stems", "prepare_output_folder"]


@dataclass
class SEMImage:
    """A grey microscope image with its data bar cut, where its pixel size came from, and what
    was done to read it (``notes``: bit depth, pages, scale, contrast); ``particles_look``:
    ``bright`` or ``dark`` where the user said how its particles look against the background
    (None: the analysis decides); ``pixel_size_is_drawn``: whether the pixel size was read from
    a scale bar drawn over the image (a figure's or an export's), not from the microscope's
    metadata, its data bar or the user."""

    path: str
    grey: np.ndarray  # uint8, data bar removed
    data_bar_rows: int
    pixel_size_nm: Optional[float]
    pixel_size_source: str  # "metadata (<source>)", "option", "scale bar ..." or "none (pixels)"
    notes: List[str] = field(default_factory=list)
    particles_look: Optional[str] = None
    pixel_size_is_drawn: bool = False

    @cached_property
    def flat_pixels(self) -> np.ndarray:
        """Where the image is flat (:func:`~paddleseg_hru2net.microscopy.annotations.flat_pixels`):
        once per image, for the annotations and for each splitting's drawn-mark test."""
        return flat_pixels(self.grey)

    @cached_property
    def margins(self) -> Margins:
        """Its white or black margins (:mod:`~paddleseg_hru2net.microscopy.margins`): no sample, left out
        of the segmentation (:func:`segment_image`)."""
        return white_or_black_margins(self.grey, MIN_SIDE)

    @cached_property
    def annotations(self) -> List[Annotation]:
        """Label boxes, scale bars and text drawn over the image (:mod:`~paddleseg_hru2net.microscopy.annotations`),
        found within its :attr:`margins` (all white or black, they hold none); the part within
        them, which is what is segmented (:func:`segment_image`), is given these, so that the
        image is read by OCR once."""
        if not self.margins.any:
            return find_annotations(self.grey, self.flat_pixels) + find_text(self.grey)
        within = self.grey[self.margins.inner(self.grey.shape)]
        return moved(find_annotations(within) + find_text(within), self.margins.top, self.margins.left)

    @cached_property
    def annotated_pixels(self) -> Optional[np.ndarray]:
        """Where :attr:`annotations` lie (:func:`~paddleseg_hru2net.microscopy.annotations.annotation_mask`),
        or None where there are none: once per image, for judging which way round it is and for
        leaving drawn particles out."""
        return annotation_mask(self.grey, self.annotations) if self.annotations else None


@dataclass(frozen=True)
class Splitting:
    """How a probability map becomes particles (see :func:`split_particles`).

    ``threshold``, ``core_threshold`` and ``min_depth`` default to the values chosen on the
    validation images of the TiO2 split (never the test images) for the shipped HRU2-Net† by
    ``tools/validate_analysis.py --split val --tune``. ``min_area`` (pixels) leaves smaller
    particles out of the particle table (they stay in the mask): 0 keeps all, as ImageJ's
    "Analyze Particles" does by default. ``lines``: touching particles are separated by a 1-px
    background line in the labels (:func:`separate_touching`), as annotators and ImageJ's
    Watershed draw them; the mask keeps those pixels.
    """

    threshold: float = 0.5
    core_threshold: float = 0.8
    min_depth: float = 0.5
    min_area: int = 0
    min_core_area: int = 0
    lines: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= self.core_threshold <= 1.0:
            raise ValueError(f"need 0 <= threshold <= core threshold <= 1, got threshold "
                             f"{self.threshold} and core threshold {self.core_threshold}")
        if self.min_depth < 0:
            raise ValueError(f"min depth must not be negative, got {self.min_depth}")
        if self.min_area < 0 or self.min_core_area < 0:
            raise ValueError(f"min area and min core area must not be negative, got "
                             f"{self.min_area} and {self.min_core_area}")

    def labels(self, probabilities: np.ndarray) -> np.ndarray:
        """Particle labels of a particle probability map ``(H, W)`` (or a 0/1 mask), or of a
        model's class probabilities ``(K, H, W)``: with a contact class (K = 3) the cores come
        from the particle-interior class."""
        return self.labels_of_maps(particle_maps(probabilities))

    def labels_of_maps(self, maps: "ParticleMaps") -> np.ndarray:
        """Particle labels of a segmentation's :class:`ParticleMaps`."""
        labels = self.separated(split_particles(maps.particle, self.threshold, self.core_threshold,
                                                self.min_depth, interior=maps.interior,
                                                min_core_area=self.min_core_area, centres=maps.centre))
        return drop_small_particles(labels, self.min_area) if self.min_area > 0 else labels

    def separated(self, labels: np.ndarray) -> np.ndarray:
        """``labels`` with touching particles separated by 1-px lines where ``lines`` is set."""
        return separate_touching(labels) if self.lines else labels

    def as_dict(self) -> dict:
        return {"threshold": self.threshold, "core_threshold": self.core_threshold,
                "min_depth": self.min_depth, "min_area": self.min_area,
                "min_core_area": self.min_core_area, "lines": self.lines}


SPLITTING_RECORD_KEYS = ("splitting", "splitting_enlarged")
"""The run-record keys of a model's splitting settings (:class:`ModelSplittings`)."""


@dataclass(frozen=True)
class ModelSplittings:
    """The splitting settings chosen for one model on validation images:

    * ``native``, at the model's own scale;
    * ``enlarged``, or None: for images enlarged for it. An image recorded at a coarser pixel
      size than the model's is enlarged before segmentation; the contacts between its particles
      are blurred then, and the model's contact class is weaker on them, so touching particles
      merge under the settings chosen at the model's own scale, and its blurred probabilities
      widen the mask. These are chosen on validation images resampled to coarser pixel sizes so
      that particle count and median diameter agree with the native-scale ones (and the mask
      threshold for particle IoU).

    In a run record (``train_meta.json``) they are stored under :data:`SPLITTING_RECORD_KEYS`.
    """

    native: Splitting = field(default_factory=Splitting)
    enlarged: Optional[Splitting] = None

    def for_scale(self, scale: ScaleChoice) -> Splitting:
        """The settings for an image resampled by ``scale`` for the model."""
        return self.enlarged if self.enlarged is not None and scale.enlarges else self.native

    def as_record(self) -> dict:
        native_key, enlarged_key = SPLITTING_RECORD_KEYS
        record = {native_key: self.native.as_dict()}
        if self.enlarged is not None:
            record[enlarged_key] = self.enlarged.as_dict()
        return record

    @classmethod
    def from_record(cls, record: dict) -> "ModelSplittings":
        """Raises TypeError or ValueError where the stored settings cannot be used."""
        native, enlarged = (record.get(key) for key in SPLITTING_RECORD_KEYS)
        return cls(Splitting(**native) if native else Splitting(),
                   Splitting(**enlarged) if enlarged else None)


class ParticleMaps(NamedTuple):
    """What a segmentation says about particles, each ``(H, W)``: ``particle`` probability, and
    where the model has those classes, ``interior`` (particle but not contact) and ``centre``
    probability; None where it has not."""

    particle: np.ndarray
    interior: Optional[np.ndarray] = None
    centre: Optional[np.ndarray] = None


def particle_maps(probabilities: np.ndarray) -> ParticleMaps:
    """The :class:`ParticleMaps` of a particle probability map ``(H, W)`` (or a 0/1 mask) or of
    ``(K, H, W)`` class probabilities (0 background, 1 particle, 2 contact, 3 centre; see
    :mod:`paddleseg_hru2net.datasets.instance_targets`)."""
    probabilities = np.asarray(probabilities, dtype=np.float32)
    if probabilities.ndim == 2:
        return ParticleMaps(probabilities)
    return ParticleMaps(particle_probability_of(probabilities), interior_probability_of(probabilities),
                        centre_probability_of(probabilities))


@dataclass
class ImageResult:
    path: str
    mask: np.ndarray
    labels: np.ndarray
    particles: List[Particle]
    image: SEMImage
    outputs: Dict[str, str] = field(default_factory=dict)
    scale: str = "native"
    contrast: str = "as recorded"
    warnings: List[str] = field(default_factory=list)
    model: str = ""
    left_out: Optional[np.ndarray] = None  # labels of the particles left out as drawn, 0 elsewhere

    @property
    def left_out_as_annotations(self) -> int:
        """How many particles were left out as drawn over the image (:func:`_without_annotations`)."""
        return 0 if self.left_out is None else int(np.count_nonzero(np.bincount(self.left_out.ravel())[1:]))

    @property
    def unit(self) -> str:
        """``nm`` where the pixel size is known, else ``px``."""
        return "nm" if self.image.pixel_size_nm else "px"


#: How a user can say the particles look against the background (``SEMImage.particles_look``).
PARTICLE_LOOKS = ("bright", "dark")


def load_sem_image(path: str, pixel_size_nm: Optional[float] = None,
                   data_bar_rows: Optional[int] = None, particles_look: Optional[str] = None) -> SEMImage:
    """Read a microscope image (any bit depth, grey, palette or RGB; see
    :mod:`paddleseg_hru2net.microscopy.reading`), cut its data bar, stretch it if its contrast
    is low and denoise it if it is noisy (:func:`~paddleseg_hru2net.microscopy.conditioning.condition_for_model`),
    find its pixel size;
    ``particles_look`` (one of :data:`PARTICLE_LOOKS`, or None) is what the user knows of its
    contrast.

    The pixel size is, in order: the image's metadata (:mod:`paddleseg_hru2net.microscopy.pixel_size`),
    ``pixel_size_nm``, the scale bar in the data bar read by OCR
    (:mod:`paddleseg_hru2net.microscopy.scale_bar`), a scale bar drawn over the image (a
    figure's, a camera's burnt-in one: one of :attr:`SEMImage.annotations` with its label read
    by OCR), none (lengths in pixels).
    """
    if particles_look is not None and particles_look not in PARTICLE_LOOKS:
        raise ValueError(f"particles_look must be one of {', '.join(PARTICLE_LOOKS)} or None, got {particles_look!r}")
    grey, notes = read_microscope_image(path)
    try:
        rows = sample_rows(grey, data_bar_rows)
    except ValueError as error:
        raise ImageReadError(f"{path}: {error}") from error
    if rows < MIN_SIDE:
        raise ImageReadError(f"{path}: only {rows} rows above the data bar; nothing to analyse")
    above_bar, condition_notes = condition_for_model(grey[:rows])
    size, source = read_pixel_size_nm(path)
    if size is None and pixel_size_nm is not None:
        size, source = float(pixel_size_nm), "option"
    elif size is None:
        from paddleseg_hru2net.microscopy.scale_bar import read_scale_bar
        bar = read_scale_bar(grey[rows:])
        if bar is not None:
            size = bar.pixel_size_nm
            source = f"scale bar '{bar.label}' read by OCR ({bar.length_px:g} px)"
        else:
            source = "none (pixels)"
    image = SEMImage(path, above_bar, grey.shape[0] - rows, size, source, notes + condition_notes, particles_look)
    if size is None:
        read_drawn_pixel_size(image)
    return image


def read_drawn_pixel_size(image: SEMImage) -> None:
    """Give ``image`` the pixel size of a scale bar drawn over it, if one is read
    (:func:`~paddleseg_hru2net.microscopy.scale_bar.read_drawn_scale_bar`). The image itself is
    given it, so that the annotations found for it (OCR of the whole image) are found once."""
    from paddleseg_hru2net.microscopy.scale_bar import read_drawn_scale_bar
    bar = read_drawn_scale_bar(image.grey, image.annotations)
    if bar is not None:
        image.pixel_size_nm = bar.pixel_size_nm
        image.pixel_size_source = f"scale bar drawn over the image: '{bar.label}' read by OCR ({bar.length_px:g} px)"
        image.pixel_size_is_drawn = True


def overlay(grey: np.ndarray, labels: np.ndarray, annotations: Sequence[Annotation] = (),
            left_out: Optional[np.ndarray] = None) -> np.ndarray:
    """RGB overlay: each particle tinted with its own colour, outlines bright yellow; the
    annotations drawn over the image framed in cyan, and the outlines of the particles left out
    as drawn (``left_out``, their labels) in cyan too."""
    from skimage.segmentation import find_boundaries
    rgb = np.repeat(grey.astype(np.float32)[..., None], 3, axis=2)
    if labels.max() > 0:
        palette = np.random.default_rng(0).uniform(60, 255, size=(labels.max() + 1, 3))
        inside = labels > 0
        rgb[inside] = 0.6 * rgb[inside] + 0.4 * palette[labels[inside]]
        rgb[find_boundaries(labels, mode="inner")] = (255, 255, 0)
    if annotations:
        rgb[find_boundaries(annotation_mask(grey, list(annotations)), mode="inner")] = (0, 255, 255)
    if left_out is not None:
        rgb[find_boundaries(left_out, mode="inner")] = (0, 255, 255)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def analyze_image(image: SEMImage, probabilities: np.ndarray,
                  splitting: Splitting = Splitting()) -> ImageResult:
    """Particles of one image from a model's class probabilities ``(K, H, W)``, a particle
    probability map or a 0/1 mask ``(H, W)`` (e.g. a manual one)."""
    return _measured(image, particle_maps(probabilities).particle > splitting.threshold,
                     splitting.labels(probabilities))


def _without_annotations(image: SEMImage, mask: np.ndarray,
                         labels: np.ndarray) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
    """``(mask, labels, labels of the particles left out or None)``: the particles lying at
    least half inside an annotation drawn over the image (a label box, a scale bar, a word of
    text), and those that are drawn marks themselves (letters, numbers:
    :func:`~paddleseg_hru2net.microscopy.annotations.drawn_particles`), are no particles; the
    others keep every pixel, also where a bar crosses them. Labels stay numbered 1..N."""
    dropped = drawn_particles(image.grey, labels, image.flat_pixels)
    boxed = np.zeros(labels.shape, bool)
    if image.annotated_pixels is not None:
        boxed = image.annotated_pixels
        dropped = np.union1d(dropped, labels_mostly_inside(labels, boxed))
    dropped = dropped[dropped > 0]
    if not dropped.size and not image.annotations:
        return mask, labels, None
    left_out = np.where(np.isin(labels, dropped), labels, 0)
    removed = (left_out > 0) | (boxed & (labels == 0))
    if dropped.size:
        from skimage.segmentation import relabel_sequential
        labels = relabel_sequential(np.where(removed, 0, labels))[0]
    return mask & ~removed, labels, left_out


def _measured(image: SEMImage, mask: np.ndarray, labels: np.ndarray) -> ImageResult:
    """The result of an image with its particle mask and labels: the particles measured, those
    inside annotations drawn over the image left out (:func:`_without_annotations`)."""
    mask, labels, left_out = _without_annotations(image, mask.astype(bool), labels)
    return ImageResult(image.path, mask.astype(np.uint8), labels,
                       measure_particles(labels, image.pixel_size_nm), image,
                       left_out=left_out)


@dataclass
class Segmentation:
    """A model's class probabilities of an image (on its own grid) and how they were made;
    ``at_model_scale`` holds them at the scale the image was segmented at, if it was resampled;
    ``splittings``, where set, are the settings chosen for the model that made them; ``model``
    names that model for the summary, and ``chosen_because`` says why it was chosen, if it was;
    ``analysed`` is its :func:`analyze_segmentation` with its own splitting, where the choice of
    model already made it (so that it is not made twice); ``grey`` is the image the model was
    given, on the image's own grid and with the contrast the model saw; ``doubts`` are warnings
    about how it was made (a near tie between the two ways round)."""

    probabilities: np.ndarray
    scale: ScaleChoice
    feed: Feed
    at_model_scale: Optional[np.ndarray] = None
    contrast: str = "as recorded"
    splittings: Optional[ModelSplittings] = None
    model: str = ""
    chosen_because: str = ""
    analysed: Optional[ImageResult] = None
    grey: Optional[np.ndarray] = None
    doubts: Tuple[str, ...] = ()

    def own_splitting(self) -> Optional[Splitting]:
        """The settings chosen for the model that made it, for its scale: those for images
        enlarged for the model where the model has them and the image was enlarged (contacts
        between particles blur when an image is enlarged: see :class:`ModelSplittings`)."""
        return self.splittings.for_scale(self.scale) if self.splittings is not None else None

    def describe_model(self) -> str:
        return f"{self.model} ({self.chosen_because})" if self.chosen_because else self.model

    @property
    def at_segmentation_scale(self) -> np.ndarray:
        """The class probabilities at the scale the model saw the image at."""
        return self.probabilities if self.at_model_scale is None else self.at_model_scale

    def framed(self, grey: np.ndarray, margins: Margins) -> "Segmentation":
        """This segmentation of the part of ``grey`` within ``margins``, on ``grey``'s whole grid:
        the margins are background (at the segmentation scale too, their widths scaled), and in
        the grey image the model was given they keep the contrast it was given."""
        rows, cols = margins.inner(grey.shape)
        given = grey[rows, cols] if self.grey is None else self.grey
        whole_grey = grey.copy() if np.array_equal(given, grey[rows, cols]) else 255 - grey
        whole_grey[rows, cols] = given
        at_model_scale = None
        if self.at_model_scale is not None:
            from paddleseg_hru2net.microscopy.resampling import resampled_size
            width, height = resampled_size(grey.shape, self.scale.factor)
            at_model_scale = _padded_as_background(self.at_model_scale, (height, width),
                                                   round(margins.top * self.scale.factor),
                                                   round(margins.left * self.scale.factor))
        return replace(self, probabilities=_padded_as_background(self.probabilities, grey.shape, margins.top,
                                                                 margins.left),
                       at_model_scale=at_model_scale, grey=whole_grey)


def _padded_as_background(probabilities: np.ndarray, shape: Tuple[int, ...], top: int, left: int) -> np.ndarray:
    """Class probabilities ``(K, h, w)`` placed at ``(top, left)`` of a ``(K, *shape)`` map that
    is background (class 0) elsewhere; the offset is moved in where the map would not fit."""
    height, width = shape[:2]
    inner_height, inner_width = min(probabilities.shape[1], height), min(probabilities.shape[2], width)
    top, left = min(top, height - inner_height), min(left, width - inner_width)
    whole = np.zeros((probabilities.shape[0], height, width), probabilities.dtype)
    whole[0] = 1
    whole[:, top:top + inner_height, left:left + inner_width] = probabilities[:, :inner_height, :inner_width]
    return whole


def segment_image(image: SEMImage, segmenter, resample_to_model: bool = True,
                  splittings: Optional[ModelSplittings] = None) -> Segmentation:
    """The image segmented at the model's scale (:mod:`paddleseg_hru2net.analysis.scale`), with
    its contrast inverted first if the model knows bright particles only and these look dark
    (:mod:`paddleseg_hru2net.analysis.contrast`; by the histogram, or by segmenting both ways
    round, as its ``Feed.polarity_from`` says). Where the model refines a grey-value size
    estimate (``Feed.size_from``), its segmentation is measured with ``splittings`` (the
    model's; else the defaults) and made again at the scale it asks for (:func:`_refined`).
    White or black margins (:attr:`SEMImage.margins`) are left out and given back as background."""
    if image.margins.any:
        rows, cols = image.margins.inner(image.grey.shape)
        within = replace(image, grey=np.ascontiguousarray(image.grey[rows, cols]))
        within.annotations = moved(image.annotations, -image.margins.top, -image.margins.left)  # cached, not read again
        return segment_image(within, segmenter, resample_to_model, splittings).framed(image.grey, image.margins)
    feed = segmenter.feed
    if feed.segments_both_ways and image.particles_look is None:
        segmentation, grey = _segmented_the_likelier_way_round(image, segmenter, resample_to_model)
    else:
        grey, contrast = _contrast_for(image, feed)
        segmentation = _segmented(grey, image.pixel_size_nm, segmenter, resample_to_model, contrast)
    return _refined(segmentation, grey, image.pixel_size_nm, segmenter, splittings or ModelSplittings())


def _contrast_for(image: SEMImage, feed) -> Tuple[np.ndarray, str]:
    """``(the grey image the model is given, what the summary says of it)`` where no model
    decides it by segmenting both ways round: a model trained on bright particles only gets
    dark ones inverted, as the user said (``SEMImage.particles_look``) or else as the histogram
    shows."""
    from paddleseg_hru2net.analysis.contrast import particles_look_dark
    if feed.polarity != "bright":
        return image.grey, "as recorded"
    if image.particles_look is not None:
        given = f"{image.particles_look} particles, as given"
        if image.particles_look == "dark":
            return 255 - image.grey, f"inverted for the model ({given})"
        return image.grey, f"as recorded ({given})"
    if particles_look_dark(image.grey):
        return 255 - image.grey, "inverted for the model (dark particles on a bright background detected)"
    return image.grey, "as recorded"


def _segmented(grey: np.ndarray, pixel_size_nm: Optional[float], segmenter, resample_to_model: bool,
               contrast: str, chosen_scale=None) -> Segmentation:
    probabilities, at_model_scale, scale = scaled_probabilities(grey, pixel_size_nm, segmenter,
                                                                resample_to_model, chosen_scale)
    return Segmentation(probabilities, scale, segmenter.feed, at_model_scale, contrast, grey=grey)


def _segmented_the_likelier_way_round(image: SEMImage, segmenter, resample_to_model: bool
                                      ) -> Tuple[Segmentation, np.ndarray]:
    """``(segmentation, the grey image it was made of)``: the image segmented as recorded and
    inverted; the segmentation that scores higher by the model's ``Feed.polarity_from`` measure
    (:data:`~paddleseg_hru2net.analysis.contrast.POLARITY_MEASURES`, taken at the segmentation
    scale). Both are segmented at one scale unless a first pass (which depends on the contrast)
    chose it."""
    from paddleseg_hru2net.analysis.contrast import POLARITY_MEASURES
    measure = POLARITY_MEASURES[segmenter.feed.polarity_from]
    chosen = choose_scale(image.grey, image.pixel_size_nm, segmenter, resample_to_model)
    scale, first_pass = chosen
    recorded = _segmented(image.grey, image.pixel_size_nm, segmenter, resample_to_model, "", chosen)
    inverted = _segmented(255 - image.grey, image.pixel_size_nm, segmenter, resample_to_model, "",
                          None if first_pass is not None else (scale, None))
    score = {name: measure.score(_drawn_as_background(s, image.annotated_pixels))
             for name, s in (("recorded", recorded), ("inverted", inverted))}
    versus = f"{measure.name} {score['recorded']:.3f} as recorded, {score['inverted']:.3f} inverted"
    near_tie = measure.near_tie is not None and abs(score["inverted"] - score["recorded"]) < measure.near_tie
    doubts = (f"which way round is a near tie ({versus}): if the overlay shows the gaps between "
              f"particles as particles, give the contrast (--particles bright or dark)",) if near_tie else ()
    if score["inverted"] > score["recorded"]:
        return replace(inverted, contrast=f"inverted for the model ({measure.reason}: {versus})",
                       doubts=doubts), 255 - image.grey
    return replace(recorded, contrast=f"as recorded ({measure.reason}: {versus})", doubts=doubts), image.grey


def _drawn_as_background(segmentation: Segmentation, drawn: Optional[np.ndarray]) -> np.ndarray:
    """The class probabilities at the segmentation scale with the pixels of annotations drawn
    over the image (``drawn``, a mask on the image's grid, or None) made background. Which way
    round an image is taken is judged by its sample alone: a white label box is a perfectly
    convex "particle" away from the frame's edge, and where the image is dark enough that the
    model finds nothing else as recorded (EMPS val 611b9564a4 under a gamma of 2), the box alone
    outscored the particles of the inverted image - and was then left out as drawn, leaving no
    particles at all."""
    probabilities = segmentation.at_segmentation_scale
    if drawn is None:
        return probabilities
    if segmentation.at_model_scale is not None:
        from paddleseg_hru2net.microscopy.resampling import resample_labels
        drawn = resample_labels(drawn.astype(np.uint8), segmentation.scale.factor) > 0
    background = probabilities.copy()
    background[:, drawn] = 0.0
    background[0, drawn] = 1.0
    return background


#: A segmentation at a refined scale is kept only where it is as plausible as the one it was
#: refined from: its particles' solidity (:func:`~paddleseg_hru2net.analysis.contrast.particle_solidity`)
#: not lower by more than this...
REFINED_SOLIDITY_LOSS = 0.1
#: ...the share of the image they cover (which resampling does not change) within this factor of
#: the first one's (on EMPS val the four refinements these two reject had made the estimate worse:
#: fragments of large particles measured as small ones; no kept one had)...
REFINED_COVERAGE_RATIO = 2.0
#: ...and its particles, measured again, within this factor of the model's size: the refined
#: scale must agree with itself (on EMPS val every kept refinement measured within 1.42 there;
#: small particles shrunk past what the model resolves merge into blobs that ask for shrinking
#: further, and measure far from the model's size where they land).
REFINED_SELF_AGREEMENT = 1.5
#: How many times a grey-value scale is refined, each time from the last segmentation: a
#: model that merges small particles at the native scale splits them better at the scale its
#: first measurement asks for, and measures them smaller there (EMPS val blurred by 2 px:
#: 482193653a, 14 px particles, native -> x1.23 -> x1.36; see ``scale.REFINEMENT_BAND``).
MAX_REFINEMENTS = 3


def _refined(segmentation: Segmentation, grey: np.ndarray, pixel_size_nm: Optional[float], segmenter,
             splittings: ModelSplittings) -> Segmentation:
    """``segmentation``, or where its scale is a refinable grey-value estimate
    (:attr:`~paddleseg_hru2net.analysis.scale.ScaleChoice.refinable`) and the median diameter of
    its particles (split with the model's settings, at the segmentation scale) asks for another
    scale (:func:`~paddleseg_hru2net.analysis.scale.refined_factor`), ``grey`` segmented again
    at that scale, if that segmentation is as plausible (:data:`REFINED_SOLIDITY_LOSS`,
    :data:`REFINED_COVERAGE_RATIO`, :data:`REFINED_SELF_AGREEMENT`); and so on from there, at
    most :data:`MAX_REFINEMENTS` times."""
    if not segmentation.scale.refinable:
        return segmentation
    measured = _median_diameter(segmentation.at_segmentation_scale, splittings.for_scale(segmentation.scale))
    for _ in range(MAX_REFINEMENTS):
        segmentation, measured, moved = _refined_once(segmentation, measured, grey, pixel_size_nm, segmenter,
                                                      splittings)
        if not moved:
            break
    return _climbed(segmentation, grey, pixel_size_nm, segmenter, splittings)


def _climbed(segmentation: Segmentation, grey: np.ndarray, pixel_size_nm: Optional[float], segmenter,
             splittings: ModelSplittings) -> Segmentation:
    """``segmentation`` (at a refined grey-value scale), or ``grey`` segmented again at the
    largest of the scales above it, one :func:`~paddleseg_hru2net.analysis.scale.climbing_factor`
    step at a time, that all along agree with the model (:func:`_step_agrees`), where
    ``segmentation`` is ground to climb from (:func:`_may_climb_from`). The steps are judged on
    the image alone (no flipped copies, no further views); only the scale reached is segmented
    the model's whole way."""
    if not _may_climb_from(segmentation, splittings):
        return segmentation
    probe = replace(segmenter.with_flips(False).with_views((1.0,)), model_seconds=0.0)
    reached = None
    step = climbing_factor(segmentation.scale, grey.shape)
    while step is not None:
        scaled = probe.probabilities(grey if step.factor == 1.0 else resample(grey, step.factor))
        if not _step_agrees(scaled, step, segmentation, splittings, segmenter.feed.particle_diameter_px):
            break
        reached = step
        step = climbing_factor(step, grey.shape, start=segmentation.scale)
    segmenter.model_seconds += probe.model_seconds
    if reached is None:
        return segmentation
    climbed = _segmented(grey, pixel_size_nm, segmenter, True, segmentation.contrast, (reached, None))
    return replace(climbed, doubts=segmentation.doubts)


def _may_climb_from(segmentation: Segmentation, splittings: ModelSplittings) -> bool:
    """Whether ``segmentation`` has :data:`~paddleseg_hru2net.analysis.scale.MIN_PARTICLES_TO_CLIMB`
    particles of 9 px or more (split with the model's settings) and none of the warnings' doubts
    (:func:`~paddleseg_hru2net.analysis.scale.first_pass_doubt`)."""
    probabilities = segmentation.at_segmentation_scale
    labels = splittings.for_scale(segmentation.scale).labels(probabilities)
    return (np.count_nonzero(np.bincount(labels.ravel())[1:] >= 9) >= MIN_PARTICLES_TO_CLIMB
            and first_pass_doubt(particle_maps(probabilities).particle) is None)


def _step_agrees(scaled: np.ndarray, step: ScaleChoice, start: Segmentation, splittings: ModelSplittings,
                 model_px: float) -> bool:
    """Whether the class probabilities ``scaled`` of a climbing ``step`` have particles (split
    with the model's settings) of a median diameter at most
    :data:`~paddleseg_hru2net.analysis.scale.CLIMB_AGREEMENT` times ``model_px``, none of the
    warnings' doubts, and are as plausible as those ``start`` climbed from (:func:`_as_plausible`)."""
    measured = _median_diameter(scaled, splittings.for_scale(step))
    return (measured is not None and measured <= CLIMB_AGREEMENT * model_px
            and first_pass_doubt(particle_maps(scaled).particle) is None
            and _as_plausible(start.at_segmentation_scale, scaled))


def _refined_once(segmentation: Segmentation, measured_px: Optional[float], grey: np.ndarray,
                  pixel_size_nm: Optional[float], segmenter, splittings: ModelSplittings
                  ) -> Tuple[Segmentation, Optional[float], bool]:
    """One step of :func:`_refined` from ``segmentation``, whose particles measure ``measured_px``
    (median diameter at its scale): ``(the segmentation at the scale they ask for, the median
    diameter of its particles, True)``, or ``(segmentation, measured_px, False)`` where they ask
    for none or the one they ask for was less plausible (its scale then says so)."""
    first = segmentation.scale
    at_scale = segmentation.at_segmentation_scale
    model_px = segmenter.feed.particle_diameter_px
    refined = refined_factor(first, measured_px, model_px, grey.shape)
    if refined is None:
        return segmentation, measured_px, False
    second = _segmented(grey, pixel_size_nm, segmenter, True, segmentation.contrast, (refined, None))
    then = second.at_segmentation_scale
    measured = _median_diameter(then, splittings.for_scale(refined))
    agrees = measured is not None and abs(np.log(measured / model_px)) <= np.log(REFINED_SELF_AGREEMENT)
    if agrees and _as_plausible(at_scale, then):
        return replace(second, doubts=segmentation.doubts), measured, True
    return replace(segmentation, scale=replace(first, source=f"{first.source}; not refined: the model's "
                                                             f"segmentation at x{refined.factor:.3g} was "
                                                             f"less plausible")), measured_px, False


def _median_diameter(probabilities: np.ndarray, splitting: Splitting) -> Optional[float]:
    """Median equivalent diameter (px) of the particles of ``probabilities`` split by
    ``splitting``, those of at least 9 pixels in area (None if there are none)."""
    from paddleseg_hru2net.microscopy.particle_diameters import median_equivalent_diameter
    return median_equivalent_diameter(splitting.labels(probabilities), 9)


def _as_plausible(first: np.ndarray, second: np.ndarray) -> bool:
    """Whether the segmentation ``second`` (class probabilities) is as plausible as ``first``
    (:data:`REFINED_SOLIDITY_LOSS`, :data:`REFINED_COVERAGE_RATIO`)."""
    from paddleseg_hru2net.analysis.contrast import particle_solidity
    coverage = [float((particle_maps(p).particle > 0.5).mean()) for p in (first, second)]
    return (particle_solidity(second) >= particle_solidity(first) - REFINED_SOLIDITY_LOSS
            and max(coverage) <= REFINED_COVERAGE_RATIO * max(min(coverage), 1e-6))


def analyze_segmentation(image: SEMImage, segmentation: Segmentation,
                         splitting: Optional[Splitting] = None) -> ImageResult:
    """:func:`analyze_image`, plus the scale used and warnings where the model may be out of
    its depth (:mod:`paddleseg_hru2net.analysis.confidence`). Touching particles are split on
    the finer grid: an image enlarged for the model is split at the model's scale and its labels
    mapped back (:func:`~paddleseg_hru2net.analysis.scale.labels_to_grid`); an image shrunk for
    it is split on its own grid (TiO2 val: closer to the native-scale sizes), unless its scale
    was estimated from its grey values (EMPS val: fewer large particles cut into pieces).
    The splitting settings are ``splitting`` if given, else the segmentation's own for its scale
    (:meth:`Segmentation.own_splitting`), else the defaults of :class:`Splitting`."""
    from paddleseg_hru2net.analysis.confidence import out_of_depth_warnings
    if splitting is None and segmentation.analysed is not None:
        return segmentation.analysed
    splitting = splitting or segmentation.own_splitting() or Splitting()
    scale = segmentation.scale
    if segmentation.at_model_scale is None or (not scale.enlarges and not scale.split_at_model_scale):
        result = analyze_image(image, segmentation.probabilities, splitting)
    else:
        mask = particle_maps(segmentation.probabilities).particle > splitting.threshold
        labels = labels_to_grid(splitting.labels(segmentation.at_model_scale), mask)
        result = _measured(image, mask, splitting.separated(labels))
    to_px = 1.0 / image.pixel_size_nm if image.pixel_size_nm else 1.0
    diameters = [p.equivalent_diameter * to_px for p in result.particles if not p.touches_border]
    result.scale = segmentation.scale.describe()
    result.contrast = segmentation.contrast
    result.model = segmentation.describe_model()
    sample = particle_maps(segmentation.probabilities).particle[image.margins.inner(image.grey.shape)]
    result.warnings = out_of_depth_warnings(sample, len(result.particles), diameters, segmentation.feed,
                                            segmentation.scale.factor) + list(segmentation.doubts)
    return result


def _csv_text(rows: List[dict], fields: List[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_label_tiff(path: str, labels: np.ndarray, pixel_size_nm: Optional[float] = None) -> None:
    """A label image as a 16-bit TIFF (32-bit beyond 65,535 particles), written atomically:
    0 background, one id per particle, the ids of the particle table. ImageJ/Fiji and napari
    open it as a label image. With ``pixel_size_nm`` a 16-bit one carries ImageJ's spatial
    calibration (pixels per nm, unit ``nm``), so Fiji measures its particles in nanometres."""
    import tifffile
    wide = labels.max() > np.iinfo(np.uint16).max
    calibrated = pixel_size_nm and not wide  # ImageJ has no 32-bit integer images
    options = ({"imagej": True, "resolution": (1.0 / pixel_size_nm, 1.0 / pixel_size_nm),
                "metadata": {"unit": "nm"}} if calibrated else {"photometric": "minisblack"})
    with atomic_path(path) as temporary:
        tifffile.imwrite(str(temporary), labels.astype(np.uint32 if wide else np.uint16), **options)


def write_image_results(result: ImageResult, out_dir: str, stem: Optional[str] = None) -> Dict[str, str]:
    """``<stem>_mask.png`` (0/255), ``<stem>_labels.tif``, ``<stem>_overlay.png`` and
    ``<stem>_particles.csv`` (columns named with their units)."""
    stem = stem or os.path.splitext(os.path.basename(result.path))[0]
    paths = {"mask": os.path.join(out_dir, f"{stem}_mask.png"),
             "labels": os.path.join(out_dir, f"{stem}_labels.tif"),
             "overlay": os.path.join(out_dir, f"{stem}_overlay.png"),
             "particles": os.path.join(out_dir, f"{stem}_particles.csv")}
    write_png(paths["mask"], result.mask * 255)
    write_label_tiff(paths["labels"], result.labels, result.image.pixel_size_nm)
    write_png(paths["overlay"], overlay(result.image.grey, result.labels, result.image.annotations,
                                         result.left_out))
    write_text(paths["particles"], _csv_text([p.as_row() for p in result.particles],
                                             particle_columns(result.unit)))
    result.outputs = paths
    return paths


def summary_row(result: ImageResult) -> dict:
    """Per-image summary: counts and diameters of the particles not cut by the border. Sizes are
    given in pixels always and in nanometres where the pixel size is known."""
    whole = [p for p in result.particles if not p.touches_border]
    to_px = 1.0 / result.image.pixel_size_nm if result.image.pixel_size_nm else 1.0
    diameters = np.array([p.equivalent_diameter for p in whole], np.float64)
    row = {
        "image": os.path.basename(result.path),
        "particles": len(result.particles),
        "particles_not_at_border": len(whole),
    }
    for unit, scale in (("px", to_px), ("nm", 1.0 if result.unit == "nm" else None)):
        known = scale is not None and len(diameters) > 0
        row[f"median_equivalent_diameter_{unit}"] = float(np.median(diameters) * scale) if known else ""
        row[f"mean_equivalent_diameter_{unit}"] = float(diameters.mean() * scale) if known else ""
    row.update({
        "particle_area_fraction": float(result.mask.mean()),
        "pixel_size_nm": result.image.pixel_size_nm or "",
        "pixel_size_source": result.image.pixel_size_source,
        "data_bar_rows": result.image.data_bar_rows,
        "scale": result.scale,
        "contrast": result.contrast,
        "model": result.model,
        "notes": "; ".join(result.image.notes + _margin_notes(result.image) + _annotation_notes(result)),
        "warnings": "; ".join(result.warnings),
    })
    return row


def _margin_notes(image: SEMImage) -> List[str]:
    return [image.margins.describe()] if image.margins.any else []


def _annotation_notes(result: ImageResult) -> List[str]:
    kinds = [a.kind for a in result.image.annotations]
    found = [f"{kinds.count(k)} {name}" for k, name in (("box", "label box(es)"), ("bar", "scale bar(s)"),
                                                         ("text", "word(s) of text"))
             if k in kinds]
    if not found and not result.left_out_as_annotations:
        return []
    where = f"{', '.join(found)}; " if found else ""
    return [f"drawn over the image: {where}{result.left_out_as_annotations} particle(s) left out as drawn "
            f"(inside a box, bar or word, or letters and numbers)"]


def plot_size_histogram(records: Sequence[dict], path: str) -> None:
    """Histogram of equivalent diameters of the particles not cut by the border, in one unit:
    nanometres over the images whose pixel size is known (if any), else pixels. Images in the
    other unit are left out and counted in the title; units are never mixed.

    ``records`` are the per-image records of :func:`image_record`.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    unit = "nm" if any(r["unit"] == "nm" for r in records) else "px"
    used = [r for r in records if r["unit"] == unit]
    diameters = [d for r in used for d in r["diameters"]]
    fig, ax = plt.subplots(figsize=(6, 4))
    if diameters:
        ax.hist(diameters, bins=min(40, max(5, len(diameters) // 5)), color="#4a7ebb", edgecolor="white")
        ax.axvline(np.median(diameters), color="black", ls="--", lw=1,
                   label=f"median {np.median(diameters):.1f} {unit}")
        ax.legend()
    ax.set_xlabel(f"equivalent circle diameter ({unit})")
    ax.set_ylabel("particles")
    left_out = len(records) - len(used)
    note = f"; {left_out} image(s) without pixel size left out" if left_out else ""
    ax.set_title(f"{len(diameters)} particles (border-cut ones left out), {len(used)} images{note}",
                 fontsize=9)
    with atomic_path(path) as temporary:
        fig.savefig(temporary, dpi=110, bbox_inches="tight", format="png")
    plt.close(fig)


def image_record(result: ImageResult) -> dict:
    """What the run summary needs of one image: its summary row and the diameters (in its unit)
    of its particles not cut by the border. Saved as ``<stem>_summary.json``, written last, so
    its presence marks the image as done (``--resume``)."""
    return {"row": summary_row(result), "unit": result.unit,
            "diameters": [p.equivalent_diameter for p in result.particles if not p.touches_border]}


def list_sem_images(path: str) -> List[str]:
    """The image, or the images of a folder (not its subfolders), sorted."""
    if os.path.isdir(path):
        found = sorted(os.path.join(path, n) for n in os.listdir(path)
                       if n.lower().endswith(IMAGE_SUFFIXES) and not n.startswith(".")
                       and os.path.isfile(os.path.join(path, n)))
        if not found:
            raise ImageReadError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
        return found
    if not os.path.isfile(path):
        raise ImageReadError(f"{path}: no such file or folder")
    return [path]


def analyze_folder(path: str, out_dir: str, probabilities_of: Callable[[SEMImage], np.ndarray],
                   pixel_size_nm: Optional[float] = None, data_bar_rows: Optional[int] = None,
                   splitting: Optional[Splitting] = None, progress: bool = True,
                   resume: bool = False, settings: Optional[dict] = None,
                   particles_look: Optional[str] = None) -> Dict[str, object]:
    """Analyse one image or every image of a folder into ``out_dir`` (checked beforehand by
    :func:`prepare_output_folder`); returns records, summary rows and failures.

    ``probabilities_of`` maps an :class:`SEMImage` to its class probabilities (or a particle
    probability map, or a 0/1 mask) or a :class:`Segmentation`, which may carry the splitting
    settings of its model; ``splitting``, if given, is used for every image. An image that
    cannot be read, analysed or written is reported in ``failures`` (and ``failures.csv``) and
    skipped; the others go on. ``particles_look`` (``bright``/``dark``) is what the user knows
    of every image's contrast (:class:`SEMImage`). Ctrl-C stops after the current image's files
    are either complete or absent; the summary of the images done is written and
    ``interrupted`` is set: the same call with ``resume`` finishes the rest.
    """
    from tqdm import tqdm

    images = list_sem_images(path)
    stems = output_stems(images)
    settings = dict(settings or {}, pixel_size_nm=pixel_size_nm, data_bar_rows=data_bar_rows)
    if particles_look is not None:
        settings["particles_look"] = particles_look
    if splitting is not None:
        settings[SPLITTING_RECORD_KEYS[0]] = splitting.as_dict()
    if resume:
        check_same_settings(out_dir, settings)
    write_json(os.path.join(out_dir, "run.json"), settings)
    records: Dict[str, dict] = {}
    failures: List[dict] = []
    interrupted = False
    todo = []
    for image_path in images:
        done = done_record(out_dir, stems[image_path]) if resume else None
        if done is not None:
            records[image_path] = done
        else:
            todo.append(image_path)
    if resume and records:
        print(f"resuming: {len(records)} image(s) done earlier, {len(todo)} to go", file=sys.stderr)
    bar = tqdm(todo, desc="analysing", unit="image", disable=not progress)
    try:
        for image_path in bar:
            stem = stems[image_path]
            try:
                image = load_sem_image(image_path, pixel_size_nm, data_bar_rows, particles_look)
                segmented = probabilities_of(image)
                if isinstance(segmented, Segmentation):
                    result = analyze_segmentation(image, segmented, splitting)
                else:
                    result = analyze_image(image, segmented, splitting or Splitting())
                write_image_results(result, out_dir, stem)
                record = image_record(result)
                write_json(os.path.join(out_dir, f"{stem}_summary.json"), record)
                records[image_path] = record
            except (ImageReadError, ValueError) as error:
                failures.append({"image": image_path, "error": str(error)})
                tqdm.write(f"skipped {image_path}: {error}")
            except OSError as error:
                failures.append({"image": image_path,
                                 "error": f"cannot write its results to {out_dir}: {error.strerror or error}"})
                tqdm.write(f"failed {image_path}: cannot write its results ({error.strerror or error})")
    except KeyboardInterrupt:
        interrupted = True
        bar.close()
    ordered = [records[p] for p in images if p in records]
    rows = [r["row"] for r in ordered]
    _write_run_files(out_dir, ordered, rows, failures)
    return {"records": ordered, "summary": rows, "failures": failures, "interrupted": interrupted,
            "images": len(images)}


def _write_run_files(out_dir: str, records: List[dict], rows: List[dict], failures: List[dict]) -> None:
    """``summary.csv``, ``size_histogram.png`` and ``failures.csv`` (removed when nothing failed)."""
    if rows:
        columns = list(dict.fromkeys(k for row in rows for k in row))
        write_text(os.path.join(out_dir, "summary.csv"), _csv_text(rows, columns))
        plot_size_histogram(records, os.path.join(out_dir, "size_histogram.png"))
    failures_path = os.path.join(out_dir, "failures.csv")
    if failures:
        write_text(failures_path, _csv_text(failures, ["image", "error"]))
    elif os.path.isfile(failures_path):
        os.remove(failures_path)


def stored_splittings(source) -> "ModelSplittings":
    """The splitting settings stored with a model (:class:`ModelSplittings`), read from its run
    record once; the defaults of :class:`Splitting` where it has none."""
    from paddleseg_hru2net.run_records import read_run_record
    return ModelSplittings.from_record(read_run_record(source.weights) if source.weights else {})
