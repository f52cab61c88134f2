"""Issue 2: each Paddle 3 fix shows the stock failure and the fixed result."""
from __future__ import annotations

import importlib

import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

import paddleseg_hru2net  # noqa: F401  (applies the fixes)
from paddleseg_hru2net import compat


def batch(size=16, seed=0):
    rng = np.random.default_rng(seed)
    logit = paddle.to_tensor(rng.normal(size=(2, 2, size, size)).astype("float32"))
    label = rng.integers(0, 2, size=(2, size, size))
    label[0, :3] = 255
    return logit, paddle.to_tensor(label.astype("int64"))


def reference_cross_entropy(logit, label, weight=None):
    """Mean cross-entropy over non-ignored pixels, weighted PaddleSeg's way, in numpy."""
    x = logit.numpy().transpose(0, 2, 3, 1)
    y = label.numpy()
    log_p = x - np.log(np.exp(x).sum(-1, keepdims=True))
    valid = y != 255
    safe = np.where(valid, y, 0)
    nll = -np.take_along_axis(log_p, safe[..., None], -1)[..., 0]
    w = np.ones(2) if weight is None else np.asarray(weight)
    per_pixel_w = w[safe] * valid
    return float((nll * per_pixel_w).mean() / per_pixel_w.mean())


def test_all_four_defects_were_detected_on_this_paddle():
    assert set(compat.APPLIED) == {"CrossEntropyLoss", "OhemCrossEntropyLoss", "calculate_area",
                                   "train_logging"}


def test_probes_say_fixed_after_fix_and_apply_is_idempotent():
    assert not compat.cross_entropy_is_broken()
    assert not compat.ohem_is_broken()
    assert not compat.calculate_area_is_broken()
    assert not compat.train_logging_is_broken()
    before = dict(compat.ORIGINALS)
    compat.apply_all()
    assert compat.ORIGINALS == before


@pytest.mark.parametrize("weight", [None, [1.0, 3.0]])
def test_cross_entropy_stock_fails_fixed_matches_reference(weight):
    from paddleseg.models.losses import CrossEntropyLoss
    logit, label = batch()
    loss = CrossEntropyLoss(weight=weight)
    with pytest.raises(TypeError, match="[Tt]ype promotion"):
        compat.ORIGINALS["CrossEntropyLoss"](loss, logit.transpose([0, 2, 3, 1]), label, None,
                                             F.cross_entropy(logit.transpose([0, 2, 3, 1]), label,
                                                             ignore_index=255, reduction="none"))
    assert float(loss(logit, label)) == pytest.approx(reference_cross_entropy(logit, label, weight),
                                                      rel=1e-5)


def test_ohem_stock_fails_fixed_keeps_hard_pixels():
    from paddleseg.models.losses import OhemCrossEntropyLoss
    logit, label = batch(size=32)
    ohem = OhemCrossEntropyLoss(thresh=0.7, min_kept=100)
    with pytest.raises(TypeError, match="[Tt]ype promotion"):
        compat.ORIGINALS["OhemCrossEntropyLoss"](ohem, logit, label)
    value = float(ohem(logit, label))
    everything = reference_cross_entropy(logit, label)
    assert np.isfinite(value) and value > everything  # only hard (high-loss) pixels are kept
    # With a threshold above every probability, OHEM keeps every valid pixel: plain CE.
    assert float(OhemCrossEntropyLoss(thresh=1.01, min_kept=1)(logit, label)) == pytest.approx(
        everything, rel=1e-4)  # OHEM adds eps=1e-5 to its denominator


def test_calculate_area_stock_fails_fixed_counts_pixels():
    from paddleseg.utils import metrics
    _, label = batch()
    pred = paddle.to_tensor(np.random.default_rng(1).integers(0, 2, label.shape).astype("int64"))
    with pytest.raises(ValueError):
        compat.ORIGINALS["calculate_area"](pred, label, 2)
    intersect, pred_area, label_area = metrics.calculate_area(pred, label, 2, ignore_index=255)
    p, y = pred.numpy(), label.numpy()
    valid = y != 255
    for c in range(2):
        assert int(pred_area[c]) == int(((p == c) & valid).sum())
        assert int(label_area[c]) == int((y == c).sum())
        assert int(intersect[c]) == int(((p == c) & (y == c)).sum())


def test_train_logging_stock_fails_fixed_gives_indexable_losses():
    train_module = importlib.import_module("paddleseg.core.train")
    from paddleseg.models.losses import CrossEntropyLoss
    logit, label = batch()
    losses = {"types": [CrossEntropyLoss()], "coef": [1.0]}
    stock = train_module.loss_computation.__wrapped__(logits_list=[logit], labels=label, edges=None,
                                                      losses=losses)
    with pytest.raises(IndexError):  # what core.train's logging does: l.numpy()[0]
        [value.numpy() for value in stock][0][0]
    fixed = train_module.loss_computation(logits_list=[logit], labels=label, edges=None,
                                          losses=losses)
    assert fixed[0].shape == [1]
    assert float(fixed[0].numpy()[0]) == pytest.approx(float(stock[0]))
