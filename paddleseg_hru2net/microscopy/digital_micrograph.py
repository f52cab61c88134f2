"""Gatan DigitalMicrograph files (``.dm3``, ``.dm4``): the image and its spatial calibration.

Most TEM and STEM images leave the microscope PC as DigitalMicrograph files, which carry the
pixel size the microscope software knew. Gatan does not publish the format; the layout read here
is the one documented by the microscopy community (C. Boothroyd's and G. Jefferis' notes):

* a header: version (3 or 4), the root length, the byte order of the tag data (1 = little);
  all structure fields are big-endian, 4 bytes in DM3 and 8 in DM4;
* a tree of tag groups (code 20) and data tags (code 21), each with a name that may be empty;
  DM4 puts the byte length of each tag before it;
* a data tag: ``%%%%``, the length of its type description, the description (simple type codes
  2-12, string 18, struct 15, array 20), then the data in the file's byte order;
* ``ImageList``: one group per image, with ``ImageData`` holding ``Data`` (an array),
  ``DataType``, ``Dimensions`` (x first) and ``Calibrations / Dimension`` (``Scale`` in
  ``Units`` per pixel for each axis). ``Thumbnails`` lists which images are only previews.

Only what the analysis needs is read: tag values, and the pixel array of the one image chosen.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO, List, Optional, Tuple, Union

import numpy as np

from paddleseg_hru2net.microscopy.containers import (ContainerFormatError, ContainerImage, UnsupportedContentError,
                                                     native_byte_order)
from paddleseg_hru2net.microscopy.pixel_size import length_in_nm

__all__ = ["read_image", "read_pixel_size_nm", "DMFormatError"]

_SIMPLE = {2: "i2", 3: "i4", 4: "u2", 5: "u4", 6: "f4", 7: "f8", 8: "u1", 9: "i1", 10: "u1",
           11: "i8", 12: "u8"}
_STRUCT, _STRING, _ARRAY = 15, 18, 20
_GROUP_TAG, _DATA_TAG = 20, 21
_RGB_DATA_TYPE = 23
_COMPLEX_DATA_TYPES = (3, 5, 13)
#: Type descriptions longer than this are damage (a struct of 500 fields takes 1,003).
_LONGEST_DESCRIPTION = 4096
#: Arrays up to this many bytes are read with the tags; larger ones (images) only when asked.
_EAGER_ARRAY_BYTES = 4096


class DMFormatError(ContainerFormatError):
    """Not a DigitalMicrograph 3/4 file, or one whose tags do not hold a readable image."""


@dataclass(frozen=True)
class _ArrayRef:
    """A large array in the file, read only if it is the image wanted."""
    offset: int
    dtype: np.dtype
    count: int

    def read(self, handle: BinaryIO) -> np.ndarray:
        handle.seek(self.offset)
        data = handle.read(self.count * self.dtype.itemsize)
        if len(data) != self.count * self.dtype.itemsize:
            raise DMFormatError("the image data is cut short")
        return native_byte_order(np.frombuffer(data, dtype=self.dtype))


TagValue = Union[int, float, str, tuple, np.ndarray, _ArrayRef, "TagGroup"]


@dataclass
class TagGroup:
    """A tag group: its entries in file order, ``(name, value)``; names may be empty."""
    entries: List[Tuple[str, TagValue]]

    def get(self, name: str) -> Optional[TagValue]:
        return next((value for key, value in self.entries if key == name), None)

    def values(self) -> List[TagValue]:
        return [value for _, value in self.entries]


class _TagReader:
    """Reads the tag tree of an open DM3/DM4 file (module docstring)."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        version = self._unpack(">I", 4)
        if version not in (3, 4):
            raise DMFormatError("not a DigitalMicrograph 3 or 4 file")
        self.wide = version == 4
        self.length_format = ">Q" if self.wide else ">I"
        self._length()  # root length
        self.data_order = "<" if self._unpack(">I", 4) == 1 else ">"

    def _unpack(self, fmt: str, size: int):
        return struct.unpack(fmt, self._read_exact(size))[0]

    def _length(self) -> int:
        return self._unpack(self.length_format, 8 if self.wide else 4)

    def root(self) -> TagGroup:
        return self._group()

    def _group(self) -> TagGroup:
        self._read_exact(2)  # sorted, open
        return TagGroup([self._entry() for _ in range(self._length())])

    def _entry(self) -> Tuple[str, TagValue]:
        code = self._unpack(">B", 1)
        name = self._read_exact(self._unpack(">H", 2)).decode("latin-1")
        if self.wide:
            self._length()  # the tag's byte length
        if code == _GROUP_TAG:
            return name, self._group()
        if code != _DATA_TAG:
            raise DMFormatError(f"unknown tag code {code}")
        if self._read_exact(4) != b"%%%%":
            raise DMFormatError(f"tag {name!r} lacks its %%%% marker")
        description_length = self._length()
        if description_length > _LONGEST_DESCRIPTION:
            raise DMFormatError(f"tag {name!r} has a type description of {description_length} fields")
        description = [self._length() for _ in range(description_length)]
        value, _ = self._value(description, 0)
        return name, value

    def _value(self, description: List[int], at: int) -> Tuple[TagValue, int]:
        """The value described by ``description[at:]``, and where its description ends."""
        code = description[at]
        if code in _SIMPLE:
            return self._simple(code), at + 1
        if code == _STRING:
            return self._read_exact(description[at + 1]).decode("latin-1"), at + 2
        if code == _STRUCT:
            field_types = description[at + 4:at + 3 + 2 * description[at + 2]:2]
            return tuple(self._simple(t) for t in field_types), at + 3 + 2 * description[at + 2]
        if code == _ARRAY:
            return self._array(description, at + 1)
        raise DMFormatError(f"unknown data type code {code}")

    def _simple(self, code: int):
        if code not in _SIMPLE:
            raise DMFormatError(f"unsupported field type code {code}")
        dtype = np.dtype(self.data_order + _SIMPLE[code])
        return np.frombuffer(self._read_exact(dtype.itemsize), dtype=dtype)[0].item()

    def _read_exact(self, size: int) -> bytes:
        data = self.handle.read(size)
        if len(data) != size:
            raise DMFormatError("the file ends inside its tags")
        return data

    def _array(self, description: List[int], at: int) -> Tuple[TagValue, int]:
        element = description[at]
        if element == _STRUCT:
            fields = description[at + 2]
            end = at + 3 + 2 * fields
            count = description[end]
            return tuple(self._value(description, at)[0] for _ in range(count)), end + 1
        if element not in _SIMPLE:
            raise DMFormatError(f"unsupported array element type code {element}")
        dtype = np.dtype(self.data_order + _SIMPLE[element])
        count = description[at + 1]
        size = count * dtype.itemsize
        if size <= _EAGER_ARRAY_BYTES:
            return native_byte_order(np.frombuffer(self._read_exact(size), dtype=dtype)), at + 2
        ref = _ArrayRef(self.handle.tell(), dtype, count)
        self.handle.seek(size, 1)
        return ref, at + 2


def _text(value: TagValue) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray):
        return "".join(chr(int(c)) for c in value if int(c))
    return ""


def _thumbnail_indices(root: TagGroup) -> List[int]:
    thumbnails = root.get("Thumbnails")
    if not isinstance(thumbnails, TagGroup):
        return []
    return [int(g.get("ImageIndex")) for g in thumbnails.values()
            if isinstance(g, TagGroup) and g.get("ImageIndex") is not None]


def _dimensions(image_data: TagGroup) -> List[int]:
    dimensions = image_data.get("Dimensions")
    return [int(v) for v in dimensions.values()] if isinstance(dimensions, TagGroup) else []


def _images(root: TagGroup) -> List[TagGroup]:
    """The ``ImageData`` groups of the file's images that are not thumbnails."""
    image_list = root.get("ImageList")
    if not isinstance(image_list, TagGroup):
        raise DMFormatError("the file holds no ImageList")
    thumbnails = _thumbnail_indices(root)
    found = []
    for index, image in enumerate(image_list.values()):
        data = image.get("ImageData") if isinstance(image, TagGroup) else None
        if isinstance(data, TagGroup) and index not in thumbnails and len(_dimensions(data)) >= 2:
            found.append(data)
    if not found:
        raise DMFormatError("the file holds no image of two or more dimensions")
    return found


def _pixel_size_nm(image_data: TagGroup) -> Optional[float]:
    """nm per pixel along x from the image's calibration, or None (no calibration, a unit that is
    not a length, e.g. 1/nm of a diffraction pattern)."""
    calibrations = image_data.get("Calibrations")
    axes = calibrations.get("Dimension") if isinstance(calibrations, TagGroup) else None
    if not isinstance(axes, TagGroup) or not axes.values():
        return None
    x_axis = axes.values()[0]
    if not isinstance(x_axis, TagGroup) or x_axis.get("Scale") is None:
        return None
    unit = _text(x_axis.get("Units"))
    return length_in_nm(abs(float(x_axis.get("Scale"))), unit) if unit else None


def _pixels(image_data: TagGroup, handle: BinaryIO) -> Tuple[np.ndarray, int]:
    """The first plane of the image as a 2-D array, and the number of planes."""
    data = image_data.get("Data")
    array = data.read(handle) if isinstance(data, _ArrayRef) else np.asarray(data)
    data_type = image_data.get("DataType")
    if data_type in _COMPLEX_DATA_TYPES:
        raise UnsupportedContentError("the image holds complex values (e.g. an FFT), not a micrograph; "
                                      "export the micrograph itself")
    width, height, *more = _dimensions(image_data)
    planes = int(np.prod(more)) if more else 1
    if data_type == _RGB_DATA_TYPE:
        array = array.view(np.uint8).reshape(-1, 4)[:, :3].mean(axis=1)
    if array.size != width * height * planes:
        raise DMFormatError(f"the image data ({array.size} values) does not fit its dimensions "
                            f"{width} x {height} x {planes}")
    return array[:width * height].reshape(height, width), planes


def _chosen_image(root: TagGroup) -> Tuple[TagGroup, int]:
    """The largest non-thumbnail image's ``ImageData`` and the number of such images."""
    images = _images(root)
    return max(images, key=lambda d: int(np.prod(_dimensions(d)[:2]))), len(images)


def read_image(path: str) -> ContainerImage:
    """The largest non-thumbnail image of ``path`` (its first plane if it is a stack), with the
    pixel size of its calibration; :class:`DMFormatError` when the file cannot be read so."""
    with open(path, "rb") as handle:
        chosen, images_in_file = _chosen_image(_TagReader(handle).root())
        pixels, planes = _pixels(chosen, handle)
    return ContainerImage(pixels=pixels, pixel_size_nm=_pixel_size_nm(chosen),
                          images_in_file=images_in_file, planes=planes)


def read_pixel_size_nm(path: str) -> Optional[float]:
    """nm per pixel of the image :func:`read_image` reads, without reading its pixels."""
    with open(path, "rb") as handle:
        return _pixel_size_nm(_chosen_image(_TagReader(handle).root())[0])
