"""Pixel size from each microscope vendor's metadata, tested on small files written here."""
from __future__ import annotations

import struct

import numpy as np
import pytest
import tifffile

from paddleseg_hru2net.microscopy.pixel_size import length_in_nm, read_pixel_size_nm

IMAGE = (np.arange(64 * 48) % 251).astype(np.uint8).reshape(48, 64)


def test_fei_thermo_fisher_tiff(tmp_path):
    text = "[User]\nDate=11/26/2026\n[Scan]\nPixelWidth=2.5e-09\nPixelHeight=2.5e-09\n"
    tifffile.imwrite(tmp_path / "fei.tif", IMAGE, extratags=[(34682, "s", 0, text, True)])
    assert read_pixel_size_nm(str(tmp_path / "fei.tif")) == (pytest.approx(2.5),
                                                             "metadata (FEI/Thermo Fisher TIFF metadata)")


def test_tescan_tiff(tmp_path):
    text = "[MAIN]\r\nDevice=MIRA3\r\nPixelSizeX=1.2e-08\r\nPixelSizeY=1.2e-08\r\n"
    tifffile.imwrite(tmp_path / "tescan.tif", IMAGE, extratags=[(50431, "s", 0, text, True)])
    size, source = read_pixel_size_nm(str(tmp_path / "tescan.tif"))
    assert size == pytest.approx(12.0) and "TESCAN" in source


def test_olympus_emsis_sis_tiff(tmp_path):
    """A TEM camera's SIS TIFF: tag 33560 holds a structure whose general data block (found by
    an absolute offset in the file) gives the calibration as a mantissa and a power of ten (m)."""
    header = struct.pack("<4s6xhhhhh6x32sH", b"SIS0", 30, 12, 3, 10, 126, b"particles", 1)
    general = struct.pack("<10xhdd8xd2x34s32s", -9, 0.52, 0.52, 60000.0, b"Morada", b"TEM")
    blob = header + struct.pack("<hhI", 1, 1, 0) + general
    path = tmp_path / "sis.tif"
    tifffile.imwrite(path, IMAGE, extratags=[(33560, "B", len(blob), blob, True)])
    data = bytearray(path.read_bytes())
    start = data.index(b"SIS0")
    data[start + 64:start + 68] = struct.pack("<I", start + len(header) + 8)  # where the block lies
    path.write_bytes(bytes(data))
    assert read_pixel_size_nm(str(path)) == (pytest.approx(0.52), "metadata (Olympus/EMSIS SIS TIFF metadata)")


def test_tvips_tiff(tmp_path):
    """A TVIPS camera's TIFF: tag 37706 holds the EM-MENU header; version 2 gives the pixel size
    at the specimen in nm (version 1 only the camera's pixel and the magnification: absent)."""
    first, second = np.zeros((), tifffile.TIFF.TVIPS_HEADER_V1), np.zeros((), tifffile.TIFF.TVIPS_HEADER_V2)
    second["Magic"], second["PixelSizeX"] = 0xAAAAAAAA, 0.135
    for version, expected in ((2, 0.135), (1, None)):
        first["Version"] = version
        blob = first.tobytes() + second.tobytes()
        tifffile.imwrite(tmp_path / "tvips.tif", IMAGE, extratags=[(37706, "B", len(blob), blob, True)])
        size, source = read_pixel_size_nm(str(tmp_path / "tvips.tif"))
        assert (size, source) == ((pytest.approx(expected, rel=1e-6), "metadata (TVIPS TIFF metadata)")
                                  if expected else (None, "absent"))


def test_ome_tiff(tmp_path):
    tifffile.imwrite(tmp_path / "x.ome.tif", IMAGE, ome=True,
                     metadata={"PhysicalSizeX": 0.004, "PhysicalSizeXUnit": "µm"})
    size, source = read_pixel_size_nm(str(tmp_path / "x.ome.tif"))
    assert size == pytest.approx(4.0) and "OME" in source


def test_imagej_tiff(tmp_path):
    tifffile.imwrite(tmp_path / "ij.tif", IMAGE, imagej=True, resolution=(1 / 3.5, 1 / 3.5),
                     metadata={"unit": "nm"})
    size, source = read_pixel_size_nm(str(tmp_path / "ij.tif"))
    assert size == pytest.approx(3.5, rel=1e-4) and "ImageJ" in source


def test_jeol_sidecar(tmp_path):
    tifffile.imwrite(tmp_path / "jeol.tif", IMAGE)
    (tmp_path / "jeol.txt").write_text("$CM_FORMAT JEOL/SEM\n$CM_FULL_SIZE 1280 960\n"
                                       "$$SM_MICRON_BAR 200\n$$SM_MICRON_MARKER 500nm\n")
    size, source = read_pixel_size_nm(str(tmp_path / "jeol.tif"))
    assert size == pytest.approx(2.5) and "JEOL" in source


def test_hitachi_sidecar(tmp_path):
    tifffile.imwrite(tmp_path / "hitachi.tif", IMAGE)
    (tmp_path / "hitachi.txt").write_text("[SemImageFile]\nInstructName=S-4800\nPixelSize=4.961\n")
    size, source = read_pixel_size_nm(str(tmp_path / "hitachi.tif"))
    assert size == pytest.approx(4.961) and "Hitachi" in source


def test_no_or_implausible_metadata_is_absent(tmp_path):
    tifffile.imwrite(tmp_path / "plain.tif", IMAGE)
    assert read_pixel_size_nm(str(tmp_path / "plain.tif")) == (None, "absent")
    (tmp_path / "plain.txt").write_text("PixelSize=-3\n")  # damaged sidecar: ignored
    assert read_pixel_size_nm(str(tmp_path / "plain.tif")) == (None, "absent")
    (tmp_path / "notes.png").write_bytes(b"not an image at all")
    assert read_pixel_size_nm(str(tmp_path / "notes.png")) == (None, "absent")


def test_units():
    assert length_in_nm(2, "µm") == 2000 and length_in_nm(5, "A") == 0.5
    assert length_in_nm(1, "parsec") is None


def test_zeiss_tiff_of_the_tio2_release(tio2_release):
    tif = next((tio2_release / "Electron Microscopy Images" / "SEM").glob("*.tif"))
    size, source = read_pixel_size_nm(str(tif))
    assert size == pytest.approx(7.344, abs=1e-3) and source == "metadata (Zeiss TIFF tag 34118)"
