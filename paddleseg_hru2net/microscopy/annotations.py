"""Annotations burnt into a micrograph: label boxes, scale bars and text drawn over the image.

Figures of papers and images exported with their scale bar carry marks that are not sample: a
white box holding a panel label ("(a)") or a scale bar and its length ("2 µm"), a black or
white scale bar drawn straight onto the image. A model of bright particles takes a white box
for a particle; one of dark particles (or a bright-only model given the image inverted) a
black bar. What sets them apart from any particle is that they are drawn: regions of one grey
value (within a few levels, to survive JPEG) whose outline is an axis-parallel rectangle.

* a **box**: such a region, holes filled, at least 8 px a side, with holes (its text) covering
  2-80 % of it;
* a **bar**: such a region without holes, at least 20 px long and 5 times as long as thick, of
  any grey (a coloured bar turns mid-grey; seventeenth session: black and white only before,
  which missed 11 bars in 7 of the EMPS training images - coloured bars, JPEG'd black ones,
  pieces of data bars - none of them over an annotated particle).

Neither may cover more than a tenth of the image (a flat background with particles as holes
is not a box). On the 366 EMPS training images (figures of papers) 177 are found (47 boxes,
130 bars) in 126 images; 175 lie on background in the manual annotation, the other two are
scale bars drawn over a particle. None is found on the 32 TiO2 SEM images (data bar cut) or on
synthetic ones.

Letters and numbers drawn without a box (a panel's "d", a bar's "500 nm") and the pieces of
marks too small or too irregular to be told by their outline are found through the particles a
model makes of them (:func:`drawn_particles`): a particle of at most a hundredth of the image,
at least 60 % of whose pixels are flat and nearly black or white, in strokes (the widest place
of those pixels at most half the particle's equivalent radius). Micrographs have noise, drawn
marks none; the strokes keep out saturated particles (a highlight is flat and white too, but a
compact one). Of the shipped generalist's 1,330 particles on the 37 EMPS val images (boxes and
bars left out), 8 are flat and saturated enough, 5 of them strokes (none over an annotated
particle), 3 specks of 2-26 px not.
Of the 8,927 annotated particles of the EMPS training images one passes (a saturated black gold
nanorod of a TEM image, 0.3 % of its image); on the 26 TiO2 training and val images none of the
specialist's 4,129 particles (a saturated one of 2,000 px is flat and white but compact), and
one of the annotators' 4,717.

Text that is not flat (a JPEG'd label, grey lettering) is read instead (:func:`find_text`, the
eighteenth session): Tesseract reads the whole image as sparse text, and three kinds of word it
reads are text: a scale bar label (a number and a length unit, "200 nm"), a panel label ("(a)")
read with confidence 80 or more, and any word of at least 3 letters and digits read with
confidence 90 or more. Single letters are not enough: Tesseract reads round particles as "o",
"e", "Q" or "6" with confidence up to 95 (and at confidence 85, "WAS" over 13 particles). On
the 366 EMPS training images (``tools/experiments/text_words.py``) 234 words are so taken in
139 images (0.78 s an image, the median; 16.6 s the slowest, a texture Tesseract searches
long); 4 of the 8,927 annotated particles lie at least half under one, all beside real text
(a dot by a "0.5 µm", a particle under the edge of a "200 nm" box, two at a data bar's
"WD = 2.9 mm"). None are taken on the 26 TiO2 training and val images or on 80 synthetic
ones. Tesseract's layout analysis reads a label on background, as figures put it, far more
surely than one among particles, so this finds some of the text, not all of it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import List, Optional, Sequence

import numpy as np
from scipy import ndimage as ndi

__all__ = ["Annotation", "flat_pixels", "find_annotations", "find_text", "moved", "annotation_mask",
           "labels_mostly_inside", "drawn_particles"]

#: Grey levels a drawn region may vary by within a 3 x 3 neighbourhood.
FLAT_RANGE = 3
RECTANGULAR = 0.97
MAX_IMAGE_SHARE = 0.1
_MIN_LONG_SIDE = 12
_BOX_MIN_SIDE = 8
_BOX_TEXT_SHARE = (0.02, 0.8)
_BAR_MIN_LENGTH = 20
_BAR_ELONGATION = 5
_BAR_THICKNESS = (2, 20)
#: Grey levels that count as nearly black or white (saturated) for drawn marks.
_SATURATED = (8, 247)
#: A particle with at least this share of flat, nearly black or white pixels ...
DRAWN_PARTICLE_SHARE = 0.6
#: ... covering at most this share of the image ...
DRAWN_PARTICLE_MAX_IMAGE_SHARE = 0.01
#: ... whose flat, saturated pixels are strokes (the widest place of them at most this share of
#: the particle's equivalent radius) is a drawn mark, not sample.
DRAWN_STROKE_SHARE = 0.5
#: Pixels added around each annotation: the drawn edge and its anti-aliasing are not flat.
MARGIN = 2
#: Words OCR reads in an image that are text (:func:`find_text`): any of at least this many
#: letters and digits read with at least this confidence ...
TEXT_MIN_CHARACTERS = 3
TEXT_MIN_CONFIDENCE = 90.0
#: ... and panel labels, a letter or roman numeral in brackets ("(a)", "(iv)"), read with at
#: least this confidence; scale bar labels ("200 nm") at any.
PANEL_LABEL_MIN_CONFIDENCE = 80.0
#: Tesseract's reading of "µm" in figures' scale bar labels (3 times on the EMPS training images,
#: "0.5 pm"): text, though no length.
LENGTH_UNITS_AS_READ = ("pm",)
_PANEL_LABEL = re.compile(r"^\(([A-Za-z]|[ivx]+)\)[.,]?$")
_LETTER_OR_DIGIT = re.compile(r"[A-Za-z0-9]")
#: Images are read by OCR reduced to at most this many pixels along their longer side.
_OCR_LONGEST_SIDE = 2048


@dataclass(frozen=True)
class Annotation:
    """A burnt-in annotation: ``kind`` ``box``, ``bar`` or ``text``, its bounding box in pixels."""
    kind: str
    top: int
    left: int
    height: int
    width: int


def flat_pixels(grey: np.ndarray) -> np.ndarray:
    """Pixels whose 3 x 3 neighbourhood varies by at most :data:`FLAT_RANGE` grey levels: what
    both tests of this module start from (compute it once per image and pass it on)."""
    spread = ndi.maximum_filter(grey, 3).astype(np.int16) - ndi.minimum_filter(grey, 3)
    return spread <= FLAT_RANGE


def _kind(region: np.ndarray) -> str:
    """``box``, ``bar`` or ``""`` for one flat region cut to its bounding box."""
    height, width = region.shape
    if max(height, width) < _MIN_LONG_SIDE:
        return ""
    filled = ndi.binary_fill_holes(region)
    if filled.sum() < RECTANGULAR * height * width:
        return ""
    text_share = 1.0 - region.sum() / filled.sum()
    if min(height, width) >= _BOX_MIN_SIDE and _BOX_TEXT_SHARE[0] <= text_share <= _BOX_TEXT_SHARE[1]:
        return "box"
    long_side, thickness = max(height, width), min(height, width)
    if (text_share < _BOX_TEXT_SHARE[0] and long_side >= _BAR_MIN_LENGTH
            and long_side >= _BAR_ELONGATION * thickness
            and _BAR_THICKNESS[0] <= thickness <= _BAR_THICKNESS[1]):
        return "bar"
    return ""


def find_annotations(grey: np.ndarray, flat: Optional[np.ndarray] = None) -> List[Annotation]:
    """The label boxes and scale bars drawn over ``grey`` (module docstring), top to bottom;
    ``flat``: its :func:`flat_pixels`, if already computed."""
    labels, count = ndi.label(flat_pixels(grey) if flat is None else flat)
    if count == 0:
        return []
    sizes = np.bincount(labels.ravel())
    largest = MAX_IMAGE_SHARE * grey.size
    found = []
    for index, window in enumerate(ndi.find_objects(labels), start=1):
        if window is None or sizes[index] < _MIN_LONG_SIDE * 2:
            continue
        height, width = window[0].stop - window[0].start, window[1].stop - window[1].start
        if height * width > largest:
            continue
        region = labels[window] == index
        kind = _kind(region)
        if kind:
            found.append(Annotation(kind, window[0].start, window[1].start, height, width))
    return found


def find_text(grey: np.ndarray) -> List[Annotation]:
    """Words printed over ``grey`` (module docstring), as ``text`` annotations: of the words OCR
    reads (:func:`~paddleseg_hru2net.microscopy.ocr.ocr_words`), scale bar labels (also where
    the unit is misread: :data:`LENGTH_UNITS_AS_READ`), panel labels and longer words read with
    high confidence. Empty without Tesseract."""
    from paddleseg_hru2net.microscopy.ocr import ocr_words
    from paddleseg_hru2net.microscopy.scale_bar import LENGTH_UNITS, printed_lengths
    step = -(-max(grey.shape) // _OCR_LONGEST_SIDE)
    words = ocr_words(grey[::step, ::step])
    text = [box for _, _, box in printed_lengths(words, LENGTH_UNITS + LENGTH_UNITS_AS_READ)]
    for word in words:
        if _is_text(word.text, word.confidence) and not any(_within(word, box) for box in text):
            text.append(word)
    return [Annotation("text", word.top * step, word.left * step, word.height * step, word.width * step)
            for word in text]


def _is_text(word: str, confidence: float) -> bool:
    """Whether an OCR'd word is surely text, not a particle read as a letter ("o", "e", "Q" are
    read over round particles with confidence up to 95)."""
    if _PANEL_LABEL.match(word):
        return confidence >= PANEL_LABEL_MIN_CONFIDENCE
    characters = len(_LETTER_OR_DIGIT.findall(word))
    return characters >= TEXT_MIN_CHARACTERS and confidence >= TEXT_MIN_CONFIDENCE


def _within(inner, outer) -> bool:
    return (outer.left <= inner.left and inner.left + inner.width <= outer.left + outer.width
            and outer.top <= inner.top and inner.top + inner.height <= outer.top + outer.height)


def moved(annotations: Sequence[Annotation], down: int, right: int) -> List[Annotation]:
    """``annotations`` on the grid of an image ``down`` rows lower and ``right`` columns further
    right (negative: back): those found on a part of an image, placed on the whole."""
    return [replace(a, top=a.top + down, left=a.left + right) for a in annotations]


def annotation_mask(grey: np.ndarray, annotations: List[Annotation]) -> np.ndarray:
    """True over the annotations' bounding boxes, widened by :data:`MARGIN` pixels."""
    mask = np.zeros(grey.shape, dtype=bool)
    for a in annotations:
        mask[max(0, a.top - MARGIN):a.top + a.height + MARGIN,
             max(0, a.left - MARGIN):a.left + a.width + MARGIN] = True
    return mask


def labels_mostly_inside(labels: np.ndarray, region: np.ndarray) -> np.ndarray:
    """The ids of the particles of ``labels`` with at least half of their pixels in ``region``
    (e.g. an :func:`annotation_mask`): what counts as drawn over."""
    count = int(labels.max()) + 1
    inside = np.bincount(labels[region], minlength=count)
    area = np.bincount(labels.ravel(), minlength=count)
    ids = np.flatnonzero((area > 0) & (inside * 2 >= area))
    return ids[ids > 0]


def drawn_particles(grey: np.ndarray, labels: np.ndarray, flat: Optional[np.ndarray] = None,
                    stroke_share: float = DRAWN_STROKE_SHARE) -> np.ndarray:
    """The ids of the particles of ``labels`` that are drawn marks, not sample (module
    docstring: :data:`DRAWN_PARTICLE_SHARE`, :data:`DRAWN_PARTICLE_MAX_IMAGE_SHARE`,
    :data:`DRAWN_STROKE_SHARE`; ``stroke_share`` infinite takes compact ones too); ``flat``:
    the :func:`flat_pixels` of ``grey``, if already computed."""
    drawn = (flat_pixels(grey) if flat is None else flat) & ((grey <= _SATURATED[0]) | (grey >= _SATURATED[1]))
    count = int(labels.max()) + 1
    area = np.bincount(labels.ravel(), minlength=count)
    drawn_area = np.bincount(labels.ravel(), weights=drawn.ravel(), minlength=count)
    small = area <= DRAWN_PARTICLE_MAX_IMAGE_SHARE * grey.size
    candidates = np.flatnonzero((area > 0) & small & (drawn_area >= DRAWN_PARTICLE_SHARE * area))
    windows = ndi.find_objects(labels)
    return np.array([i for i in candidates if i > 0 and _in_strokes(
        drawn[windows[i - 1]] & (labels[windows[i - 1]] == i), area[i], stroke_share)], dtype=np.int64)


def _in_strokes(drawn: np.ndarray, area: int, stroke_share: float) -> bool:
    """Whether a particle's flat, saturated pixels ``drawn`` are strokes: their widest place at
    most ``stroke_share`` of the particle's equivalent radius."""
    widest = float(ndi.distance_transform_edt(np.pad(drawn, 1)).max())
    return widest <= stroke_share * np.sqrt(area / np.pi)
