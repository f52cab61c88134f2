"""The microscope's data bar (text, scale bar) at the bottom of an image: where it starts."""
from __future__ import annotations

from typing import Optional

import numpy as np

__all__ = ["detect_data_bar", "sample_rows", "DataBarError"]

MIN_BAR_ROWS = 8
BAR_UNIFORMITY = 0.5
BAR_SEARCH_FRACTION = 0.5
#: Grey levels (of 255) a bar's background may vary by (JPEG, a dithered export).
BAR_TOLERANCE = 3
#: A bar's top edge: across at least this share of the columns, the two rows above it and the
#: two below differ by more than :data:`EDGE_LEVELS` grey levels (column means of each pair).
EDGE_SHARE = 0.5
EDGE_LEVELS = 12
#: An image with this share of its pixels in one tone is blank.
BLANK_SHARE = 0.99


def _most_common(pixels: np.ndarray) -> float:
    """The most common value of ``pixels``."""
    values, counts = np.unique(pixels, return_counts=True)
    return float(values[np.argmax(counts)])


def _share_of_tone(pixels: np.ndarray, tone: float) -> float:
    """The share of ``pixels`` within :data:`BAR_TOLERANCE` of ``tone``."""
    return float(np.mean(np.abs(pixels.astype(np.float64) - tone) <= BAR_TOLERANCE)) if pixels.size else 0.0


def _edge_shares(image: np.ndarray) -> np.ndarray:
    """For each row ``b`` (2 to rows - 2), the share of the columns where the mean of rows
    ``b-2, b-1`` and that of rows ``b, b+1`` differ by more than :data:`EDGE_LEVELS`; 0 at the
    first two and last two rows."""
    pairs = (image[:-1].astype(np.float32) + image[1:]) / 2  # pairs[i]: rows i and i + 1
    shares = np.zeros(image.shape[0])
    shares[2:-1] = np.mean(np.abs(pairs[2:] - pairs[:-2]) > EDGE_LEVELS, axis=1)
    return shares


def detect_data_bar(image: np.ndarray, min_rows: int = MIN_BAR_ROWS,
                    uniformity: float = BAR_UNIFORMITY,
                    search_fraction: float = BAR_SEARCH_FRACTION) -> int:
    """Number of rows, counted from the bottom, taken by the microscope's data bar (0 if none).

    A data bar is a band across the bottom of the image in one background tone (black on Zeiss,
    Hitachi, JEOL and FEI SEMs, white on some; within :data:`BAR_TOLERANCE` grey levels) with
    text and a scale bar drawn on it, cut off from the sample above by a straight edge. Its top
    is the first row within the bottom ``search_fraction`` of the image that lies on such an edge
    (the rows change across :data:`EDGE_SHARE` of the width, by :data:`EDGE_LEVELS`; the edge may
    be blurred over two rows), holds the band's tone over at least ``uniformity`` of its width
    where the row above does not, and below which the ``min_rows`` rows and the band down to the
    bottom hold that tone on average (text rows hold less). Everything below it is cut (on the
    TiO2 release the last two rows below the bar are not sample either).

    Rows of one tone alone are no bar: a flat background (a figure's grey or black, a clipped
    substrate) with few particles near the bottom gives them too, without an edge across the
    width above them. Taken for a bar (as before the twenty-sixth session), they were cut with
    their particles (EMPS: 3 of 366 images, 43,757 annotated particle pixels; one image with a
    black bar under a black background refused as blank), and a bar under a flat sample was cut
    with up to 93 rows of it. A bar in the tone of the sample's background, without an edge, is
    not found: pass ``--data-bar-rows``.

    Raises:
        DataBarError: the image is nearly one value (blank or saturated: nothing to analyse).
    """
    if image.ndim == 3:
        image = image.mean(axis=2).astype(image.dtype)
    rows = image.shape[0]
    if rows < 2 * min_rows:
        return 0
    if _share_of_tone(image, _most_common(image)) >= BLANK_SHARE:
        raise DataBarError("the image is nearly one value (blank or saturated): nothing to analyse")
    edges = _edge_shares(image)
    for top in range(max(3, int(rows * (1.0 - search_fraction))), rows - min_rows + 1):
        if max(edges[top - 1], edges[top]) < EDGE_SHARE:  # an edge blurred over two rows too
            continue
        band = image[top:top + min_rows]
        tone = _most_common(band)
        if (_share_of_tone(image[top], tone) >= uniformity > _share_of_tone(image[top - 1], tone)
                and _share_of_tone(band, tone) >= uniformity and _share_of_tone(image[top:], tone) >= uniformity):
            return rows - top
    return 0


class DataBarError(ValueError):
    """The data bar cannot be told from the sample."""


def sample_rows(image: np.ndarray, data_bar_rows: Optional[int] = None) -> int:
    """Number of rows above the data bar (``data_bar_rows`` overrides detection)."""
    bar = detect_data_bar(image) if data_bar_rows is None else int(data_bar_rows)
    if not 0 <= bar < image.shape[0]:
        raise ValueError(f"data bar of {bar} rows does not fit an image of {image.shape[0]} rows")
    return image.shape[0] - bar
