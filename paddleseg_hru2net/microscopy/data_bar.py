"""The microscope's data bar (text, scale bar) at the bottom of an image: where it starts."""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

__all__ = ["detect_data_bar", "sample_rows", "DataBarError"]

MIN_BAR_ROWS = 8
BAR_UNIFORMITY = 0.5
BAR_SEARCH_FRACTION = 0.3


def _row_uniformity(image: np.ndarray) -> np.ndarray:
    """For each row, the fraction of its pixels that hold the row's most common value."""
    shares = np.empty(image.shape[0])
    for index, row in enumerate(image):
        _, counts = np.unique(row, return_counts=True)
        shares[index] = counts.max() / row.size
    return shares


def detect_data_bar(image: np.ndarray, min_rows: int = MIN_BAR_ROWS,
                    uniformity: float = BAR_UNIFORMITY,
                    search_fraction: float = BAR_SEARCH_FRACTION) -> int:
    """Number of rows, counted from the bottom, taken by the microscope's data bar (0 if none).

    A data bar is a band of rows that each share one background value (black on Zeiss SEMs) over
    at least ``uniformity`` of their width, with text and a scale bar drawn on it; sample rows
    hold noise and texture, and no single value covers half a row. The bar starts at the first
    run of ``min_rows`` such rows within the bottom ``search_fraction`` of the image, and
    everything below that row is cut (on the TiO2 release the last two rows below the bar are
    not sample either). A bar that reaches above the search region is followed up row by row.

    Raises:
        DataBarError: every row is uniform (a blank image: nothing to analyse), or the bar would
            take more than half of the image.
    """
    if image.ndim == 3:
        image = image.mean(axis=2).astype(image.dtype)
    rows = image.shape[0]
    if rows < 2 * min_rows:
        return 0
    first = int(rows * (1.0 - search_fraction))
    uniform = _row_uniformity(image[first:]) >= uniformity
    run = 0
    for offset, is_uniform in enumerate(uniform):
        run = run + 1 if is_uniform else 0
        if run == min_rows:
            start = first + offset - min_rows + 1
            while start > 0 and _row_uniformity(image[start - 1:start])[0] >= uniformity:
                start -= 1  # a bar taller than the search region
            if start == 0:
                raise DataBarError("every row of the image is nearly one value (a blank or "
                                   "saturated image): nothing to analyse")
            if rows - start > rows // 2:
                raise DataBarError(f"a data bar of {rows - start} of {rows} rows was found, more "
                                   f"than half the image; pass --data-bar-rows N (0 for none)")
            return rows - start
    return 0


class DataBarError(ValueError):
    """The data bar cannot be told from the sample."""


def sample_rows(image: np.ndarray, data_bar_rows: Optional[int] = None) -> int:
    """Number of rows above the data bar (``data_bar_rows`` overrides detection)."""
    bar = detect_data_bar(image) if data_bar_rows is None else int(data_bar_rows)
    if not 0 <= bar < image.shape[0]:
        raise ValueError(f"data bar of {bar} rows does not fit an image of {image.shape[0]} rows")
    return image.shape[0] - bar
