"""Microscope image files to an 8-bit grey image, saying what was done to get there.

Detectors write 8-, 10-, 12-, 14- or 16-bit data, signed or unsigned, sometimes floating point,
often in a 16-bit container. The model was trained on 8-bit grey values, so every image is
brought to 0-255 by its real range, never by the container's:

* unsigned integers: by the smallest of 2^8, 2^10, 2^12, 2^14, 2^16 - 1 that holds the data's
  maximum (12-bit data in a 16-bit TIFF is scaled by 4095, not 65535);
* signed integers: shifted so the minimum is 0 when it is negative, then as unsigned;
* floating point: values in [0, 1] times 255, anything else stretched from its minimum to its
  maximum;
* where "minimum" and "maximum" leave out values far beyond the 0.1st or 99.9th percentile
  (by more than the range between the two: a few hot or dead pixels, X-ray spikes on a TEM
  camera), which would otherwise set the scale and leave the image a few grey levels; they are
  clipped, and a note counts them;
* colour: luminance; palette images through their palette.

(An image that then fills little of 0-255 is stretched once its data bar is cut:
:mod:`paddleseg_hru2net.microscopy.conditioning`.)

A multi-page file (or a stack in a container) contributes its first page, and the note says
how many there were. Gatan DigitalMicrograph (``.dm3``, ``.dm4``) and Thermo Fisher Velox
(``.emd``) files are read by :mod:`paddleseg_hru2net.microscopy.containers`.
"""
from __future__ import annotations

import logging
import warnings
from typing import List, Tuple

import numpy as np
from PIL import Image, UnidentifiedImageError

from paddleseg_hru2net.files import ImageReadError
from paddleseg_hru2net.microscopy.containers import (CONTAINER_SUFFIXES, UnsupportedContentError,
                                                     is_container_file, read_container_image)

__all__ = ["read_microscope_image", "to_uint8", "linear_to_uint8", "MIN_SIDE", "IMAGE_SUFFIXES"]

#: The file names read as images (case aside): common image files and microscope containers.
IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp", *CONTAINER_SUFFIXES)

#: The smallest side (pixels) worth analysing.
MIN_SIDE = 16
_DEPTHS = (8, 10, 12, 14, 16, 32, 64)
#: Percent of pixels at either end that may lie outside the range an image is scaled by.
_OUTLIER_PERCENT = 0.1
#: How far (a share of the range between those percentiles) a minimum or maximum may lie beyond
#: them and still set the scale.
_OUTLIER_SLACK = 1.0


def linear_to_uint8(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """``values`` mapped linearly so that ``low`` becomes 0 and ``high`` 255, rounded, and
    clipped to 0-255 (computed in the type ``values`` come in)."""
    return np.clip(np.round((values - low) * (255.0 / max(high - low, 1e-12))), 0, 255).astype(np.uint8)


def _scale_bounds(values: np.ndarray) -> Tuple[float, float, List[str]]:
    """``(low, high, notes)``: the range an image is scaled by - its minimum and maximum, leaving
    out values far (over :data:`_OUTLIER_SLACK` of the range) beyond the 0.1st / 99.9th
    percentile, a hot or dead pixel, an X-ray spike - and a note counting those left out."""
    low, high = (float(v) for v in np.percentile(values, [_OUTLIER_PERCENT, 100 - _OUTLIER_PERCENT]))
    slack = _OUTLIER_SLACK * (high - low)
    kept = values[(values >= low - slack) & (values <= high + slack)]
    left_out = values.size - kept.size
    notes = [f"{left_out} outlying pixel(s) (hot, dead or X-ray spikes) clipped"] if left_out else []
    return float(kept.min()), float(kept.max()), notes


def to_uint8(array: np.ndarray) -> Tuple[np.ndarray, List[str]]:
    """``(uint8 image, notes)``: ``array`` mapped to 0-255 by its real range (module docstring;
    a few far outlying pixels do not set it: :func:`_scale_bounds`)."""
    notes: List[str] = []
    if array.dtype == np.uint8:
        return array, notes
    if array.dtype == bool:
        return array.astype(np.uint8) * 255, ["binary image: 0/255"]
    if np.issubdtype(array.dtype, np.floating):
        finite = array[np.isfinite(array)]
        if finite.size == 0:
            raise ValueError("the image holds no finite values")
        if finite.min() >= 0.0 and finite.max() <= 1.0:
            notes.append("floating-point 0-1 data: scaled by 255")
            return linear_to_uint8(np.nan_to_num(array, nan=0.0), 0.0, 1.0), notes
        low, high, notes_on_outliers = _scale_bounds(finite)
        notes.append(f"floating-point data {low:.4g}..{high:.4g}: stretched to 0-255")
        notes += notes_on_outliers
        return linear_to_uint8(np.nan_to_num(array, nan=low), low, high), notes
    values = array.astype(np.int64)
    low, high, notes_on_outliers = _scale_bounds(values)
    low, high = int(round(low)), int(round(high))
    if np.issubdtype(array.dtype, np.signedinteger) and low < 0:
        notes.append(f"signed data: shifted by {-low}")
        values, high = values - low, high - low
    container = array.dtype.itemsize * 8
    depth = next(d for d in _DEPTHS if high < 2 ** d)
    if depth < container:
        notes.append(f"{depth}-bit data in a {container}-bit file: scaled by {2 ** depth - 1}")
    return linear_to_uint8(values, 0, 2 ** depth - 1), notes + notes_on_outliers


def _pages(image: Image.Image) -> int:
    return int(getattr(image, "n_frames", 1) or 1)


def _array_of(image: Image.Image) -> np.ndarray:
    if image.mode in ("P", "PA", "LA", "RGB", "RGBA", "CMYK", "YCbCr", "1", "L"):
        return np.asarray(image.convert("L"))
    if image.mode == "I;16S":
        return np.asarray(image, dtype=np.int16)
    array = np.asarray(image)
    if image.mode == "I" and array.size and array.min() >= 0 and array.max() < 2 ** 16:
        return array.astype(np.uint16)  # PIL widens 16-bit PNGs to 32-bit "I"
    return array


def _luminance(rgb: np.ndarray) -> np.ndarray:
    """Grey values of colour samples (ITU-R 601 weights), in the samples' own type."""
    grey = rgb[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    if np.issubdtype(rgb.dtype, np.integer):
        return np.round(grey).astype(rgb.dtype)
    return grey.astype(np.float32)


def _read_tifffile(path: str) -> Tuple[np.ndarray, int]:
    import tifffile
    with tifffile.TiffFile(path) as tif:
        pages = len(tif.pages)
        if pages == 0:
            raise ValueError("no readable page")
        array = tif.pages[0].asarray()
    if array.ndim == 3 and array.shape[-1] in (3, 4):
        array = _luminance(array)
    elif array.ndim == 3:
        array = array[0]
    return array, pages


def _pillow_changes_samples(image: Image.Image) -> bool:
    """Whether Pillow gives a TIFF's samples in another type than stored: colour of more than 8
    bits cut to 8, signed 16-bit widened to 32-bit (tifffile reads both as they are)."""
    if image.format != "TIFF":
        return False
    bits = image.tag_v2.get(258, 8)
    wide = max(bits) if isinstance(bits, tuple) else int(bits)
    return (wide > 8 and image.mode in ("RGB", "RGBA", "L", "LA", "P")) or (wide == 16 and image.mode == "I")


def _read_container(path: str, damaged: str) -> Tuple[np.ndarray, int]:
    try:
        image = read_container_image(path)
    except UnsupportedContentError as error:
        raise ImageReadError(f"{path}: cannot read image: {error}") from error
    except (OSError, ValueError, KeyError, IndexError, TypeError) as error:
        raise ImageReadError(f"{path}: cannot read image: {damaged} ({error})") from error
    return image.pixels, image.planes


def _read_pixels(path: str) -> Tuple[np.ndarray, int]:
    """``(pixels as stored, page count)``: microscope containers (DigitalMicrograph, Velox) by
    their own readers; else Pillow first, tifffile for the TIFFs Pillow refuses or would read in
    another sample type (Pillow's reading stands where tifffile cannot decode the file)."""
    damaged = "the file is damaged, incomplete or not an image; export it again from the microscope software"
    if is_container_file(path):
        return _read_container(path, damaged)
    pillow_read = None
    try:
        with Image.open(path) as image:
            image.load()
            pillow_read = _array_of(image), _pages(image)
            if not _pillow_changes_samples(image):
                return pillow_read
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as pil_error:
        if not str(path).lower().endswith((".tif", ".tiff")):
            raise ImageReadError(f"{path}: cannot read image: {damaged} ({pil_error})") from pil_error
    tifffile_log = logging.getLogger("tifffile")
    level = tifffile_log.level
    tifffile_log.setLevel(logging.CRITICAL)
    try:
        return _read_tifffile(path)
    except Exception as error:  # noqa: BLE001 - tifffile raises many types for bad files
        if pillow_read is not None:
            return pillow_read
        raise ImageReadError(f"{path}: cannot read image: {damaged} ({error})") from error
    finally:
        tifffile_log.setLevel(level)


def read_microscope_image(path: str) -> Tuple[np.ndarray, List[str]]:
    """``(uint8 grey image, notes on what was done to it)``; :class:`ImageReadError` naming
    the file when it cannot be read or is too small to analyse."""
    with warnings.catch_warnings():  # a damaged file gets one line below, not library chatter
        warnings.simplefilter("ignore")
        array, pages = _read_pixels(path)
    if array.ndim != 2:
        raise ImageReadError(f"{path}: unsupported image layout {array.shape}; save it as a grey image")
    if min(array.shape) < MIN_SIDE:
        raise ImageReadError(f"{path}: {array.shape[1]} x {array.shape[0]} px is too small to "
                             f"analyse (at least {MIN_SIDE} x {MIN_SIDE})")
    try:
        grey, notes = to_uint8(array)
    except ValueError as error:
        raise ImageReadError(f"{path}: {error}") from error
    if pages > 1:
        notes.append(f"multi-page file: page 1 of {pages} analysed")
    return grey, notes
