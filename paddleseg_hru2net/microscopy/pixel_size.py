"""The pixel size of a microscope image from its metadata, and which source gave it.

Readers, tried in order (the first that finds a size wins); a TIFF is opened once for all the
TIFF readers:

* Zeiss SmartSEM: TIFF tag 34118 (``CZ_SEM``), ``ap_pixel_size`` or the fourth number of its
  unnamed tuple (metres);
* FEI / Thermo Fisher: TIFF tags 34680/34682, INI text, ``[Scan] PixelWidth`` (metres);
* TESCAN: TIFF tag 50431, INI-like text, ``PixelSizeX`` (metres);
* Olympus / EMSIS TEM cameras (iTEM, RADIUS; SIS TIFF): TIFF tag 33560, the calibration of its
  general data block (metres, with a power of ten), as ``tifffile`` parses it;
* TVIPS TEM cameras (EM-MENU TIFF): TIFF tag 37706, header version 2, ``PixelSizeX`` (nm);
* OME-TIFF: ``Pixels PhysicalSizeX`` with ``PhysicalSizeXUnit`` (default µm);
* ImageJ TIFF: ``XResolution`` (pixels per unit) with the ``unit`` of the ImageJ description;
* JEOL sidecar ``<name>.txt``: ``$$SM_MICRON_BAR`` (scale bar, px) and ``$$SM_MICRON_MARKER``
  (its length, e.g. ``500nm``);
* Hitachi sidecar ``<name>.txt``: ``PixelSize=`` (nm);
* Gatan DigitalMicrograph ``.dm3`` / ``.dm4``: the image's x calibration (``Scale`` in ``Units``);
* Thermo Fisher Velox ``.emd``: ``BinaryResult`` ``PixelSize`` ``width`` in ``PixelUnitX``.
"""
from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Callable, List, Optional, Sequence, Tuple, TypeVar

from paddleseg_hru2net.microscopy.containers import CONTAINER_FORMATS, read_container_pixel_size_nm

if TYPE_CHECKING:
    import tifffile

__all__ = ["read_pixel_size_nm", "TIFF_READERS", "FILE_READERS", "length_in_nm"]

_UNITS_NM = {"pm": 1e-3, "nm": 1.0, "nanometer": 1.0, "nanometre": 1.0, "um": 1e3, "µm": 1e3,
             "μm": 1e3, "micron": 1e3, "microns": 1e3, "micrometer": 1e3, "micrometre": 1e3,
             "mm": 1e6, "cm": 1e7, "m": 1e9, "a": 0.1, "å": 0.1, "angstrom": 0.1}
_PLAUSIBLE_NM = (1e-3, 1e5)  # 1 pm to 100 µm per pixel


def length_in_nm(value: float, unit: str) -> Optional[float]:
    """``value`` in ``unit`` as nanometres, or None for an unknown unit."""
    scale = _UNITS_NM.get(unit.strip().lower().replace("\\u00b5", "µ"))
    return float(value) * scale if scale is not None else None


def _plausible(size: Optional[float]) -> Optional[float]:
    return size if size is not None and _PLAUSIBLE_NM[0] < size < _PLAUSIBLE_NM[1] else None


def _tiff_tag(tif: "tifffile.TiffFile", code: int):
    tag = tif.pages[0].tags.get(code)
    return tag.value if tag is not None else None


def _ini_value(text: str, section: Optional[str], key: str) -> Optional[str]:
    """``key=value`` from INI-like text, within ``[section]`` if given."""
    current = None
    for line in text.replace("\r", "\n").split("\n"):
        line = line.strip().strip("\x00")
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
        elif "=" in line and (section is None or current == section):
            name, _, value = line.partition("=")
            if name.strip().lower() == key.lower():
                return value.strip()
    return None


def _zeiss(tif: "tifffile.TiffFile") -> Optional[float]:
    value = _tiff_tag(tif, 34118)
    if not isinstance(value, dict):
        return None
    named = value.get("ap_pixel_size") or value.get("ap_image_pixel_size")
    if isinstance(named, (tuple, list)) and len(named) >= 2:
        size = length_in_nm(float(named[1]), str(named[2] if len(named) > 2 else "nm"))
        if _plausible(size):
            return size
    unnamed = value.get("")
    if isinstance(unnamed, (tuple, list)) and len(unnamed) > 3:
        return _plausible(float(unnamed[3]) * 1e9)
    return None


def _text_tag(tif: "tifffile.TiffFile", codes: Tuple[int, ...]) -> Optional[str]:
    for code in codes:
        value = _tiff_tag(tif, code)
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if isinstance(value, str) and value.strip():
            return value
        if isinstance(value, dict):  # tifffile parsed the INI text already
            return "\n".join(f"[{s}]\n" + "\n".join(f"{k}={v}" for k, v in (d.items() if isinstance(d, dict) else []))
                             for s, d in value.items())
    return None


def _fei(tif: "tifffile.TiffFile") -> Optional[float]:
    text = _text_tag(tif, (34682, 34680))
    value = _ini_value(text, "Scan", "PixelWidth") if text else None
    return _plausible(float(value) * 1e9) if value else None


def _tescan(tif: "tifffile.TiffFile") -> Optional[float]:
    text = _text_tag(tif, (50431,))
    value = _ini_value(text, None, "PixelSizeX") if text else None
    return _plausible(float(value) * 1e9) if value else None


def _olympus_sis(tif: "tifffile.TiffFile") -> Optional[float]:
    metadata = tif.sis_metadata or {}
    size = metadata.get("pixelsizex")
    return _plausible(float(size) * 1e9) if size else None


def _tvips(tif: "tifffile.TiffFile") -> Optional[float]:
    value = _tiff_tag(tif, 37706)
    if not isinstance(value, dict) or value.get("Version") != 2:
        return None  # version 1 gives the camera's pixel and the magnification only
    size = value.get("PixelSizeX")
    return _plausible(float(size)) if size else None


def _ome(tif: "tifffile.TiffFile") -> Optional[float]:
    xml = tif.ome_metadata if tif.is_ome else None
    if not xml:
        return None
    size = re.search(r'PhysicalSizeX="([0-9.eE+-]+)"', xml)
    unit = re.search(r'PhysicalSizeXUnit="([^"]+)"', xml)
    return _plausible(length_in_nm(float(size.group(1)), unit.group(1) if unit else "µm")) if size else None


def _imagej(tif: "tifffile.TiffFile") -> Optional[float]:
    if not tif.is_imagej:
        return None
    unit = (tif.imagej_metadata or {}).get("unit")
    resolution = tif.pages[0].tags.get("XResolution")
    if not unit or resolution is None:
        return None
    numerator, denominator = resolution.value
    if not numerator:
        return None
    return _plausible(length_in_nm(denominator / numerator, str(unit)))


def _sidecar_text(path: str) -> Optional[str]:
    sidecar = os.path.splitext(path)[0] + ".txt"
    if not os.path.isfile(sidecar):
        return None
    with open(sidecar, encoding="latin-1") as handle:
        return handle.read(1 << 20)


def _jeol(path: str) -> Optional[float]:
    text = _sidecar_text(path)
    if not text:
        return None
    bar = re.search(r"^\$\$SM_MICRON_BAR\s+([0-9.]+)", text, re.M)
    marker = re.search(r"^\$\$SM_MICRON_MARKER\s+([0-9.]+)\s*([A-Za-zµμ]+)", text, re.M)
    if not (bar and marker) or float(bar.group(1)) <= 0:
        return None
    length = length_in_nm(float(marker.group(1)), marker.group(2))
    return _plausible(length / float(bar.group(1))) if length else None


def _hitachi(path: str) -> Optional[float]:
    text = _sidecar_text(path)
    value = _ini_value(text, None, "PixelSize") if text else None
    return _plausible(float(value)) if value else None


def _container(suffixes: Tuple[str, ...]) -> Callable[[str], Optional[float]]:
    """A reader of the calibration of container files with these suffixes."""
    def reader(path: str) -> Optional[float]:
        return _plausible(read_container_pixel_size_nm(path)) if path.lower().endswith(suffixes) else None
    return reader


_Source = TypeVar("_Source")

#: ``(source name, reader)``: a reader of an open TIFF file's tags returns nm per pixel or None.
TIFF_READERS: List[Tuple[str, Callable[["tifffile.TiffFile"], Optional[float]]]] = [
    ("Zeiss TIFF tag 34118", _zeiss), ("FEI/Thermo Fisher TIFF metadata", _fei),
    ("TESCAN TIFF metadata", _tescan), ("Olympus/EMSIS SIS TIFF metadata", _olympus_sis),
    ("TVIPS TIFF metadata", _tvips), ("OME-TIFF PhysicalSizeX", _ome),
    ("ImageJ TIFF resolution", _imagej),
]

#: ``(source name, reader)``: a reader of the image's path (sidecar files, container formats),
#: tried after the TIFF readers.
FILE_READERS: List[Tuple[str, Callable[[str], Optional[float]]]] = [
    ("JEOL sidecar .txt", _jeol), ("Hitachi sidecar .txt", _hitachi),
    *[(f.source, _container(f.suffixes)) for f in CONTAINER_FORMATS],
]


def _first_size(readers: Sequence[Tuple[str, Callable[[_Source], Optional[float]]]], source: _Source
                ) -> Optional[Tuple[float, str]]:
    """``(nm per pixel, "metadata (<source name>)")`` from the first of ``readers`` that finds a
    size in ``source``; a reader that fails on it (not its vendor's file, damaged metadata) finds
    none."""
    for name, reader in readers:
        try:
            size = reader(source)
        except Exception:  # noqa: BLE001 - not this vendor's file, or damaged metadata
            size = None
        if size is not None:
            return float(size), f"metadata ({name})"
    return None


def _from_tiff_tags(path: str) -> Optional[Tuple[float, str]]:
    import tifffile
    try:
        tif = tifffile.TiffFile(path)
    except Exception:  # noqa: BLE001 - not a TIFF, or one tifffile cannot parse
        return None
    with tif:
        return _first_size(TIFF_READERS, tif)


def read_pixel_size_nm(path: str) -> Tuple[Optional[float], str]:
    """``(nm per pixel, source)`` from the first reader that finds one, else ``(None, "absent")``.

    Unreadable or malformed metadata counts as absent; a value outside 1 pm-100 µm per pixel is
    ignored as implausible.
    """
    return _from_tiff_tags(path) or _first_size(FILE_READERS, path) or (None, "absent")
