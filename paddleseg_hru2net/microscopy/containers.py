"""Microscope files that hold more than a picture - DigitalMicrograph (.dm3, .dm4), Thermo
Fisher Velox (.emd) - read to one type: the image analysed and the pixel size the file records.

Each format has its reader module; :data:`CONTAINER_READERS` maps file suffixes to them, and
:func:`read_container_image` / :func:`read_container_pixel_size_nm` are what the image and
pixel-size readers call.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple

import numpy as np

__all__ = ["ContainerImage", "CONTAINER_SUFFIXES", "ContainerFormatError", "UnsupportedContentError",
           "read_container_image",
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


def _readers() -> Dict[str, Tuple[Callable[[str], ContainerImage], Callable[[str], Optional[float]]]]:
    from paddleseg_hru2net.microscopy import digital_micrograph, velox_emd
    dm = (digital_micrograph.read_dm_image, digital_micrograph.read_dm_pixel_size_nm)
    emd = (velox_emd.read_velox_image, velox_emd.read_velox_pixel_size_nm)
    return {".dm3": dm, ".dm4": dm, ".emd": emd}


#: File suffixes read as containers.
CONTAINER_SUFFIXES = (".dm3", ".dm4", ".emd")


def is_container_file(path: str) -> bool:
    return os.path.splitext(str(path))[1].lower() in CONTAINER_SUFFIXES


def read_container_image(path: str) -> ContainerImage:
    """The image of a container file; :class:`ContainerFormatError` (or OSError) if unreadable."""
    return _readers()[os.path.splitext(str(path))[1].lower()][0](path)


def read_container_pixel_size_nm(path: str) -> Optional[float]:
    """nm per pixel recorded in a container file (without reading its pixels), or None."""
    return _readers()[os.path.splitext(str(path))[1].lower()][1](path)
