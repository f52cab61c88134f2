"""The pixel size from the scale bar printed in an image's data bar, where no metadata gives it.

Most microscopes print a data bar under the image with a scale bar: a line (often with end
ticks) and its length as text, "200 nm" or "1 µm". Reading it takes two steps:

1. **the label**, by Tesseract OCR (:mod:`~paddleseg_hru2net.microscopy.ocr`): words are read
   from the data bar enlarged 3x, and a round number (one significant digit, or 15 or 25: "200",
   "0.5", "25") followed by ``nm`` or ``µm``/``um`` is a candidate label. Data bars print other
   lengths too, which are not the scale bar's: the working distance in mm on nearly every SEM
   ("WD = 7.5mm", Hitachi's "10.0kV 8.4mm x100k"), the horizontal field width ("HFW 5.97 µm");
   taken for the label, the working distance gave pixel sizes of 0.02-0.9 mm on EMPS images.
   So no label in mm is read, nor numbers a microscope measures rather than rounds ("8.9",
   Zeiss's "Width = 7.520 µm"); a round one printed with fractional zeros ("10.0 µm", FEI's
   field width, but also Hitachi's ruler labels "10.0um") only over a ruler of ticks;
2. **the bar**: near each label (the rows under and over it, a few label widths to either side)
   a ruler of evenly spaced ticks without a line (Hitachi's: the label gives its whole length,
   first tick to last), else the longest horizontal run of pixels that differ strongly from
   the data bar's background.

A scale bar drawn over the image instead (a figure's, a TEM camera's burnt-in one:
:func:`read_drawn_scale_bar`) is one of the bars or label boxes that
:mod:`~paddleseg_hru2net.microscopy.annotations` finds: a box is read as a data bar, a bar's
label is the nearest one read around it.

Pixel size = label length / bar length in pixels, the bar measured between the centres of
its end ticks where it has them. A bar shorter than 8 px, a label without a bar, or no
Tesseract give None, and the caller falls back to pixels. On the 32 TiO2 images (200 nm over
27 px) the scale bar gives 7.41 nm against the metadata's 7.34 (+0.9 %); metadata, where
present, wins. A misread label (Tesseract may read "1 µm" as "14m", "50 nm" as "50 mm") matches
no unit or is not taken and leaves the size unknown rather than wrong.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, List, Optional, Sequence, Tuple

import numpy as np

from paddleseg_hru2net.microscopy.ocr import Word, ocr_words, tesseract_available
from paddleseg_hru2net.microscopy.pixel_size import length_in_nm

if TYPE_CHECKING:
    from paddleseg_hru2net.microscopy.annotations import Annotation

__all__ = ["ScaleBar", "ScaleBarLabel", "LENGTH_UNITS", "SCALE_BAR_UNITS", "printed_lengths",
           "is_round_length", "has_printed_precision", "scale_bar_labels", "bar_length_px", "read_scale_bar",
           "read_drawn_scale_bar"]

_ENLARGE = 3
#: How the data bar is read by OCR, in turn until a scale bar is found: (enlargement, smooth).
_READINGS = ((_ENLARGE, False), (4, True))
_MIN_BAR_PX = 8
_INK_CONTRAST = 60
#: A ruler: at least this many ticks, each at most this wide, each step within this share of
#: the first one; a chain of ticks steps over up to this many runs (specks) to its second.
_MIN_RULER_TICKS = 6
_MAX_TICK_WIDTH = 4
_RULER_SLACK = 0.08
_RULER_STEP_OVER = 3
_NUMBER = re.compile(r"^(\d+(?:[.,]\d+)?)$")
#: The length units printed in a data bar.
LENGTH_UNITS = ("nm", "µm", "μm", "um", "mm")
#: The units of a scale bar's label: the lengths of an electron micrograph's field. A length in
#: mm in a data bar is the working distance.
SCALE_BAR_UNITS = ("nm", "µm", "μm", "um")
#: The significant digits of a scale bar's length (after leading and trailing zeros): 1-9 as in
#: 200 nm or 0.5 µm, and 15 and 25 as in 25 nm or 1.5 µm.
_ROUND_DIGITS = tuple(str(digit) for digit in range(1, 10)) + ("15", "25")


@dataclass(frozen=True)
class ScaleBarLabel:
    """A scale bar's label as read: its text, the length it gives, its box, and whether it is
    taken only over a ruler of ticks (printed with fractional zeros)."""

    text: str
    length_nm: float
    box: Word
    ruler_only: bool = False


@dataclass(frozen=True)
class ScaleBar:
    """A scale bar: its label and length."""

    label: str
    length_nm: float
    length_px: float

    @property
    def pixel_size_nm(self) -> float:
        return self.length_nm / self.length_px


def _unit_length_nm(number: str, unit: str) -> Optional[float]:
    return length_in_nm(float(number.replace(",", ".")), unit)


def printed_lengths(words: List[Word], units: Sequence[str] = LENGTH_UNITS) -> List[Tuple[str, str, Word]]:
    """``(number, unit, box)`` for every "<number> <unit>" among ``words``: one token, or a
    number followed by a unit on the same line (the box then covers both, with the lower of
    their confidences); ``units`` are the unit spellings taken."""
    unit_pattern = "|".join(re.escape(unit) for unit in units)
    joined_pattern = re.compile(rf"^(\d+(?:[.,]\d+)?)({unit_pattern})$")
    lengths = []
    for index, word in enumerate(words):
        joined = joined_pattern.match(word.text)
        if joined:
            lengths.append((joined.group(1), joined.group(2), word))
            continue
        if _NUMBER.match(word.text) and index + 1 < len(words):
            unit = words[index + 1]
            same_line = abs(unit.top + unit.height / 2 - word.top - word.height / 2) < max(word.height, 4)
            near = 0 <= unit.left - (word.left + word.width) < 3 * max(word.height, 4)
            if unit.text in units and same_line and near:
                box = Word(f"{word.text} {unit.text}", word.left, min(word.top, unit.top),
                           unit.left + unit.width - word.left, max(word.height, unit.height),
                           min(word.confidence, unit.confidence))
                lengths.append((word.text, unit.text, box))
    return lengths


def is_round_length(number: str) -> bool:
    """Whether ``number`` as printed is a length a scale bar is drawn for ("200", "0.5", "25",
    "1.5", "10.0"), not one a microscope measured ("7.5", "8.9", "168", "7.520")."""
    digits = number.replace(",", ".").replace(".", "").strip("0")
    return digits in _ROUND_DIGITS


def has_printed_precision(number: str) -> bool:
    """Whether ``number`` prints fractional zeros ("10.0", "1.00"): a measured length's
    precision (FEI's field width "10.0 µm") - or Hitachi's ruler labels ("10.0um")."""
    number = number.replace(",", ".")
    return "." in number and number.endswith("0")


def scale_bar_labels(words: List[Word]) -> List[ScaleBarLabel]:
    """Every "<round number> <nm or µm>" among ``words`` (:func:`printed_lengths`,
    :func:`is_round_length`), ruler only where the number prints fractional zeros
    (:func:`has_printed_precision`), as Hitachi's ruler labels do."""
    labels = []
    for number, unit, box in printed_lengths(words, SCALE_BAR_UNITS):
        length = _unit_length_nm(number, unit)
        if length and is_round_length(number):
            labels.append(ScaleBarLabel(box.text, length, box, has_printed_precision(number)))
    return labels


def _runs(row: np.ndarray) -> List[tuple]:
    """``(start, stop)`` of every run of True in a 1-D boolean array."""
    padded = np.concatenate([[False], row, [False]]).astype(np.int8)
    changes = np.flatnonzero(np.diff(padded))
    return list(zip(changes[::2], changes[1::2]))


def _end_ticks_span(ink: np.ndarray, row: int, start: int, stop: int) -> Optional[float]:
    """Distance between the centres of the end ticks of the line ``ink[row, start:stop]``, read
    on a row above or below it where only the two ticks are ink; None if it has no ticks."""
    for offset in (2, -2, 3, -3, 4, -4):
        other = row + offset
        if not 0 <= other < ink.shape[0]:
            continue
        runs = _runs(ink[other, start:stop])
        if len(runs) == 2 and runs[0][0] == 0 and runs[1][1] == stop - start:
            return (runs[1][0] + runs[1][1]) / 2 - (runs[0][0] + runs[0][1]) / 2
    return None


def _evenly_spaced_chain(centres: np.ndarray, first: float, second: float) -> List[float]:
    """The tick centres from ``first`` on at the step ``second - first`` (each step within
    :data:`_RULER_SLACK` of it), as far as such a tick is found."""
    step, chain = second - first, [first, second]
    while True:
        expected = chain[-1] + step
        nearest = centres[np.argmin(np.abs(centres - expected))]
        if abs(nearest - expected) > _RULER_SLACK * step:
            return chain
        chain.append(float(nearest))


def _ruler_span(row: np.ndarray, reach: Tuple[int, int]) -> float:
    """The span (between first and last centre) of the longest ruler in one row of ink
    (``row``, boolean) that comes within ``reach``: a chain of at least
    :data:`_MIN_RULER_TICKS` narrow ticks, evenly spaced, with at most one speck between two
    ticks in every other interval (text has strokes in all); 0 if there is none."""
    runs = _runs(row)
    all_centres = np.array([(start + stop - 1) / 2 for start, stop in runs])
    centres = np.array([(start + stop - 1) / 2 for start, stop in runs if stop - start <= _MAX_TICK_WIDTH])
    best = 0.0
    for index, first in enumerate(centres):
        for second in centres[index + 1:index + 1 + _RULER_STEP_OVER]:
            if second - first < 2 * _MAX_TICK_WIDTH:
                continue
            chain = _evenly_spaced_chain(centres, float(first), float(second))
            span = chain[-1] - chain[0]
            if len(chain) < _MIN_RULER_TICKS or span <= best or chain[0] > reach[1] or chain[-1] < reach[0]:
                continue
            specks = np.count_nonzero((all_centres > chain[0]) & (all_centres < chain[-1])) - (len(chain) - 2)
            if specks <= (len(chain) - 1) // 2:
                best = span
    return float(best)


def bar_length_px(bar: np.ndarray, label: Word, ruler_only: bool = False) -> Optional[float]:
    """Length of the scale bar near ``label`` in the data bar ``bar``, from the rows above and
    under the label's own: a ruler - a row of at least 6 narrow, evenly spaced ticks (Hitachi's,
    the label giving its whole length) - between its first and last tick; else the longest
    horizontal line of "ink" (unless ``ruler_only``), measured between the centres of its end
    ticks (or of its end pixels); None if shorter than 8 px."""
    reach = 3 * max(label.width, 10)
    left, right = max(0, label.left - reach), min(bar.shape[1], label.left + label.width + reach)
    # the background around the label: a data bar may be found with rows of the image's grey
    background = np.median(bar[label.top:label.top + label.height, left:right])
    ink = np.abs(bar.astype(np.int16) - background) > _INK_CONTRAST
    rows = [row for row in range(max(0, label.top - 3 * label.height), min(bar.shape[0], label.top + 4 * label.height))
            if not label.top <= row < label.top + label.height]
    ruler = max((_ruler_span(ink[row], (left, right)) for row in rows), default=0.0)
    if ruler >= _MIN_BAR_PX:
        return float(ruler)
    if ruler_only:
        return None
    best = (0, 0, 0)  # (length, row, start)
    for row in rows:
        for start, stop in _runs(ink[row, left:right]):
            best = max(best, (stop - start, row, left + start))
    length, row, start = best
    if length < _MIN_BAR_PX:
        return None
    ticks = _end_ticks_span(ink, row, start, start + length)
    return float(ticks if ticks is not None else length - 1)


def read_scale_bar(data_bar: np.ndarray) -> Optional[ScaleBar]:
    """The scale bar of a data bar (the rows under the image), or None. The data bar is read
    enlarged by repeating pixels and, where that finds no scale bar, enlarged smoothly (which
    reads Hitachi's "10.0um" where the first reads "0.0um", and loses Zeiss's "200 nm" at 3x)."""
    if data_bar.size == 0 or not tesseract_available():
        return None
    for enlarge, smooth in _READINGS:
        for label in scale_bar_labels(ocr_words(data_bar, enlarge, smooth)):
            length_px = bar_length_px(data_bar, label.box, label.ruler_only)
            if length_px:
                return ScaleBar(label.text, label.length_nm, length_px)
    return None


#: Around a bar drawn over the image, its label is read within half the bar's length (at least
#: this many pixels) to either side, above and under it.
_DRAWN_LABEL_REACH = 30
#: A drawn bar's flat part (:func:`~paddleseg_hru2net.microscopy.annotations.flat_pixels`) stops
#: a pixel short of either end; its tone is followed along its middle row at most this far.
_DRAWN_END_SLACK = 2


def read_drawn_scale_bar(grey: np.ndarray, annotations: Sequence["Annotation"]) -> Optional[ScaleBar]:
    """The scale bar drawn over an image rather than printed in a data bar, or None: of the
    ``annotations`` (:func:`~paddleseg_hru2net.microscopy.annotations.find_annotations`), the
    first label box that reads as a data bar (:func:`read_scale_bar`), or horizontal bar with a
    scale bar label read around it (the nearest; not one printed with fractional zeros)."""
    if not tesseract_available():
        return None
    for annotation in annotations:
        if annotation.kind == "box":
            found = read_scale_bar(grey[annotation.top:annotation.top + annotation.height,
                                        annotation.left:annotation.left + annotation.width])
        elif annotation.kind == "bar" and annotation.width > annotation.height:
            found = _labelled_bar(grey, annotation)
        else:
            continue
        if found is not None:
            return found
    return None


def _labelled_bar(grey: np.ndarray, bar: "Annotation") -> Optional[ScaleBar]:
    """``bar`` (a horizontal drawn bar) with the scale bar label nearest to it, read around it."""
    reach = max(bar.width // 2, _DRAWN_LABEL_REACH)
    top, left = max(0, bar.top - reach), max(0, bar.left - reach)
    region = grey[top:bar.top + bar.height + reach, left:bar.left + bar.width + reach]
    centre_row, centre_col = bar.top - top + bar.height / 2, bar.left - left + bar.width / 2
    for enlarge, smooth in _READINGS:
        labels = [label for label in scale_bar_labels(ocr_words(region, enlarge, smooth)) if not label.ruler_only]
        if labels:
            nearest = min(labels, key=lambda label: np.hypot(label.box.top + label.box.height / 2 - centre_row,
                                                            label.box.left + label.box.width / 2 - centre_col))
            return ScaleBar(nearest.text, nearest.length_nm, _drawn_length_px(grey, bar))
    return None


def _drawn_length_px(grey: np.ndarray, bar: "Annotation") -> float:
    """The length of a horizontal drawn ``bar`` between the centres of its end pixels: its tone
    followed along its middle row past its flat part, at most :data:`_DRAWN_END_SLACK` pixels."""
    row = grey[bar.top + bar.height // 2].astype(np.int16)
    tone = np.median(row[bar.left:bar.left + bar.width])
    near = np.abs(row - tone) <= _INK_CONTRAST // 2
    start, stop = bar.left, bar.left + bar.width
    for _ in range(_DRAWN_END_SLACK):
        start -= int(start > 0 and near[start - 1])
        stop += int(stop < row.size and near[stop])
    return float(stop - start - 1)
