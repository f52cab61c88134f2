"""Issue 7: the separation-weighted cross-entropy finds the gaps between touching particles."""
from __future__ import annotations

import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

import paddleseg_hru2net  # noqa: F401  (registers the loss)
from paddleseg_hru2net.losses import SeparationWeightedCrossEntropyLoss, separation_gaps


def gaps_by_loops(particle: np.ndarray, width: int) -> np.ndarray:
    """Reference: a background pixel with particle within ``width`` on both sides of some line."""
    rows, cols = particle.shape
    out = np.zeros_like(particle, bool)

    def any_particle(r, c, dy, dx):
        for step in range(1, width + 1):
            y, x = r + dy * step, c + dx * step
            if 0 <= y < rows and 0 <= x < cols and particle[y, x]:
                return True
        return False

    for r in range(rows):
        for c in range(cols):
            if particle[r, c]:
                continue
            out[r, c] = any(any_particle(r, c, dy, dx) and any_particle(r, c, -dy, -dx)
                            for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)))
    return out


def gaps(mask: np.ndarray, width: int = 2) -> np.ndarray:
    tensor = paddle.to_tensor(mask.astype("float32"))[None, None]
    return separation_gaps(tensor, width).numpy()[0, 0].astype(bool)


def two_squares(gap: int) -> np.ndarray:
    mask = np.zeros((12, 16), bool)
    mask[2:10, 2:7] = True
    mask[2:10, 7 + gap:13] = True
    return mask


@pytest.mark.parametrize("gap,marked", [(1, [1]), (2, [1, 1]), (3, [0, 1, 0]), (4, [0, 0, 0, 0])])
def test_gap_between_two_squares_is_marked_up_to_its_width(gap, marked):
    found = gaps(two_squares(gap), width=2)
    assert (found[2:10, 7:7 + gap] == np.array(marked, bool)).all()
    assert found.sum() == 8 * sum(marked)


def test_a_lone_convex_particle_has_no_gaps():
    yy, xx = np.mgrid[:20, :20]
    assert not gaps((yy - 10) ** 2 + (xx - 9) ** 2 < 30).any()


@pytest.mark.parametrize("seed", [0, 1])
def test_gaps_match_a_loop_reference_on_random_masks(seed):
    mask = np.random.default_rng(seed).random((17, 23)) < 0.4
    for width in (1, 2):
        np.testing.assert_array_equal(gaps(mask, width), gaps_by_loops(mask, width))


def batch():
    rng = np.random.default_rng(0)
    label = np.repeat(two_squares(1)[None].astype("int64"), 2, axis=0)
    label[1, :, :2] = 255
    logit = paddle.to_tensor(rng.normal(size=(2, 2) + label.shape[1:]).astype("float32"))
    return logit, paddle.to_tensor(label)


def test_weight_one_is_the_plain_cross_entropy_over_valid_pixels():
    logit, label = batch()
    plain = F.cross_entropy(logit, label, ignore_index=255, axis=1)
    ours = SeparationWeightedCrossEntropyLoss(gap_weight=1)(logit, label)
    np.testing.assert_allclose(float(ours), float(plain), rtol=1e-5)


def test_gap_pixels_get_gap_weight_and_ignored_pixels_none():
    _, label = batch()
    weights = SeparationWeightedCrossEntropyLoss(gap_weight=10).pixel_weights(label).numpy()
    assert (weights[:, 2:10, 7] == 10).all()
    assert (weights[1, :, :2] == 0).all()
    assert set(np.unique(weights)) == {0.0, 1.0, 10.0}


def test_gradient_at_a_gap_pixel_is_gap_weight_times_larger():
    logit, label = batch()
    logit.stop_gradient = False
    SeparationWeightedCrossEntropyLoss(gap_weight=10)(logit, label).backward()
    grad = np.abs(logit.grad.numpy()[0]).sum(0)
    logits = logit.numpy()[0]
    # Same logits at a gap pixel and a plain background pixel: gradients differ by the weight.
    at_gap = grad[5, 7] / np.abs(np.exp(logits[:, 5, 7]) / np.exp(logits[:, 5, 7]).sum() - [1, 0]).sum()
    at_plain = grad[0, 0] / np.abs(np.exp(logits[:, 0, 0]) / np.exp(logits[:, 0, 0]).sum() - [1, 0]).sum()
    np.testing.assert_allclose(at_gap / at_plain, 10, rtol=1e-4)


def test_bad_weight_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="gap_weight must be at least 1"):
        SeparationWeightedCrossEntropyLoss(gap_weight=0.5)
