"""Pixel size from each microscope vendor's metadata, tested on small files written here."""
from __future__ import annotations

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
