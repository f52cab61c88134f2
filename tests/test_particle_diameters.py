"""The one median particle size of a label image (microscopy/particle_diameters.py)."""
import numpy as np
import pytest

from paddleseg_hru2net.microscopy.particle_diameters import median_equivalent_diameter


def _disc_labels(centres_and_radii, shape=(120, 120)) -> np.ndarray:
    rows, cols = np.indices(shape)
    labels = np.zeros(shape, np.int32)
    for label, (row, col, radius) in enumerate(centres_and_radii, start=1):
        labels[(rows - row) ** 2 + (cols - col) ** 2 <= radius ** 2] = label
    return labels


def test_median_leaves_out_particles_cut_by_the_border_where_others_remain():
    labels = _disc_labels([(30, 30, 8), (80, 80, 12), (0, 60, 25)])
    whole = median_equivalent_diameter(labels)
    assert whole == pytest.approx(20.0, rel=0.05)  # discs of radius 8 and 12
    area = np.bincount(labels.ravel())[1:]
    with_cut = float(np.median(np.sqrt(4 * area / np.pi)))
    assert median_equivalent_diameter(labels, leave_out_border_cut=False) == pytest.approx(with_cut)
    assert with_cut != pytest.approx(whole, rel=0.01)
    only_cut = _disc_labels([(0, 60, 25)])
    assert median_equivalent_diameter(only_cut) == pytest.approx(np.sqrt(4 * (only_cut > 0).sum() / np.pi))


def test_median_skips_small_and_missing_labels_and_says_none_when_nothing_is_left():
    labels = _disc_labels([(30, 30, 10), (80, 80, 1)])
    labels[labels == 2] = 7  # ids need not be consecutive
    assert median_equivalent_diameter(labels, min_area=9) == pytest.approx(20.0, rel=0.05)
    assert median_equivalent_diameter(labels) < 20.0 * 0.95  # the speck counts without min_area
    assert median_equivalent_diameter(np.zeros((10, 10), np.int32)) is None
    assert median_equivalent_diameter(labels, min_area=10_000) is None
