"""Whole-image inference by sliding window, and the metrics computed from it."""
from __future__ import annotations

import numpy as np
import pytest

from paddleseg_hru2net.inference import (blend_weight, normalise, sliding_window_probabilities,
                                         window_starts)
from paddleseg_hru2net.metrics import confusion_matrix, metrics_from_confusion


def local_model(batch: np.ndarray) -> np.ndarray:
    """A 'model' whose score depends on the pixel only: class 1 where the input is positive."""
    x = batch[:, :1]
    return np.concatenate([-x, x], axis=1) * 10.0


@pytest.mark.parametrize("shape", [(1, 50, 70), (1, 300, 517), (3, 161, 160)])
def test_sliding_window_equals_whole_image_for_a_pixelwise_model(shape):
    rng = np.random.default_rng(0)
    image = rng.normal(size=shape).astype(np.float32)
    probabilities = sliding_window_probabilities(image, local_model, (64, 96), (48, 72), 2)
    expected = sliding_window_probabilities(image, local_model, shape[1:], shape[1:], 2)
    assert probabilities.shape == (2, *shape[1:])
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
    np.testing.assert_array_equal(probabilities.argmax(0), (image[0] > 0).astype(int))


def test_windows_cover_every_pixel_and_blend_weights_are_positive():
    for length in (10, 160, 161, 712, 1024):
        starts = window_starts(length, 160, 120)
        covered = np.zeros(max(length, 160), bool)
        for start in starts:
            covered[start:start + 160] = True
        assert covered[:length].all() and starts[-1] + 160 >= length
    weight = blend_weight(8, 8)
    assert weight.min() > 0 and weight.max() <= 1


def test_normalise_matches_paddleseg_normalize():
    grey = np.array([[0, 255]], np.uint8)
    x = normalise(grey, 3, [0.5], [0.5])
    assert x.shape == (3, 1, 2)
    np.testing.assert_allclose(x[:, 0], [[-1, 1]] * 3)


def test_metrics_from_confusion_by_hand():
    label = np.array([[0, 0, 1, 1, 255]])
    pred = np.array([[0, 1, 1, 1, 0]])
    m = metrics_from_confusion(confusion_matrix(pred, label, 2))
    assert m["class_iou"] == pytest.approx([1 / 2, 2 / 3])
    assert m["accuracy"] == pytest.approx(3 / 4)
    assert m["particle_iou"] == pytest.approx(2 / 3)
    assert m["dice"] == pytest.approx(np.mean([2 / 3, 4 / 5]))
    # kappa: po = 3/4, pe = (1*2 + 3*2) / 16 = 1/2
    assert m["kappa"] == pytest.approx((0.75 - 0.5) / 0.5)
