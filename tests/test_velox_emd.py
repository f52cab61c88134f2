"""Thermo Fisher Velox .emd files: pixels, pixel size, a Berkeley EMD refused in one line.
The files are written by ``velox_files.write_velox`` in Velox's layout."""
from __future__ import annotations

import h5py
import numpy as np
import pytest
from velox_files import write_velox

from paddleseg_hru2net.analysis.workflow import load_sem_image
from paddleseg_hru2net.files import ImageReadError
from paddleseg_hru2net.microscopy.pixel_size import read_pixel_size_nm
from paddleseg_hru2net.microscopy.velox_emd import read_image as read_velox_image

PIXELS = (np.arange(48 * 64) % 3000).astype(np.uint16).reshape(48, 64)


def test_the_largest_image_and_its_first_frame_with_the_pixel_size(tmp_path):
    path = write_velox(tmp_path / "stem.emd", PIXELS, pixel_size="1.5e-10", frames=3)
    image = read_velox_image(str(path))
    np.testing.assert_array_equal(image.pixels, PIXELS)  # not the BF preview, not frame 2 or 3
    assert (image.images_in_file, image.planes) == (2, 3)
    assert image.pixel_size_nm == pytest.approx(0.15)
    assert read_pixel_size_nm(str(path)) == (pytest.approx(0.15), "metadata (Thermo Fisher Velox metadata)")
    loaded = load_sem_image(str(path), data_bar_rows=0)
    assert loaded.grey.shape == (48, 64) and "page 1 of 3" in " ".join(loaded.notes)


@pytest.mark.parametrize("pixel_size, unit, nm", [("0.002", "µm", 2.0), (None, "m", None), ("3", "1/nm", None)])
def test_calibration_in_other_units_or_none(tmp_path, pixel_size, unit, nm):
    path = write_velox(tmp_path / "x.emd", PIXELS, pixel_size=pixel_size, unit=unit, preview=False)
    size, source = read_pixel_size_nm(str(path))
    assert (size, source) == ((None, "absent") if nm is None else (pytest.approx(nm), source))


def test_a_berkeley_emd_or_a_damaged_file_is_one_line(tmp_path):
    with h5py.File(tmp_path / "ncem.emd", "w") as handle:
        handle.create_dataset("data/image/data", data=PIXELS)
    (tmp_path / "cut.emd").write_bytes(write_velox(tmp_path / "whole.emd", PIXELS).read_bytes()[:900])
    for name, why in (("ncem.emd", "a Berkeley EMD file, not a Velox image; export the image as TIFF"),
                      ("cut.emd", "the file is damaged")):
        with pytest.raises(ImageReadError, match=f"{name}: cannot read image") as raised:
            load_sem_image(str(tmp_path / name))
        assert why in str(raised.value) and "\n" not in str(raised.value)
    assert "damaged" not in str(raised_for(tmp_path / "ncem.emd"))


def raised_for(path) -> ImageReadError:
    with pytest.raises(ImageReadError) as raised:
        load_sem_image(str(path))
    return raised.value
