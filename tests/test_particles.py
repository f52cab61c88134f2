"""Particle statistics: instance splitting and measurements checked against geometry."""
from __future__ import annotations

import numpy as np
import pytest

from paddleseg_hru2net.analysis import feret_diameters, measure_particles, split_touching


def disc(shape, centre, radius):
    rows, cols = np.ogrid[:shape[0], :shape[1]]
    return (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius ** 2


def test_two_touching_discs_become_two_particles_with_their_areas():
    shape = (80, 120)
    left, right = disc(shape, (40, 40), 20), disc(shape, (40, 78), 20)  # overlap by 2 px
    mask = left | right
    assert (left & right).any()
    labels = split_touching(mask)
    assert labels.max() == 2
    particles = measure_particles(labels)
    areas = sorted(p.area for p in particles)
    expected = left.sum()  # each disc alone; the shared lens is split between them
    for area in areas:
        assert area == pytest.approx(expected - (left & right).sum() / 2, rel=0.03)
    assert sum(areas) == mask.sum()
    for particle in particles:
        assert particle.equivalent_diameter == pytest.approx(40, rel=0.03)


def test_single_disc_measurements():
    mask = disc((101, 101), (50, 50), 30)
    (particle,) = measure_particles(split_touching(mask), pixel_size=2.0)
    assert particle.unit == "nm"
    assert particle.area == pytest.approx(np.pi * 30 ** 2 * 4, rel=0.01)
    assert particle.equivalent_diameter == pytest.approx(120, rel=0.01)
    assert particle.feret_max == pytest.approx(122, rel=0.02)  # 61 pixels across, as squares
    assert particle.feret_min == pytest.approx(122, rel=0.02)
    assert particle.aspect_ratio == pytest.approx(1.0, abs=0.03)
    assert particle.circularity > 0.9
    assert not particle.touches_border


def test_rectangle_feret_and_border_flag():
    mask = np.zeros((40, 60), bool)
    mask[0:10, 5:35] = True  # 10 x 30 rectangle on the top border
    (particle,) = measure_particles(split_touching(mask))
    assert particle.unit == "px"
    assert particle.area == 300
    assert particle.feret_min == pytest.approx(10, abs=0.01)
    assert particle.feret_max == pytest.approx(np.hypot(10, 30), abs=0.01)
    assert particle.aspect_ratio == pytest.approx(np.hypot(10, 30) / 10, rel=1e-3)
    assert particle.touches_border


def test_feret_of_one_pixel():
    assert feret_diameters(np.array([[3, 4]])) == pytest.approx((1.0, np.sqrt(2)))


def test_empty_mask_has_no_particles():
    assert measure_particles(split_touching(np.zeros((10, 10), bool))) == []
