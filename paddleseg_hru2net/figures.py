"""Figures of a comparison: training loss curves (the paper's Fig. 3) and a prediction grid with
false positives and false negatives coloured (the paper's Fig. 5)."""
from __future__ import annotations

import re
from typing import List, Mapping, Sequence, Tuple

import numpy as np

__all__ = ["parse_train_log", "plot_loss_curves", "error_overlay", "plot_prediction_grid"]

_TRAIN_LINE = re.compile(r"\[TRAIN\].*?iter: (\d+)/\d+, loss: ([0-9.eE+-]+)")
TP, FP, FN = (255, 255, 255), (230, 40, 40), (40, 110, 255)


def parse_train_log(path: str) -> Tuple[np.ndarray, np.ndarray]:
    """Iterations and losses logged by PaddleSeg's trainer (``train.log`` of a run)."""
    iterations, losses = [], []
    with open(path, errors="replace") as handle:
        for line in handle:
            match = _TRAIN_LINE.search(line)
            if match:
                iterations.append(int(match.group(1)))
                losses.append(float(match.group(2)))
    return np.array(iterations), np.array(losses)


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_loss_curves(curves: Mapping[str, Tuple[np.ndarray, np.ndarray]], path: str) -> None:
    """One line per model: training loss against iteration."""
    from paddleseg_hru2net.files import atomic_path
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, (iterations, losses) in curves.items():
        if len(iterations):
            ax.plot(iterations, losses, label=name, lw=1.3)
    ax.set_xlabel("iteration")
    ax.set_ylabel("training loss (sum over outputs)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Training loss")
    with atomic_path(path) as temporary:
        fig.savefig(temporary, dpi=120, bbox_inches="tight", format="png")
    plt.close(fig)


def error_overlay(image: np.ndarray, label: np.ndarray, prediction: np.ndarray,
                  ignore_index: int = 255) -> np.ndarray:
    """RGB picture of a binary prediction: true positives white, false positives red, false
    negatives blue, on the dimmed image."""
    grey = image.astype(np.float32)
    if grey.max() > 255:
        grey = grey / 257.0
    rgb = np.repeat((grey * 0.5)[..., None], 3, axis=2).astype(np.uint8)
    valid = label != ignore_index
    positive, truth = prediction == 1, label == 1
    for mask, colour in (((positive & truth), TP), ((positive & ~truth & valid), FP),
                         ((~positive & truth), FN)):
        rgb[mask] = colour
    return rgb


def _centre_crop(array: np.ndarray, size: int) -> np.ndarray:
    rows, cols = array.shape[:2]
    top, left = max((rows - size) // 2, 0), max((cols - size) // 2, 0)
    return array[top:top + size, left:left + size]


def plot_prediction_grid(images: Sequence[Tuple[str, np.ndarray, np.ndarray]],
                         predictions: Mapping[str, Mapping[str, np.ndarray]], path: str,
                         crop: int = 320) -> None:
    """Rows: test images (centre crops); columns: image, ground truth, then each model's errors.

    Args:
        images: ``(name, grey image, label)`` per row.
        predictions: ``{model: {image name: predicted mask}}``.
    """
    from paddleseg_hru2net.files import atomic_path
    plt = _pyplot()
    models: List[str] = list(predictions)
    rows, cols = len(images), 2 + len(models)
    fig, axes = plt.subplots(rows, cols, figsize=(2.3 * cols, 2.3 * rows), squeeze=False)
    for r, (name, image, label) in enumerate(images):
        panels = [(_centre_crop(image, crop), "image", "gray"),
                  (_centre_crop((label == 1).astype(np.uint8) * 255, crop), "ground truth", "gray")]
        for model in models:
            overlay = error_overlay(image, label, predictions[model][name])
            panels.append((_centre_crop(overlay, crop), model, None))
        for c, (panel, title, cmap) in enumerate(panels):
            axis = axes[r][c]
            axis.imshow(panel, cmap=cmap, vmin=0, vmax=255)
            axis.set_xticks([]), axis.set_yticks([])
            if r == 0:
                axis.set_title(title, fontsize=8)
        axes[r][0].set_ylabel(name, fontsize=8)
    fig.suptitle("white: true positive, red: false positive, blue: false negative", fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as temporary:
        fig.savefig(temporary, dpi=100, format="png")
    plt.close(fig)
