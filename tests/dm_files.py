"""Small DigitalMicrograph 3/4 files written for the tests, laid out as Gatan's software lays
them out: a thumbnail first in ``ImageList``, ``Thumbnails`` naming it, the image second with
its ``Dimensions`` (x first) and ``Calibrations``, and tags of other types around them (a
string, a struct, an array of structs) that a reader has to step over."""
from __future__ import annotations

import struct
from pathlib import Path
from typing import List, Sequence, Tuple

import numpy as np

_CODES = {np.dtype("int16"): 2, np.dtype("int32"): 3, np.dtype("uint16"): 4, np.dtype("uint32"): 5,
          np.dtype("float32"): 6, np.dtype("float64"): 7, np.dtype("int8"): 9, np.dtype("uint8"): 10}
#: DigitalMicrograph's ``DataType`` of an image by its numpy type.
_IMAGE_DATA_TYPES = {np.dtype("int16"): 1, np.dtype("float32"): 2, np.dtype("uint8"): 6,
                     np.dtype("int32"): 7, np.dtype("uint16"): 10, np.dtype("uint32"): 11}


class _Writer:
    def __init__(self, version: int, little_endian: bool) -> None:
        self.wide = version == 4
        self.order = "<" if little_endian else ">"

    def length(self, value: int) -> bytes:
        return struct.pack(">Q" if self.wide else ">I", value)

    def _tag(self, code: int, name: str, body: bytes) -> bytes:
        label = name.encode("latin-1")
        size = self.length(len(body)) if self.wide else b""
        return bytes([code]) + struct.pack(">H", len(label)) + label + size + body

    def data(self, name: str, description: Sequence[int], payload: bytes) -> bytes:
        body = b"%%%%" + self.length(len(description)) + b"".join(self.length(d) for d in description)
        return self._tag(21, name, body + payload)

    def group(self, name: str, entries: List[bytes]) -> bytes:
        return self._tag(20, name, self.group_body(entries))

    def group_body(self, entries: List[bytes]) -> bytes:
        return b"\x01\x00" + self.length(len(entries)) + b"".join(entries)

    def simple(self, name: str, value, dtype: str) -> bytes:
        array = np.asarray([value], dtype=np.dtype(dtype).newbyteorder(self.order))
        return self.data(name, [_CODES[np.dtype(dtype)]], array.tobytes())

    def array(self, name: str, values: np.ndarray) -> bytes:
        values = np.ascontiguousarray(values).ravel()
        code = _CODES[values.dtype.newbyteorder("=")]
        payload = values.astype(values.dtype.newbyteorder(self.order)).tobytes()
        return self.data(name, [20, code, values.size], payload)

    def text(self, name: str, text: str) -> bytes:
        return self.array(name, np.array([ord(c) for c in text], dtype=np.uint16))

    def struct_array(self, name: str, rows: List[Tuple[float, float]]) -> bytes:
        description = [20, 15, 0, 2, 0, 6, 0, 6, len(rows)]
        payload = b"".join(np.asarray(r, np.dtype("float32").newbyteorder(self.order)).tobytes() for r in rows)
        return self.data(name, description, payload)

    def image(self, pixels: np.ndarray, scale: float, units: str) -> bytes:
        height, width = pixels.shape[-2:]
        planes = [] if pixels.ndim == 2 else [self.simple("", pixels.shape[0], "uint32")]
        axis = [self.group("", [self.simple("Origin", 0.0, "float32"),
                                self.simple("Scale", scale, "float32"), self.text("Units", units)])
                for _ in range(2)]
        image_data = self.group("ImageData", [
            self.group("Calibrations", [self.group("Dimension", axis)]),
            self.array("Data", pixels),
            self.simple("DataType", _IMAGE_DATA_TYPES[pixels.dtype], "int32"),
            self.group("Dimensions", [self.simple("", width, "uint32"), self.simple("", height, "uint32"),
                                      *planes]),
            self.simple("PixelDepth", pixels.dtype.itemsize, "uint32")])
        tags = self.group("ImageTags", [self.group("Microscope Info", [
            self.simple("Indicated Magnification", 50000.0, "float64"),
            self.data("Name", [18, 4], b"JEM2"),
            self.data("Stage Position", [15, 0, 2, 0, 6, 0, 6],
                      np.asarray([1.5, -2.0], np.dtype("float32").newbyteorder(self.order)).tobytes())])])
        return self.group("", [image_data, tags, self.struct_array("Annotations", [(0, 0), (1, 1)])])


def write_dm(path: Path, pixels: np.ndarray, scale: float = 0.5, units: str = "nm", version: int = 3,
             little_endian: bool = True) -> Path:
    """Write ``pixels`` (2-D, or a stack of planes) as a DigitalMicrograph ``version`` file whose
    x and y axes are calibrated at ``scale`` ``units`` per pixel, after an 8 x 8 thumbnail."""
    writer = _Writer(version, little_endian)
    thumbnail = np.full((8, 8), 7, np.uint8)
    root = writer.group_body([
        writer.simple("ApplicationBounds", 0, "int32"),
        writer.group("ImageList", [writer.image(thumbnail, 1.0, ""), writer.image(pixels, scale, units)]),
        writer.group("Thumbnails", [writer.group("", [writer.simple("ImageIndex", 0, "uint32")])]),
    ])
    header = struct.pack(">I", version) + writer.length(len(root)) + struct.pack(">I", int(little_endian))
    path.write_bytes(header + root + b"\x00" * 8)
    return path
