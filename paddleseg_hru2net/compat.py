"""Fixes that let PaddleSeg 2.8 train and evaluate on Paddle >= 2.5 (0-D tensors, strict promotion).

PaddleSeg 2.8.0 was written for Paddle 2.4, where reductions returned shape-[1] tensors and mixing
float32 with int64 in arithmetic was silently promoted. On Paddle 3.x both changed, and four places
in PaddleSeg break:

=========================================  ==================================================
defect                                     symptom on Paddle 3.3.1
=========================================  ==================================================
``CrossEntropyLoss._post_process_loss``    ``TypeError: Type promotion only support ...``
``OhemCrossEntropyLoss.forward``           the same, once more than ``min_kept`` pixels are valid
``paddleseg.core.train`` logging           ``IndexError`` at ``l[0]`` on a 0-D loss value
``paddleseg.utils.metrics.calculate_area`` ``ValueError`` from ``paddle.concat`` of 0-D tensors
=========================================  ==================================================

Each fix is applied only when a small probe shows that the installed PaddleSeg has the defect, so a
user on a PaddleSeg that is already fixed runs untouched code. :func:`apply_all` is called once when
:mod:`paddleseg_hru2net` is imported; :data:`APPLIED` records which fixes took effect.

The export defect (``paddle.jit.save`` writes ``model.json`` under PIR while PaddleSeg's
``deploy.yaml`` names ``model.pdmodel``) lives in PaddleSeg's *tools*, not its package, and is
handled where we export: :mod:`paddleseg_hru2net.deploy.export`.
"""
from __future__ import annotations

import importlib
import inspect
from typing import Callable, Dict, List

import numpy as np
import paddle
import paddle.nn.functional as F

__all__ = ["APPLIED", "ORIGINALS", "apply_all", "masked_cross_entropy_mean", "confusion_areas"]

#: Names of the fixes that :func:`apply_all` applied in this process.
APPLIED: List[str] = []

#: The stock objects each applied fix replaced, by fix name (kept for tests and for undoing).
ORIGINALS: Dict[str, object] = {}


# --------------------------------------------------------------------------- replacement code
def masked_cross_entropy_mean(loss: paddle.Tensor, label: paddle.Tensor, ignore_index: int,
                              class_weight: paddle.Tensor | None = None,
                              pixel_weight: paddle.Tensor | None = None,
                              only_valid: bool = True,
                              top_k_fraction: float = 1.0,
                              eps: float = 1e-8) -> paddle.Tensor:
    """Average a per-pixel cross-entropy map the way PaddleSeg's ``CrossEntropyLoss`` documents.

    Args:
        loss: per-pixel loss, shape ``(N, H, W)`` (a trailing axis of size 1 is dropped).
        label: class ids, same shape as ``loss``; ``ignore_index`` marks pixels to leave out.
        ignore_index: label value excluded from the loss and, if ``only_valid``, from the mean.
        class_weight: optional per-class weights, shape ``(C,)``; the mean is normalised by the
            weights of the pixels' classes, as PaddleSeg does.
        pixel_weight: optional per-pixel weights, shape of ``label``.
        only_valid: average over non-ignored pixels only (PaddleSeg's ``avg_non_ignore``).
        top_k_fraction: keep only the hardest fraction of pixels (1.0 keeps all).
        eps: guards the division when every pixel is ignored.

    Returns:
        A 0-D float tensor.
    """
    if loss.ndim > label.ndim:
        loss = loss.squeeze(-1)
    valid = label != ignore_index
    if only_valid:
        mask = valid.astype(loss.dtype)
    else:
        mask = paddle.ones_like(loss)
    mask.stop_gradient = True
    loss = loss * mask
    if pixel_weight is not None:
        loss = loss * pixel_weight.astype(loss.dtype)

    if class_weight is not None:
        safe_label = paddle.where(valid, label, paddle.zeros_like(label))
        norm = paddle.gather(class_weight.astype(loss.dtype), safe_label.flatten()).reshape(label.shape)
        norm = norm * mask
    else:
        norm = mask
    norm.stop_gradient = True

    if top_k_fraction >= 1.0:
        return loss.mean() / (norm.mean() + eps)
    flat_loss = loss.flatten()
    keep = max(int(top_k_fraction * flat_loss.shape[0]), 1)
    hardest, index = paddle.topk(flat_loss, keep)
    return hardest.mean() / (paddle.gather(norm.flatten(), index).mean() + eps)


def _cross_entropy_post_process(self, logit, label, semantic_weights, loss):
    """Drop-in for ``CrossEntropyLoss._post_process_loss`` with explicit dtypes."""
    return masked_cross_entropy_mean(
        loss, label.astype("int64"), self.ignore_index,
        class_weight=self.weight, pixel_weight=semantic_weights,
        only_valid=self.avg_non_ignore, top_k_fraction=self.top_k_percent_pixels, eps=self.EPS)


def _ohem_forward(self, logit, label):
    """Drop-in for ``OhemCrossEntropyLoss.forward``: online hard example mining.

    Pixels whose predicted probability for their true class is below a threshold are kept; the
    threshold is raised, if needed, so that at least ``min_kept`` pixels stay.
    """
    if label.ndim == logit.ndim:
        label = label.squeeze(1)
    label = label.astype("int64")
    valid = label != self.ignore_index
    safe_label = paddle.where(valid, label, paddle.zeros_like(label))
    pixel_loss = F.cross_entropy(logit, safe_label, reduction="none", axis=1).squeeze(1)
    true_prob = paddle.exp(-pixel_loss)

    keep = valid
    num_valid = int(valid.astype("int64").sum())
    if 0 < self.min_kept < num_valid:
        ranked = paddle.sort(paddle.where(valid, true_prob, paddle.full_like(true_prob, 2.0)).flatten())
        kth_prob = float(ranked[min(self.min_kept, num_valid) - 1])
        threshold = max(self.thresh, kth_prob)
        keep = paddle.logical_and(valid, true_prob <= threshold)
    keep_f = keep.astype(pixel_loss.dtype)
    keep_f.stop_gradient = True
    return (pixel_loss * keep_f).mean() / (keep_f.mean() + self.EPS)


def confusion_areas(pred: paddle.Tensor, label: paddle.Tensor, num_classes: int,
                    ignore_index: int = 255):
    """Per-class intersection, prediction and label pixel counts, as 1-D int64 tensors.

    Same contract as ``paddleseg.utils.metrics.calculate_area``; pixels labelled
    ``ignore_index`` count nowhere.
    """
    if pred.ndim == 4:
        pred = pred.squeeze(1)
    if label.ndim == 4:
        label = label.squeeze(1)
    if pred.shape != label.shape:
        raise ValueError(f"prediction shape {pred.shape} and label shape {label.shape} differ")
    valid = label != ignore_index
    pred_counts, label_counts, both_counts = [], [], []
    for class_id in range(num_classes):
        pred_c = paddle.logical_and(pred == class_id, valid)
        label_c = label == class_id
        pred_counts.append(pred_c.astype("int64").sum())
        label_counts.append(label_c.astype("int64").sum())
        both_counts.append(paddle.logical_and(pred_c, label_c).astype("int64").sum())
    return paddle.stack(both_counts), paddle.stack(pred_counts), paddle.stack(label_counts)


def _with_one_element_losses(loss_computation: Callable) -> Callable:
    """Wrap ``core.train.loss_computation`` so each loss has shape [1], as train's logging expects."""

    def loss_computation_1d(*args, **kwargs):
        return [loss.reshape([1]) if loss.ndim == 0 else loss
                for loss in loss_computation(*args, **kwargs)]

    loss_computation_1d.__wrapped__ = loss_computation
    return loss_computation_1d


# --------------------------------------------------------------------------------- probes
def _raises(probe: Callable[[], object], errors=(TypeError, ValueError, IndexError)) -> bool:
    try:
        probe()
    except errors:
        return True
    return False


def _tiny_batch():
    logit = paddle.to_tensor(np.linspace(-1, 1, 2 * 2 * 4 * 4, dtype="float32").reshape(2, 2, 4, 4))
    label = paddle.to_tensor((np.arange(2 * 4 * 4) % 3 == 0).astype("int64").reshape(2, 4, 4))
    return logit, label


def cross_entropy_is_broken() -> bool:
    from paddleseg.models.losses import CrossEntropyLoss
    logit, label = _tiny_batch()
    return _raises(lambda: CrossEntropyLoss()(logit, label)) or \
        _raises(lambda: CrossEntropyLoss(weight=[1.0, 2.0])(logit, label))


def ohem_is_broken() -> bool:
    from paddleseg.models.losses import OhemCrossEntropyLoss
    logit, label = _tiny_batch()
    return _raises(lambda: OhemCrossEntropyLoss(min_kept=4)(logit, label))


def calculate_area_is_broken() -> bool:
    from paddleseg.utils import metrics
    _, label = _tiny_batch()
    return _raises(lambda: metrics.calculate_area(label, label, 2))


def train_logging_is_broken() -> bool:
    """True when train indexes per-loss values (``l[0]``) and this Paddle's losses are 0-D.

    Running ``train`` itself as a probe would cost seconds at import (it sleeps and counts
    FLOPs), so the probe checks the two halves of the defect separately.
    """
    train_module = importlib.import_module("paddleseg.core.train")
    indexes_losses = "l[0]" in inspect.getsource(train_module.train)
    losses_are_0d = paddle.ones([2]).mean().ndim == 0
    already_wrapped = hasattr(train_module.loss_computation, "__wrapped__")
    return indexes_losses and losses_are_0d and not already_wrapped


# ---------------------------------------------------------------------------------- apply
def _replace(name: str, owner: object, attribute: str, replacement: object) -> None:
    ORIGINALS[name] = getattr(owner, attribute)
    setattr(owner, attribute, replacement)


def _fix_cross_entropy() -> None:
    from paddleseg.models.losses import CrossEntropyLoss
    _replace("CrossEntropyLoss", CrossEntropyLoss, "_post_process_loss", _cross_entropy_post_process)


def _fix_ohem() -> None:
    from paddleseg.models.losses import OhemCrossEntropyLoss
    _replace("OhemCrossEntropyLoss", OhemCrossEntropyLoss, "forward", _ohem_forward)


def _fix_calculate_area() -> None:
    from paddleseg.utils import metrics
    _replace("calculate_area", metrics, "calculate_area", confusion_areas)


def _fix_train_logging() -> None:
    train_module = importlib.import_module("paddleseg.core.train")
    _replace("train_logging", train_module, "loss_computation",
             _with_one_element_losses(train_module.loss_computation))


FIXES: Dict[str, tuple] = {
    "CrossEntropyLoss": (cross_entropy_is_broken, _fix_cross_entropy),
    "OhemCrossEntropyLoss": (ohem_is_broken, _fix_ohem),
    "calculate_area": (calculate_area_is_broken, _fix_calculate_area),
    "train_logging": (train_logging_is_broken, _fix_train_logging),
}


def apply_all() -> List[str]:
    """Probe each known defect and fix those present. Safe to call more than once."""
    for name, (is_broken, fix) in FIXES.items():
        if name not in APPLIED and is_broken():
            fix()
            APPLIED.append(name)
    return list(APPLIED)
