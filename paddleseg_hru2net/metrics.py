"""The paper's metrics (mIoU, pixel accuracy, Kappa, Dice, per-class IoU) from a confusion matrix."""
from __future__ import annotations

from typing import Dict, Sequence

import numpy as np

__all__ = ["confusion_matrix", "metrics_from_confusion", "dice_from_iou", "metrics_from_paddleseg"]


def confusion_matrix(prediction: np.ndarray, label: np.ndarray, num_classes: int,
                     ignore_index: int = 255) -> np.ndarray:
    """``C[t, p]``: number of pixels of true class ``t`` predicted as ``p`` (ignored pixels left out)."""
    valid = label != ignore_index
    index = label[valid].astype(np.int64) * num_classes + prediction[valid].astype(np.int64)
    return np.bincount(index, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def dice_from_iou(iou: np.ndarray) -> np.ndarray:
    """Per-class Dice from per-class IoU: Dice = 2 IoU / (1 + IoU) (both are set overlaps)."""
    iou = np.asarray(iou, dtype=np.float64)
    return 2.0 * iou / (1.0 + iou)


def _summary(class_iou: np.ndarray, accuracy: float, kappa: float,
             class_precision: Sequence[float] | None = None) -> Dict[str, object]:
    class_dice = dice_from_iou(class_iou)
    result: Dict[str, object] = {
        "mIoU": float(np.mean(class_iou)),
        "accuracy": float(accuracy),
        "kappa": float(kappa),
        "dice": float(np.mean(class_dice)),
        "class_iou": [float(v) for v in class_iou],
        "class_dice": [float(v) for v in class_dice],
    }
    if class_precision is not None:
        result["class_precision"] = [float(v) for v in class_precision]
    if len(class_iou) == 2:
        result["particle_iou"] = float(class_iou[1])
    return result


def metrics_from_confusion(confusion: np.ndarray) -> Dict[str, object]:
    """mIoU, accuracy, Cohen's kappa, mean Dice and per-class values of a confusion matrix."""
    confusion = np.asarray(confusion, dtype=np.float64)
    total = confusion.sum()
    true_positive = np.diag(confusion)
    predicted = confusion.sum(axis=0)
    actual = confusion.sum(axis=1)
    union = predicted + actual - true_positive
    class_iou = np.divide(true_positive, union, out=np.zeros_like(union), where=union > 0)
    accuracy = true_positive.sum() / total if total else 0.0
    expected = (predicted * actual).sum() / (total * total) if total else 0.0
    kappa = (accuracy - expected) / (1.0 - expected) if expected < 1.0 else 0.0
    precision = np.divide(true_positive, predicted, out=np.zeros_like(predicted), where=predicted > 0)
    result = _summary(class_iou, accuracy, kappa, precision)
    if len(confusion) > 2:  # particle = every class but background (e.g. particle + contact)
        particle_both = confusion[1:, 1:].sum()
        particle_union = total - confusion[0, 0]
        result["particle_iou"] = float(particle_both / particle_union) if particle_union else 0.0
    return result


def metrics_from_paddleseg(miou: float, accuracy: float, class_iou: np.ndarray,
                           class_precision: np.ndarray, kappa: float) -> Dict[str, object]:
    """The same summary from what ``paddleseg.core.evaluate`` returns (it computes no Dice)."""
    return _summary(np.asarray(class_iou), accuracy, kappa, class_precision)
