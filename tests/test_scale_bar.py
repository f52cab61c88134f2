"""Pixel size from the scale bar of the data bar, read by Tesseract OCR."""
from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from paddleseg_hru2net.microscopy.ocr import tesseract_available
from paddleseg_hru2net.microscopy.scale_bar import read_scale_bar

needs_tesseract = pytest.mark.skipif(not tesseract_available() and not os.environ.get("CI"),
                                     reason="tesseract not installed (scripts/install_system_packages.sh)")


def data_bar(label: str, bar_px: int, bright: bool = True, ticks: bool = True) -> np.ndarray:
    """A drawn data bar: microscope text on the left, ``label`` over a bar of ``bar_px``
    between its end ticks' centres on the right."""
    ink, paper = (235, 20) if bright else (20, 235)
    image = Image.new("L", (640, 60), paper)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=18)
    draw.text((20, 20), "Mag = 50.00 K X   WD = 4 mm   EHT = 5 kV", fill=ink, font=font)
    left = 480
    draw.text((left + 15, 4), label, fill=ink, font=font)
    draw.rectangle([left, 40, left + bar_px, 41], fill=ink)
    if ticks:
        for x in (left, left + bar_px):
            draw.rectangle([x - 1, 32, x + 1, 49], fill=ink)
    return np.asarray(image)


@needs_tesseract
@pytest.mark.parametrize("label, bar_px, expected_nm, bright, ticks", [
    ("500 nm", 100, 5.0, True, True),
    ("2 um", 125, 16.0, False, True),
    ("200nm", 80, 2.5, True, False),
])
def test_scale_bar_label_and_length_give_the_pixel_size(label, bar_px, expected_nm, bright, ticks):
    bar = read_scale_bar(data_bar(label, bar_px, bright, ticks))
    assert bar is not None
    assert bar.pixel_size_nm == pytest.approx(expected_nm, rel=0.015)


@needs_tesseract
def test_no_scale_bar_gives_none():
    image = Image.new("L", (640, 60), 20)
    ImageDraw.Draw(image).text((20, 20), "Mag = 50.00 K X   WD = 4 mm", fill=235,
                                font=ImageFont.load_default(size=18))
    assert read_scale_bar(np.asarray(image)) is None
    assert read_scale_bar(np.zeros((0, 640), np.uint8)) is None


@needs_tesseract
@pytest.mark.tio2
def test_scale_bar_agrees_with_the_zeiss_metadata(tio2_release, tmp_path):
    """TiO2 images carry both: the OCR'd scale bar is within 1.5 % of tag 34118's pixel size, and
    a copy without metadata (PNG) gets its pixel size from the scale bar."""
    from paddleseg_hru2net.analysis.workflow import load_sem_image
    from paddleseg_hru2net.microscopy.pixel_size import read_pixel_size_nm
    for image_id in ("1908248", "1908288", "1908310"):
        path = tio2_release / "Electron Microscopy Images" / "SEM" / f"{image_id}.tif"
        metadata, _ = read_pixel_size_nm(str(path))
        copy = tmp_path / f"{image_id}.png"
        Image.open(path).convert("L").save(copy)
        image = load_sem_image(str(copy))
        assert image.pixel_size_source.startswith("scale bar '200 nm'")
        assert image.pixel_size_nm == pytest.approx(metadata, rel=0.015)


@needs_tesseract
def test_a_misread_unit_leaves_the_size_unknown_rather_than_wrong():
    """Tesseract may read the drawn "1 µm" as "14m": no unit, so no pixel size (not 14 m)."""
    bar = read_scale_bar(data_bar("1 µm", 125, False, True))
    assert bar is None or bar.pixel_size_nm == pytest.approx(8.0, rel=0.015)


def hitachi_data_bar(working_distance: str, label: str, bar_px: int) -> np.ndarray:
    """A drawn data bar laid out as Hitachi's: voltage, working distance and magnification,
    then ``label`` on one line, a bar of ``bar_px`` over the label, within reach of the working
    distance's text too."""
    image = Image.new("L", (720, 50), 10)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=18)
    draw.text((120, 26), f"SU8020 10.0kV {working_distance} x100k", fill=240, font=font)
    left = 420
    draw.text((left + 120, 26), label, fill=240, font=font)
    draw.rectangle([left, 12, left + bar_px, 13], fill=240)
    for x in (left, left + bar_px):
        draw.rectangle([x - 1, 4, x + 1, 21], fill=240)
    return np.asarray(image)


@needs_tesseract
def test_the_working_distance_is_not_taken_for_the_scale_bar():
    """A data bar's length in mm is its working distance ("8.4mm" printed before the scale bar's
    "500nm", with the bar within reach of both): the pixel size is the scale bar's, 2.5 nm,
    not 8.4 mm over the part of the bar near the working distance."""
    bar = read_scale_bar(hitachi_data_bar("8.4mm", "500nm", 200))
    assert bar is not None and bar.label == "500nm"
    assert bar.pixel_size_nm == pytest.approx(2.5, rel=0.015)


def hitachi_ruler(label: str, ticks: int, spacing: int, speck: bool = True) -> np.ndarray:
    """A drawn Hitachi data bar whose scale is a ruler: ``ticks`` evenly spaced ticks, long at
    both ends and in the middle, no line, over ``label`` (the ruler's whole length); the
    image's grey above the black band (as a data bar found with a few rows of the image)."""
    image = Image.new("L", (720, 60), 10)
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, 719, 9], fill=90)
    font = ImageFont.load_default(size=18)
    draw.text((20, 36), "SU8010 5.0kV 8.9mm x500 LM(L)", fill=240, font=font)
    left = 690 - (ticks - 1) * spacing
    for index in range(ticks):
        x = left + index * spacing
        top = 14 if index in (0, ticks // 2, ticks - 1) else 20
        draw.rectangle([x, top, x + 1, 28], fill=240)
    if speck:
        draw.rectangle([left + spacing + 5, 24, left + spacing + 6, 24], fill=240)
    draw.text((620, 36), label, fill=240, font=font)
    return np.asarray(image)


@needs_tesseract
def test_a_ruler_of_ticks_is_measured_from_its_first_tick_to_its_last():
    """Hitachi prints a ruler of 11 ticks without a line, its label the whole length:
    100 µm over 10 x 27 px is 370 nm per pixel."""
    bar = read_scale_bar(hitachi_ruler("100um", 11, 27))
    assert bar is not None and bar.length_px == pytest.approx(270, abs=1)
    assert bar.pixel_size_nm == pytest.approx(100_000 / 270, rel=0.01)


@needs_tesseract
def test_a_label_printed_with_precision_is_taken_over_a_ruler_only():
    """Hitachi's ruler labels print fractional zeros ("10.0um"), and so do measured lengths
    such as FEI's field width: over a ruler the label gives the size, over a line it does not."""
    ruler = read_scale_bar(hitachi_ruler("10.0um", 11, 27))
    assert ruler is not None and ruler.pixel_size_nm == pytest.approx(10_000 / 270, rel=0.01)
    assert read_scale_bar(data_bar("10.0 um", 125)) is None
    assert read_scale_bar(data_bar("10 um", 125)).pixel_size_nm == pytest.approx(80.0, rel=0.015)


@pytest.mark.parametrize("number, is_round, precise", [
    ("200", True, False), ("500", True, False), ("1", True, False), ("0.5", True, False), ("25", True, False),
    ("1.5", True, False), ("2,5", True, False), ("10.0", True, True), ("1.00", True, True),
    ("7.5", False, False), ("8.9", False, False), ("168", False, False), ("7.520", False, True),
    ("5.97", False, False), ("66", False, False),
])
def test_scale_bars_are_drawn_for_round_lengths(number, is_round, precise):
    from paddleseg_hru2net.microscopy.scale_bar import has_printed_precision, is_round_length
    assert is_round_length(number) is is_round
    assert has_printed_precision(number) is precise


@needs_tesseract
@pytest.mark.parametrize("boxed", [False, True])
def test_a_scale_bar_drawn_over_the_image_gives_the_pixel_size(tmp_path, boxed):
    """A figure's scale bar, a bar of 120 px with "200 nm" under it, drawn on the sample in white
    (or in black in a white label box): no metadata and no data bar, and the pixel size is read
    from it (200 nm over the 119 px between its end pixels' centres), the summary says where
    from. The sample alone gives none."""
    from paddleseg_hru2net.analysis.workflow import load_sem_image
    from paddleseg_hru2net.datasets.synthetic import SyntheticSEMConfig, generate_sem_image
    sample, _ = generate_sem_image(6, SyntheticSEMConfig(height=320, width=480, data_bar_rows=0))
    Image.fromarray(sample).save(tmp_path / "plain.png")
    assert load_sem_image(str(tmp_path / "plain.png")).pixel_size_nm is None
    figure = Image.fromarray(sample)
    draw = ImageDraw.Draw(figure)
    ink = 0 if boxed else 255
    if boxed:
        draw.rectangle([320, 240, 470, 310], fill=255)
    draw.rectangle([330, 250, 449, 256], fill=ink)
    draw.text((355, 266), "200 nm", fill=ink, font=ImageFont.load_default(size=20))
    figure.save(tmp_path / "figure.png")
    image = load_sem_image(str(tmp_path / "figure.png"))
    assert image.data_bar_rows == 0
    assert image.pixel_size_nm == pytest.approx(200 / 119, rel=0.015)
    assert image.pixel_size_source.startswith("scale bar drawn over the image: '200 nm'")
    assert image.pixel_size_is_drawn
