"""Label boxes, scale bars and text drawn over a micrograph are found, and are no particles."""
from __future__ import annotations

import os

import numpy as np
import pytest
from scipy import ndimage as ndi

from paddleseg_hru2net.analysis.workflow import SEMImage, analyze_image, overlay, summary_row
from paddleseg_hru2net.datasets.synthetic import SyntheticSEMConfig, generate_sem_image
from paddleseg_hru2net.microscopy.annotations import drawn_particles, find_annotations, find_text
from paddleseg_hru2net.microscopy.ocr import tesseract_available

needs_tesseract = pytest.mark.skipif(not tesseract_available() and not os.environ.get("CI"),
                                     reason="tesseract not installed (scripts/install_system_packages.sh)")


def _micrograph(seed: int = 4) -> np.ndarray:
    grey, _ = generate_sem_image(seed, SyntheticSEMConfig(height=256, width=320, data_bar_rows=0))
    return grey


def _draw_annotations(grey: np.ndarray) -> np.ndarray:
    """A white label box with dark 'text' (and JPEG-like +-1 noise) at the top left, a black
    scale bar at the bottom right."""
    drawn = grey.copy()
    noise = np.random.default_rng(0).integers(-1, 2, size=(34, 60))
    drawn[6:40, 8:68] = 254 + np.clip(noise, -1, 0)
    for left in (16, 30, 44):  # three glyphs
        drawn[14:32, left:left + 8] = 20
    drawn[230:236, 200:300] = 0
    return drawn


def test_drawn_boxes_and_bars_are_found_and_the_particles_are_not():
    grey = _micrograph()
    assert find_annotations(grey) == []  # particles, however bright or flat-topped, are no annotation
    found = find_annotations(_draw_annotations(grey))
    assert [(a.kind, a.top, a.left, a.height, a.width) for a in found] == [
        ("box", 7, 9, 32, 58), ("bar", 231, 201, 4, 98)]  # the flat cores, one pixel in from the edges


def test_a_coloured_scale_bar_is_found_though_it_is_mid_grey():
    grey = _micrograph()
    grey[230:236, 200:300] = 150  # a red or blue bar, as grey
    assert [(a.kind, a.top, a.left, a.height, a.width) for a in find_annotations(grey)] == [("bar", 231, 201, 4, 98)]


def test_a_box_drawn_over_the_image_is_not_counted_as_a_particle():
    grey = _draw_annotations(_micrograph())
    image = SEMImage("figure.png", grey, 0, None, "none (pixels)")
    result = analyze_image(image, grey.astype(np.float32) / 255.0)  # bright = particle
    assert result.left_out_as_annotations >= 1
    inside_box = [p for p in result.particles if 6 <= p.centroid_row < 40 and 8 <= p.centroid_col < 68]
    assert inside_box == []
    assert result.mask[6:40, 8:68].sum() == 0 and result.labels.max() == len(result.particles)
    assert "1 label box(es), 1 scale bar(s)" in summary_row(result)["notes"]
    framed = overlay(grey, result.labels, image.annotations)
    assert (framed[5, 10:60] == (0, 255, 255)).all()  # the box's frame, its margin included
    clean = _micrograph()
    plain = analyze_image(SEMImage("plain.png", clean, 0, None, "none (pixels)"), clean.astype(np.float32) / 255.0)
    assert plain.left_out_as_annotations == 0 and "drawn over" not in summary_row(plain)["notes"]


def _draw_letters(grey: np.ndarray) -> np.ndarray:
    """A panel letter "L" and a "T", pure white strokes 7 px wide without a box (as figures
    label their panels and scale bars)."""
    drawn = grey.copy()
    drawn[4:40, 4:11] = 255
    drawn[33:40, 4:28] = 255
    drawn[4:11, 32:58] = 255
    drawn[4:40, 42:49] = 255
    return drawn


def test_letters_drawn_without_a_box_are_not_particles_and_noisy_particles_stay():
    clean = _micrograph()
    plain = analyze_image(SEMImage("plain.png", clean, 0, None, "none (pixels)"), clean.astype(np.float32) / 255.0)
    grey = _draw_letters(clean)
    image = SEMImage("figure.png", grey, 0, None, "none (pixels)")
    assert find_annotations(grey) == []  # no outline of a box or bar: found by their particles
    result = analyze_image(image, grey.astype(np.float32) / 255.0)
    assert result.left_out_as_annotations >= 2
    in_letters = [p for p in result.particles if p.centroid_row < 42 and p.centroid_col < 60]
    assert max(p.area for p in in_letters) < 20  # specks of the background only
    assert result.mask[10:36, 20:30].sum() == 0
    untouched = [p for p in plain.particles if p.centroid_row > 50 or p.centroid_col > 70]
    kept = [p for p in result.particles if p.centroid_row > 50 or p.centroid_col > 70]
    assert len(kept) == len(untouched) > 5  # the synthetic (noisy) particles are all kept
    assert "letters and numbers" in summary_row(result)["notes"]
    framed = overlay(grey, result.labels, image.annotations, result.left_out)
    assert (framed[20, 4] == (0, 255, 255)).all()  # the outline of the "L" left out, for the user to see


def test_a_saturated_particle_is_compact_and_stays_a_particle():
    """Flat white is not enough: a clipped particle is flat and white too, but not in strokes."""
    grey = np.random.default_rng(1).integers(30, 60, size=(300, 300)).astype(np.uint8)
    rows, cols = np.mgrid[:300, :300]
    grey[np.hypot(rows - 80, cols - 80) <= 14] = 255  # a saturated particle, 0.7 % of the image
    grey[150:190, 150:157] = grey[183:190, 150:180] = 255  # an "L"
    labels, count = ndi.label(grey > 200)
    assert count == 2
    assert drawn_particles(grey, labels).tolist() == [labels[170, 153]]


def _write_noisy_text(grey: np.ndarray, text: str, left: int, top: int) -> np.ndarray:
    """``text`` printed light grey over ``grey`` with +-8 levels of noise (a JPEG'd figure's
    label: nothing flat in it, so neither the box test nor the drawn-mark test sees it)."""
    from PIL import Image, ImageDraw, ImageFont
    ink = Image.new("L", grey.shape[::-1], 0)
    ImageDraw.Draw(ink).text((left, top), text, fill=255, font=ImageFont.load_default(size=30))
    strokes = np.asarray(ink) > 127
    noise = np.random.default_rng(1).integers(-8, 9, size=grey.shape)
    written = grey.astype(np.int16)
    written[strokes] = 225 + noise[strokes]
    return np.clip(written, 0, 255).astype(np.uint8)


def _figure_of_discs(seed: int = 0) -> np.ndarray:
    """A figure panel: five bright discs (grey about 190) on a noisy dark background."""
    rng = np.random.default_rng(seed)
    grey = rng.normal(50, 6, (256, 320))
    rows, cols = np.mgrid[:256, :320]
    for row, col, radius in ((50, 60, 18), (60, 150, 22), (45, 250, 15), (120, 90, 20), (130, 200, 25)):
        grey[(rows - row) ** 2 + (cols - col) ** 2 < radius ** 2] = 190 + rng.normal(0, 10)
    return np.clip(grey, 0, 255).astype(np.uint8)


@needs_tesseract
def test_a_scale_bar_label_printed_over_the_image_is_no_particle():
    plain = _figure_of_discs()
    assert find_text(plain) == []  # discs are not read as text
    grey = _write_noisy_text(plain, "200 nm", 180, 200)
    image = SEMImage("figure.png", grey, 0, None, "none (pixels)")
    assert [a.kind for a in image.annotations] == ["text"]
    word = image.annotations[0]
    assert 175 <= word.left <= 185 and 200 <= word.top <= 215 and 80 <= word.width <= 110
    result = analyze_image(image, (grey >= 150).astype(np.float32))  # glyphs and discs are particles here
    assert len(result.particles) == 5 and result.left_out_as_annotations >= 4
    assert all(p.centroid_row < 160 for p in result.particles)
    assert "1 word(s) of text" in summary_row(result)["notes"]


def test_tesseract_runs_with_one_thread_unless_the_environment_says_otherwise(monkeypatch):
    """Tesseract's default OpenMP threads made it 2.1x slower on 2 cores (same words); the user's
    own OMP_THREAD_LIMIT stands."""
    import subprocess

    from paddleseg_hru2net.microscopy import ocr
    seen = []

    def fake_run(command, **kwargs):
        seen.append(kwargs["env"].get("OMP_THREAD_LIMIT"))
        return subprocess.CompletedProcess(command, 0, stdout=b"level\n", stderr=b"")

    monkeypatch.setattr(ocr, "tesseract_available", lambda: True)
    monkeypatch.setattr(ocr.subprocess, "run", fake_run)
    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    assert ocr.ocr_words(np.zeros((20, 20), np.uint8)) == []
    monkeypatch.setenv("OMP_THREAD_LIMIT", "4")
    ocr.ocr_words(np.zeros((20, 20), np.uint8))
    assert seen == ["1", "4"]
