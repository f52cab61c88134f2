"""Microscope files that hold more than a picture - DigitalMicrograph (.dm3, .dm4), Thermo
Fisher Velox (.emd) - read to one type: the image analysed and the pixel size the file records.

:data:`CONTAINER_FORMATS` lists each format once - how the summary names the pixel size it
records, its file suffixes, its reader module - and :func:`read_container_image` /
:func:`read_container_pixel_size_nm` are what the image and pixel-size readers call.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

__all__ = ["ContainerImage", "ContainerFormat", "CONTAINER_FORMATS", "CONTAINER_SUFFIXES",
           "ContainerFormatError", "UnsupportedContentError", "read_container_image",
           "read_container_pixel_size_nm", "is_container_file", "native_byte_order"]


class ContainerFormatError(ValueError):
    """Not a file of the format its name says, or one that holds no readable image."""


class UnsupportedContentError(ContainerFormatError):
    """A readable file whose content is not a micrograph this project reads (an FFT, a spectrum
    image, another format under the same suffix); the message says what to do."""


@dataclass(frozen=True)
class ContainerImage:
    """The image of a microscope container file and what the file says of it: ``pixels`` (2-D,
    the first plane of a stack), nm per pixel (None where not recorded or not a length), how many
    images (not thumbnails) the file holds and how many planes the chosen one has."""
    pixels: np.ndarray
    pixel_size_nm: Optional[float]
    images_in_file: int = 1
    planes: int = 1


def native_byte_order(array: np.ndarray) -> np.ndarray:
    """A copy in the machine's byte order (a file's may differ)."""
    return array.astype(array.dtype.newbyteorder("="))


@dataclass(frozen=True)
class ContainerFormat:
    """A container format: the pixel-size source the summary names, its file suffixes, and the
    module (in this package) whose ``read_image`` / ``read_pixel_size_nm`` read it."""
    source: str
    suffixes: Tuple[str, ...]
    module: str


CONTAINER_FORMATS = (
    ContainerFormat("Gatan DigitalMicrograph calibration", (".dm3", ".dm4"), "digital_micrograph"),
    ContainerFormat("Thermo Fisher Velox metadata", (".emd",), "velox_emd"),
)
#: File suffixes read as containers.
CONTAINER_SUFFIXES = tuple(suffix for f in CONTAINER_FORMATS for suffix in f.suffixes)


def _reader_module(path: str):
    """The reader module of ``path``'s format (imported on first use: a format's dependencies,
    such as h5py, load only for its files)."""
    import importlib
    suffix = os.path.splitext(str(path))[1].lower()
    module = next(f.module for f in CONTAINER_FORMATS if suffix in f.suffixes)
    return importlib.import_module(f"paddleseg_hru2net.microscopy.{module}")


def is_container_file(path: str) -> bool:
    return os.path.splitext(str(path))[1].lower() in CONTAINER_SUFFIXES


def read_container_image(path: str) -> ContainerImage:
    """The image of a container file; :class:`ContainerFormatError` (or OSError) if unreadable."""
    return _reader_module(path).read_image(path)


def read_container_pixel_size_nm(path: str) -> Optional[float]:
    """nm per pixel recorded in a container file (without reading its pixels), or None."""
    return _reader_module(path).read_pixel_size_nm(path)
