"""Gatan DigitalMicrograph files (.dm3, .dm4): pixels, calibration, the analysis reading them.
The files are written by ``dm_files.write_dm`` in the layout of Gatan's software."""
from __future__ import annotations

import csv

import numpy as np
import pytest
from dm_files import write_dm
from PIL import Image

from paddleseg_hru2net.analysis.workflow import analyze_folder, list_sem_images, load_sem_image
from paddleseg_hru2net.analysis.run_folder import prepare_output_folder
from paddleseg_hru2net.datasets.synthetic import SyntheticSEMConfig, generate_sem_image
from paddleseg_hru2net.files import ImageReadError
from paddleseg_hru2net.microscopy.digital_micrograph import DMFormatError
from paddleseg_hru2net.microscopy.digital_micrograph import read_image as read_dm_image
from paddleseg_hru2net.microscopy.pixel_size import read_pixel_size_nm

PIXELS = (np.arange(40 * 56) % 4001).astype(np.uint16).reshape(40, 56)


@pytest.mark.parametrize("version", [3, 4])
@pytest.mark.parametrize("little_endian", [True, False])
def test_the_image_not_its_thumbnail_is_read_with_its_calibration(tmp_path, version, little_endian):
    path = write_dm(tmp_path / f"tem.dm{version}", PIXELS, scale=0.25, units="nm", version=version,
                    little_endian=little_endian)
    image = read_dm_image(str(path))
    assert image.pixels.dtype == np.uint16 and image.pixels.shape == (40, 56)
    np.testing.assert_array_equal(image.pixels, PIXELS)  # rows are y, x runs fastest
    assert image.pixel_size_nm == pytest.approx(0.25) and image.images_in_file == 1
    assert read_pixel_size_nm(str(path)) == (pytest.approx(0.25),
                                             "metadata (Gatan DigitalMicrograph calibration)")


@pytest.mark.parametrize("scale, units, nm", [(0.0021, "µm", 2.1), (3.0, "Å", 0.3), (0.5, "1/nm", None),
                                              (1.0, "", None)])
def test_calibration_units_become_nanometres_or_nothing(tmp_path, scale, units, nm):
    path = write_dm(tmp_path / "x.dm4", PIXELS, scale=scale, units=units, version=4)
    size, source = read_pixel_size_nm(str(path))
    if nm is None:  # a diffraction pattern's 1/nm, or no unit, is no pixel size
        assert (size, source) == (None, "absent")
    else:
        assert size == pytest.approx(nm, rel=1e-5) and "Gatan" in source


def test_a_stack_gives_its_first_plane_and_float_data_its_range(tmp_path):
    stack = np.stack([np.full((20, 24), 5.0, np.float32), np.full((20, 24), 9.0, np.float32)])
    stack[0, :10] = -3.0
    image = load_sem_image(str(write_dm(tmp_path / "stack.dm3", stack)), data_bar_rows=0)
    assert image.grey.shape == (20, 24)
    assert set(np.unique(image.grey)) == {0, 255}  # -3..5 of the first plane stretched to 0-255
    assert "page 1 of 2" in " ".join(image.notes)


def test_a_damaged_or_foreign_dm_file_is_one_line(tmp_path):
    good = write_dm(tmp_path / "good.dm3", PIXELS).read_bytes()
    (tmp_path / "cut.dm3").write_bytes(good[:len(good) // 2])
    (tmp_path / "other.dm4").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    for name in ("cut.dm3", "other.dm4"):
        with pytest.raises(ImageReadError, match=f"{name}: cannot read image: the file is damaged") as raised:
            load_sem_image(str(tmp_path / name))
        assert "\n" not in str(raised.value)
    with pytest.raises(DMFormatError):
        read_dm_image(str(tmp_path / "other.dm4"))


def test_a_folder_of_dm_files_is_analysed_in_the_files_nanometres(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    grey, _ = generate_sem_image(3, SyntheticSEMConfig(height=96, width=128, data_bar_rows=0))
    write_dm(folder / "a.dm4", grey.astype(np.uint8), scale=1.5, units="nm", version=4)
    Image.fromarray(grey).save(folder / "b.png")
    assert [p.rsplit("/", 1)[-1] for p in list_sem_images(str(folder))] == ["a.dm4", "b.png"]
    out = tmp_path / "out"
    prepare_output_folder(str(out), str(folder))
    particle_probability = lambda image: image.grey.astype(np.float32) / 255.0  # noqa: E731
    outcome = analyze_folder(str(folder), str(out), particle_probability, progress=False, data_bar_rows=0)
    assert outcome["failures"] == []
    with open(out / "summary.csv") as handle:
        rows = {r["image"]: r for r in csv.DictReader(handle)}
    assert rows["a.dm4"]["pixel_size_nm"] == "1.5"
    assert "Gatan" in rows["a.dm4"]["pixel_size_source"]
    assert rows["a.dm4"]["particles"] == rows["b.png"]["particles"] != "0"
