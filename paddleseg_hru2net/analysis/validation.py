"""How far the particle statistics of a model can be trusted: compare them with manual masks.

Both the manual mask and the model's probability map go through the same splitting and
measurement (:func:`~paddleseg_hru2net.analysis.workflow.analyze_image`); then per image:
particle counts, median equivalent circle diameters, and how many particles match one-to-one
(intersection over union above 0.5, the usual instance-segmentation criterion: at that
threshold a particle can match at most one other).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Sequence

import numpy as np

from paddleseg_hru2net.analysis.workflow import SEMImage, Splitting, analyze_image, summary_row

__all__ = ["ParticleMatch", "match_particles", "ImageComparison", "compare_with_manual",
           "comparison_table", "total_match", "score_splittings"]


@dataclass
class ParticleMatch:
    """One-to-one matches between manual and predicted particles."""

    matched: int
    manual: int
    predicted: int

    @property
    def precision(self) -> float:
        return self.matched / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.matched / self.manual if self.manual else 0.0

    @property
    def f1(self) -> float:
        total = self.manual + self.predicted
        return 2.0 * self.matched / total if total else 1.0

    def __add__(self, other: "ParticleMatch") -> "ParticleMatch":
        return ParticleMatch(self.matched + other.matched, self.manual + other.manual,
                             self.predicted + other.predicted)


def match_particles(manual: np.ndarray, predicted: np.ndarray,
                    iou_threshold: float = 0.5) -> ParticleMatch:
    """Count manual particles that one predicted particle overlaps with IoU > ``iou_threshold``.

    Args:
        manual, predicted: int label images of the same shape (0 background).
        iou_threshold: at 0.5 or more each particle has at most one partner.
    """
    if manual.shape != predicted.shape:
        raise ValueError(f"label images differ in shape: {manual.shape} vs {predicted.shape}")
    if iou_threshold < 0.5:
        raise ValueError("iou_threshold below 0.5 allows one particle several partners")
    truth, guess = manual.ravel().astype(np.int64), predicted.ravel().astype(np.int64)
    n_truth, n_guess = int(truth.max()), int(guess.max())
    both = (truth > 0) & (guess > 0)
    pairs, overlap = np.unique(truth[both] * (n_guess + 1) + guess[both], return_counts=True)
    truth_ids, guess_ids = pairs // (n_guess + 1), pairs % (n_guess + 1)
    truth_area = np.bincount(truth, minlength=n_truth + 1)
    guess_area = np.bincount(guess, minlength=n_guess + 1)
    iou = overlap / (truth_area[truth_ids] + guess_area[guess_ids] - overlap)
    count = lambda labels: len(np.unique(labels[labels > 0]))  # noqa: E731
    return ParticleMatch(int((iou > iou_threshold).sum()), count(truth), count(guess))


@dataclass
class ImageComparison:
    image: str
    count_manual: int
    count_model: int
    median_diameter_manual: float
    median_diameter_model: float
    unit: str
    match: ParticleMatch


def compare_with_manual(image: SEMImage, manual_mask: np.ndarray, probability: np.ndarray,
                        splitting: Splitting = Splitting()) -> ImageComparison:
    """Statistics of the manual mask next to those of the model (particles cut by the border
    are left out of counts and diameters, as in the analysis summary)."""
    if manual_mask.shape != probability.shape:
        raise ValueError(f"{image.path}: manual mask {manual_mask.shape} and prediction "
                         f"{probability.shape} differ in shape")
    truth = analyze_image(image, manual_mask.astype(np.float32), splitting)
    model = analyze_image(image, probability, splitting)
    truth_row, model_row = summary_row(truth), summary_row(model)
    return ImageComparison(truth_row["image"], truth_row["particles_not_at_border"],
                           model_row["particles_not_at_border"],
                           _number(truth_row["median_equivalent_diameter"]),
                           _number(model_row["median_equivalent_diameter"]), truth_row["unit"],
                           match_particles(truth.labels, model.labels))


def _number(value) -> float:
    return float(value) if value != "" else float("nan")


def comparison_table(rows: Sequence[ImageComparison]) -> List[str]:
    """Markdown lines: one row per image and a total row."""
    unit = rows[0].unit if rows else "nm"
    lines = [f"| image | count manual | count model | median ECD manual ({unit}) | "
             f"median ECD model ({unit}) | matched (IoU>0.5) | precision | recall | F1 |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        m = row.match
        lines.append(f"| {row.image} | {row.count_manual} | {row.count_model} | "
                     f"{row.median_diameter_manual:.1f} | {row.median_diameter_model:.1f} | "
                     f"{m.matched} | {m.precision:.3f} | {m.recall:.3f} | {m.f1:.3f} |")
    total = total_match(rows)
    lines.append(f"| all | {sum(r.count_manual for r in rows)} | {sum(r.count_model for r in rows)} | "
                 f"{np.median([r.median_diameter_manual for r in rows]):.1f} (median of images) | "
                 f"{np.median([r.median_diameter_model for r in rows]):.1f} | {total.matched} | "
                 f"{total.precision:.3f} | {total.recall:.3f} | {total.f1:.3f} |")
    return lines


def total_match(rows: Iterable[ImageComparison]) -> ParticleMatch:
    return sum((r.match for r in rows), ParticleMatch(0, 0, 0))


def score_splittings(samples: Sequence[tuple], splittings: Iterable[Splitting]) -> List[tuple]:
    """``(splitting, total ParticleMatch, total manual count, total model count)`` of each
    candidate over ``samples`` of ``(SEMImage, manual mask, probability)``, best F1 first.

    For choosing the splitting on validation images; never on the test images.
    """
    scored = []
    for splitting in splittings:
        rows = [compare_with_manual(image, manual, probability, splitting)
                for image, manual, probability in samples]
        scored.append((splitting, total_match(rows), sum(r.count_manual for r in rows),
                       sum(r.count_model for r in rows)))
    return sorted(scored, key=lambda item: -item[1].f1)
