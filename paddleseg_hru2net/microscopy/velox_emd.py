"""Thermo Fisher (FEI) Velox ``.emd`` files: the image and its pixel size.

Velox, the software of Thermo Fisher's TEMs and STEMs, saves HDF5 files. Each image is a group
``/Data/Image/<id>`` with ``Data`` (y, x, frames) and ``Metadata`` (for each frame a column of
bytes holding a JSON text, zero-padded), whose ``BinaryResult`` gives ``PixelSize``
(``width``, as text) in ``PixelUnitX`` (``m``). One file may hold several images of one scan
(one per detector, e.g. HAADF and BF); the largest is read (the first by name on a tie), and the
first frame of a stack. Berkeley EMD files share the suffix but not the layout, and are refused
with a message saying so.
"""
from __future__ import annotations

import json
from typing import Optional, Tuple

import numpy as np

from paddleseg_hru2net.microscopy.containers import (ContainerFormatError, ContainerImage, UnsupportedContentError,
                                                     native_byte_order)
from paddleseg_hru2net.microscopy.pixel_size import length_in_nm

__all__ = ["read_image", "read_pixel_size_nm"]


def _image_groups(handle) -> list:
    images = handle.get("Data/Image")
    if images is None:
        kind = "a Berkeley EMD file" if "data" in handle else "an EMD file without images"
        raise UnsupportedContentError(f"{kind}, not a Velox image; export the image as TIFF")
    groups = [images[key] for key in sorted(images) if "Data" in images[key]]
    if not groups:
        raise ContainerFormatError("the Velox file holds no image data")
    return groups


def _chosen(handle) -> Tuple[object, int]:
    """The largest image group (y x x) and the number of images in the file."""
    groups = _image_groups(handle)
    return max(groups, key=lambda g: int(np.prod(g["Data"].shape[:2]))), len(groups)


def _pixel_size_nm(group) -> Optional[float]:
    if "Metadata" not in group:
        return None
    text = np.asarray(group["Metadata"][:, 0]).tobytes().decode("utf-8", "replace").rstrip("\x00")
    result = json.loads(text).get("BinaryResult", {})
    width = result.get("PixelSize", {}).get("width")
    unit = result.get("PixelUnitX", "")
    return length_in_nm(abs(float(width)), unit) if width is not None and unit else None


def read_image(path: str) -> ContainerImage:
    """The largest image of a Velox file (its first frame) with its pixel size."""
    import h5py
    with h5py.File(path, "r") as handle:
        group, images = _chosen(handle)
        data = group["Data"]
        if data.ndim not in (2, 3) or data.dtype.names:
            raise UnsupportedContentError(f"the image data {data.shape} {data.dtype} is not a micrograph "
                                          f"(an FFT or a spectrum image?); export the image as TIFF")
        pixels = np.asarray(data[:, :, 0] if data.ndim == 3 else data[:, :])
        planes = int(data.shape[2]) if data.ndim == 3 else 1
        size = _pixel_size_nm(group)
    return ContainerImage(pixels=native_byte_order(pixels), pixel_size_nm=size,
                          images_in_file=images, planes=planes)


def read_pixel_size_nm(path: str) -> Optional[float]:
    """nm per pixel of the image :func:`read_image` reads, without reading its pixels."""
    import h5py
    with h5py.File(path, "r") as handle:
        return _pixel_size_nm(_chosen(handle)[0])
