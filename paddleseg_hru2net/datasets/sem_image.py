"""Facts about SEM images that several parts need: the data bar and the pixel size."""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

__all__ = ["detect_data_bar", "sample_rows", "read_pixel_size_nm"]

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
    not sample either).
    """
    if image.ndim == 3:
        image = image.mean(axis=2).astype(image.dtype)
    rows = image.shape[0]
    first = int(rows * (1.0 - search_fraction))
    uniform = _row_uniformity(image[first:]) >= uniformity
    run = 0
    for offset, is_uniform in enumerate(uniform):
        run = run + 1 if is_uniform else 0
        if run == min_rows:
            return rows - (first + offset - min_rows + 1)
    return 0


def sample_rows(image: np.ndarray, data_bar_rows: Optional[int] = None) -> int:
    """Number of rows above the data bar (``data_bar_rows`` overrides detection)."""
    bar = detect_data_bar(image) if data_bar_rows is None else int(data_bar_rows)
    if not 0 <= bar < image.shape[0]:
        raise ValueError(f"data bar of {bar} rows does not fit an image of {image.shape[0]} rows")
    return image.shape[0] - bar


def read_pixel_size_nm(path: str) -> Tuple[Optional[float], str]:
    """Pixel size in nanometres from a Zeiss SEM TIFF (tag 34118, CZ_SEM), and where it came from.

    Returns ``(size, "metadata")`` when the tag holds a pixel size, else ``(None, "absent")``.
    tifffile parses the tag into a dict; the pixel size is ``ap_pixel_size`` (with unit) when
    the tag is fully decoded, otherwise the fourth number of its unnamed value tuple (metres),
    as in the TiO2 release (7.34375e-09 m at 50 kX).
    """
    try:
        import tifffile
        with tifffile.TiffFile(path) as tif:
            tag = tif.pages[0].tags.get(34118)
            value = tag.value if tag is not None else None
    except Exception:  # not a TIFF, or unreadable metadata: no pixel size
        return None, "absent"
    if not isinstance(value, dict):
        return None, "absent"
    named = value.get("ap_pixel_size") or value.get("ap_image_pixel_size")
    if isinstance(named, (tuple, list)) and len(named) >= 2:
        number, unit = float(named[1]), str(named[2] if len(named) > 2 else "nm").strip()
        scale = {"nm": 1.0, "pm": 1e-3, "µm": 1e3, "um": 1e3, "m": 1e9}.get(unit)
        if scale:
            return number * scale, "metadata"
    unnamed = value.get("")
    if isinstance(unnamed, (tuple, list)) and len(unnamed) > 3:
        metres = float(unnamed[3])
        if 1e-12 < metres < 1e-5:
            return metres * 1e9, "metadata"
    return None, "absent"
