"""How far the particle statistics of a model can be trusted: compare them with manual masks.

The manual particles are the 4-connected regions of the manual mask (the annotators separated
touching particles by 1-px background lines); the model's go through the analysis' splitting
(:func:`~paddleseg_hru2net.analysis.workflow.analyze_image`); both are measured alike. Per image:
particle counts, median equivalent circle diameters, and how many particles match one-to-one
(intersection over union above 0.5, the usual instance-segmentation criterion: at that
threshold a particle can match at most one other).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Union

import numpy as np

from paddleseg_hru2net.analysis.particles import measure_particles
from paddleseg_hru2net.analysis.workflow import (ImageResult, SEMImage, Segmentation, Splitting,
                                                 analyze_image, analyze_segmentation)

__all__ = ["ParticleMatch", "match_particles", "OUTCOMES", "ParticleOutcome", "manual_particle_outcomes", "outcome_table",
           "ImageComparison", "manual_particles",
           "compare_with_manual", "comparison_table", "summarise", "total_match", "score_splittings",
           "ScaleTuning", "rank_across_scales", "SCALE_MEDIAN_TOLERANCE", "SCALE_IOU_TOLERANCE", "F1_TIE"]


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


class _Overlaps(NamedTuple):
    """Every overlapping pair of a manual and a predicted particle (``manual_ids``,
    ``predicted_ids``, ``pixels`` in common), and the areas of all manual and all predicted
    particles (indexed by id)."""

    manual_ids: np.ndarray
    predicted_ids: np.ndarray
    pixels: np.ndarray
    manual_area: np.ndarray
    predicted_area: np.ndarray


def _overlaps(manual: np.ndarray, predicted: np.ndarray) -> _Overlaps:
    if manual.shape != predicted.shape:
        raise ValueError(f"label images differ in shape: {manual.shape} vs {predicted.shape}")
    truth, guess = manual.ravel().astype(np.int64), predicted.ravel().astype(np.int64)
    n_guess = int(guess.max())
    both = (truth > 0) & (guess > 0)
    pairs, overlap = np.unique(truth[both] * (n_guess + 1) + guess[both], return_counts=True)
    truth_area = np.bincount(truth, minlength=int(truth.max()) + 1)
    guess_area = np.bincount(guess, minlength=n_guess + 1)
    return _Overlaps(pairs // (n_guess + 1), pairs % (n_guess + 1), overlap, truth_area, guess_area)


def match_particles(manual: np.ndarray, predicted: np.ndarray,
                    iou_threshold: float = 0.5) -> ParticleMatch:
    """Count manual particles that one predicted particle overlaps with IoU > ``iou_threshold``.

    Args:
        manual, predicted: int label images of the same shape (0 background).
        iou_threshold: at 0.5 or more each particle has at most one partner.
    """
    return _matches(_overlaps(manual, predicted), iou_threshold)


def _matches(overlaps: _Overlaps, iou_threshold: float = 0.5) -> ParticleMatch:
    if iou_threshold < 0.5:
        raise ValueError("iou_threshold below 0.5 allows one particle several partners")
    o = overlaps
    iou = o.pixels / (o.manual_area[o.manual_ids] + o.predicted_area[o.predicted_ids] - o.pixels)
    return ParticleMatch(int((iou > iou_threshold).sum()), int(np.count_nonzero(o.manual_area[1:])),
                         int(np.count_nonzero(o.predicted_area[1:])))


#: What became of a manual particle in a model's labels (:func:`manual_particle_outcomes`).
OUTCOMES = ("matched", "merged", "split", "missed", "misshapen")


@dataclass(frozen=True)
class ParticleOutcome:
    """What became of one manual particle (one of :data:`OUTCOMES`), and the area of the model
    particle that overlaps it most over its own (0 where none does)."""

    kind: str
    area_ratio: float


def manual_particle_outcomes(manual: np.ndarray, predicted: np.ndarray) -> Dict[int, ParticleOutcome]:
    """For each manual particle id, what the model made of it, judged by the predicted particle
    that overlaps it most:

    * ``matched``: that particle's IoU with it is above 0.5;
    * ``merged``: it lies mostly (over half) inside that particle, which is larger: the model
      joined it to a neighbour;
    * ``split``: over half of it is particle in the model's mask, but no one particle holds half;
    * ``missed``: under half of it is particle in the model's mask;
    * ``misshapen``: mostly inside a particle no larger than it, whose IoU with it is 0.5 or
      less (shifted or of another shape).
    """
    return _outcomes(_overlaps(manual, predicted))


def _outcomes(overlaps: _Overlaps) -> Dict[int, ParticleOutcome]:
    o = overlaps
    best_guess, best_overlap = {}, {}
    for truth_id, guess_id, pixels in zip(o.manual_ids.tolist(), o.predicted_ids.tolist(), o.pixels.tolist()):
        if pixels > best_overlap.get(truth_id, 0):
            best_guess[truth_id], best_overlap[truth_id] = guess_id, pixels
    covered = np.bincount(o.manual_ids, weights=o.pixels, minlength=len(o.manual_area))
    outcomes = {}
    for truth_id in (np.flatnonzero(o.manual_area[1:]) + 1).tolist():
        area, pixels = o.manual_area[truth_id], best_overlap.get(truth_id, 0)
        guess_area_of_best = o.predicted_area[best_guess[truth_id]] if pixels else 0
        if pixels and pixels / (area + guess_area_of_best - pixels) > 0.5:
            outcome = "matched"
        elif 2 * pixels > area:
            outcome = "merged" if guess_area_of_best > area else "misshapen"
        else:
            outcome = "split" if 2 * covered[truth_id] > area else "missed"
        outcomes[truth_id] = ParticleOutcome(outcome, float(guess_area_of_best / area))
    return outcomes


@dataclass
class ImageComparison:
    """One image's particles, manual against model. Counts and diameters leave out particles
    cut by the image border (as the analysis summary does); matches count all. ``pixels_both``
    and ``pixels_either``: the areas (pixels) of the intersection and union of the manual and the
    model's particle pixels."""

    image: str
    diameters_manual: List[float]
    diameters_model: List[float]
    unit: str
    match: ParticleMatch
    pixels_both: float
    pixels_either: float
    outcome_diameters: Dict[str, List[float]] = field(default_factory=dict)
    matched_diameter_ratios: List[float] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)

    @property
    def count_manual(self) -> int:
        return len(self.diameters_manual)

    @property
    def count_model(self) -> int:
        return len(self.diameters_model)

    @property
    def median_diameter_manual(self) -> float:
        return float(np.median(self.diameters_manual)) if self.diameters_manual else float("nan")

    @property
    def median_diameter_model(self) -> float:
        return float(np.median(self.diameters_model)) if self.diameters_model else float("nan")

    @property
    def particle_iou(self) -> float:
        return self.pixels_both / self.pixels_either if self.pixels_either else 1.0


def manual_particles(image: SEMImage, manual_mask: np.ndarray) -> ImageResult:
    """The annotators' particles: an instance map as it is, or the 4-connected regions of a 0/1
    mask, whose 1-px background lines separate touching particles."""
    from paddleseg_hru2net.datasets.instance_targets import instances_from_mask  # imports PaddleSeg: seconds
    labels = manual_mask.astype(np.int32) if manual_mask.max() > 1 else instances_from_mask(manual_mask)
    return ImageResult(image.path, (labels > 0).astype(np.uint8), labels,
                       measure_particles(labels, image.pixel_size_nm), image)


def compare_with_manual(image: SEMImage, manual_mask: np.ndarray,
                        prediction: Union[np.ndarray, Segmentation],
                        splitting: Optional[Splitting] = None,
                        truth: Optional[ImageResult] = None,
                        manual_coverage: Optional[np.ndarray] = None) -> ImageComparison:
    """Particles of the model (split by ``splitting``, else by the settings the segmentation
    carries, else by the defaults) next to the manual ones (``truth``, computed from
    ``manual_mask`` if not given). ``prediction`` is a :class:`Segmentation`, as ``hru2net
    analyze`` makes it, or probabilities / a mask on the image's grid. ``manual_coverage``: for
    an annotation resampled to another grid, the share of each pixel its particles cover
    (:func:`~paddleseg_hru2net.microscopy.resampling.resampled_coverage`); the particle IoU
    is then that of the annotated area with the model's pixels, which no rounding of the
    resampled mask changes."""
    model = (analyze_segmentation(image, prediction, splitting) if isinstance(prediction, Segmentation)
             else analyze_image(image, prediction, splitting or Splitting()))
    if manual_mask.shape != model.mask.shape:
        raise ValueError(f"{image.path}: manual mask {manual_mask.shape} and prediction "
                         f"{model.mask.shape} differ in shape")
    truth = truth or manual_particles(image, manual_mask)

    def diameters(result: ImageResult) -> List[float]:
        return [p.equivalent_diameter for p in result.particles if not p.touches_border]

    manual = (manual_mask > 0).astype(np.float32) if manual_coverage is None else manual_coverage
    predicted = (model.mask > 0).astype(np.float32)
    overlaps = _overlaps(truth.labels, model.labels)
    outcomes = _outcomes(overlaps)
    outcome_diameters: Dict[str, List[float]] = {outcome: [] for outcome in OUTCOMES}
    for particle in truth.particles:
        outcome_diameters[outcomes[particle.label].kind].append(particle.equivalent_diameter)
    matched_ratios = [float(np.sqrt(o.area_ratio)) for o in outcomes.values() if o.kind == "matched"]
    return ImageComparison(os.path.basename(image.path), diameters(truth), diameters(model),
                           truth.unit, _matches(overlaps),
                           float(np.minimum(manual, predicted).sum()), float(np.maximum(manual, predicted).sum()),
                           outcome_diameters, matched_ratios, list(model.warnings))


def comparison_table(rows: Sequence[ImageComparison]) -> List[str]:
    """Markdown lines: one row per image and a total row (diameters pooled over all images)."""
    unit = rows[0].unit if rows else "nm"
    lines = [f"| image | count manual | count model | median ECD manual ({unit}) | "
             f"median ECD model ({unit}) | particle IoU | matched (IoU>0.5) | precision | recall | F1 |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        m = row.match
        lines.append(f"| {row.image} | {row.count_manual} | {row.count_model} | "
                     f"{row.median_diameter_manual:.1f} | {row.median_diameter_model:.1f} | "
                     f"{row.particle_iou:.3f} | {m.matched} | {m.precision:.3f} | {m.recall:.3f} | {m.f1:.3f} |")
    total = summarise(rows)
    lines.append(f"| all | {total['count_manual']} | {total['count_model']} | "
                 f"{total['median_manual']:.1f} | {total['median_model']:.1f} | "
                 f"{total['particle_iou']:.3f} | {total['matched']} | {total['precision']:.3f} | "
                 f"{total['recall']:.3f} | {total['f1']:.3f} |")
    return lines


def outcome_table(rows: Sequence[ImageComparison]) -> List[str]:
    """Markdown lines: what became of the manual particles (:func:`manual_particle_outcomes`),
    over all images (border-cut particles included, as in the matching): how many, their share
    and their median equivalent circle diameter; then how much larger the model draws the
    particles it matches (the median ratio of equivalent diameters, model over manual), which
    tells a wide mask from merged particles."""
    unit = rows[0].unit if rows else "nm"
    pooled = {outcome: [d for row in rows for d in row.outcome_diameters.get(outcome, [])]
              for outcome in OUTCOMES}
    total = sum(len(diameters) for diameters in pooled.values())
    lines = [f"| manual particles | count | share | median ECD ({unit}) |", "|---|---|---|---|"]
    for outcome, diameters in pooled.items():
        median = f"{np.median(diameters):.1f}" if diameters else "-"
        share = 100.0 * len(diameters) / total if total else 0.0
        lines.append(f"| {outcome} | {len(diameters)} | {share:.1f} % | {median} |")
    ratios = [r for row in rows for r in row.matched_diameter_ratios]
    if ratios:
        lines.append(f"matched particles: model / manual equivalent diameter, median {np.median(ratios):.3f}")
    return lines


def warning_table(rows: Sequence[ImageComparison]) -> List[str]:
    """Markdown lines: the images the analysis warned about (out of its depth, a near tie of the
    contrast; see its summary) against the others - how many, and their pooled figures - so
    that how far a warning is worth heeding is measured, not assumed."""
    lines = ["| images | count | particle IoU | F1@0.5 | images with particle IoU < 0.5 |",
             "|---|---|---|---|---|"]
    for name, group in (("warned about", [r for r in rows if r.warnings]),
                        ("not warned about", [r for r in rows if not r.warnings])):
        if not group:
            lines.append(f"| {name} | 0 | - | - | - |")
            continue
        total = summarise(group)
        poor = sum(r.particle_iou < 0.5 for r in group)
        lines.append(f"| {name} | {len(group)} | {total['particle_iou']:.3f} | {total['f1']:.3f} | {poor} |")
    return lines


def summarise(rows: Sequence[ImageComparison]) -> dict:
    """Totals over images: counts, pooled median diameters and their ratios (not a number where
    the images' lengths are in different units: nm and px never share a statistic), particle
    pixel IoU, one-to-one matches; ``unit`` names the unit of the medians ("mixed": none)."""
    match = total_match(rows)
    manual = [d for r in rows for d in r.diameters_manual]
    model = [d for r in rows for d in r.diameters_model]
    either = sum(r.pixels_either for r in rows)
    one_unit = len({r.unit for r in rows}) <= 1
    summary = {"images": len(rows), "unit": rows[0].unit if rows and one_unit else "mixed",
               "count_manual": len(manual), "count_model": len(model),
               "median_manual": float(np.median(manual)) if manual and one_unit else float("nan"),
               "median_model": float(np.median(model)) if model and one_unit else float("nan"),
               "particle_iou": sum(r.pixels_both for r in rows) / either if either else 1.0,
               "matched": match.matched, "precision": match.precision, "recall": match.recall,
               "f1": match.f1}
    summary["count_ratio"] = summary["count_model"] / summary["count_manual"] if manual else float("nan")
    summary["median_ratio"] = summary["median_model"] / summary["median_manual"] if manual else float("nan")
    return summary


def total_match(rows: Iterable[ImageComparison]) -> ParticleMatch:
    return sum((r.match for r in rows), ParticleMatch(0, 0, 0))


def score_splittings(samples: Sequence[tuple], splittings: Iterable[Splitting],
                     enlarged_only: bool = False) -> List[tuple]:
    """``(splitting, summary)`` of each candidate over ``samples`` of ``(SEMImage, manual mask,
    Segmentation or probabilities, manual coverage or None)`` (see :func:`compare_with_manual`),
    best F1 first (see :func:`summarise`). ``enlarged_only``: a candidate splits only the images
    enlarged for the model (the ``splitting_enlarged`` of a model's record); the others keep the
    model's own settings.

    For choosing the splitting on validation images; never on the test images.
    """
    truths = [manual_particles(image, manual) for image, manual, _, _ in samples]
    own_rows = [compare_with_manual(image, manual, prediction, None, truth, coverage)
                if enlarged_only and _keeps_own_splitting(prediction) else None
                for (image, manual, prediction, coverage), truth in zip(samples, truths)]
    scored = [(splitting, summarise([own if own is not None else
                                     compare_with_manual(image, manual, prediction, splitting, truth, coverage)
                                     for (image, manual, prediction, coverage), truth, own
                                     in zip(samples, truths, own_rows)]))
              for splitting in splittings]
    return sorted(scored, key=lambda item: -item[1]["f1"])


def _keeps_own_splitting(prediction: Union[np.ndarray, Segmentation]) -> bool:
    """Whether an image keeps the model's own settings while those of images enlarged for the
    model are chosen: it was not enlarged."""
    return isinstance(prediction, Segmentation) and not prediction.scale.enlarges


#: Issue 14's marks for the analysis at another magnification (0.5x to 2x): the median equivalent
#: diameter (in nm) within 3 % of the one measured at the image's own, particle IoU within 0.02.
SCALE_MEDIAN_TOLERANCE = 0.03
SCALE_IOU_TOLERANCE = 0.02
#: Settings this close in F1 count as tied; the tie goes to the median diameter closest to the
#: manual one (the rule the shipped settings were chosen by: ``train_meta.json``, "history").
F1_TIE = 0.01


@dataclass(frozen=True)
class ScaleTuning:
    """One candidate splitting scored on the same images at several magnifications:
    ``summaries[i]`` (:func:`summarise`) at ``factors[i]``; the first is the reference."""

    splitting: Splitting
    factors: tuple
    summaries: tuple

    @property
    def reference(self) -> dict:
        return self.summaries[0]

    def median_change(self, index: int) -> float:
        """Relative change of the median diameter at ``factors[index]`` from the reference."""
        return self.summaries[index]["median_model"] / self.reference["median_model"] - 1.0

    def iou_change(self, index: int) -> float:
        return self.summaries[index]["particle_iou"] - self.reference["particle_iou"]

    def consistent(self, median_tolerance: float = SCALE_MEDIAN_TOLERANCE,
                   iou_tolerance: float = SCALE_IOU_TOLERANCE) -> bool:
        """Whether the median (a number in every summary) and the particle IoU at every other
        magnification lie within the tolerances of the reference's."""
        return all(abs(self.median_change(i)) <= median_tolerance and abs(self.iou_change(i)) <= iou_tolerance
                   for i in range(1, len(self.factors)))


def rank_across_scales(factors: Sequence[float], scored_at: Sequence[List[tuple]],
                       f1_tie: float = F1_TIE) -> List[ScaleTuning]:
    """The candidates of :func:`score_splittings` run at each of ``factors`` (the same grid),
    best first: those :meth:`ScaleTuning.consistent` before the others; among them, the ones
    within ``f1_tie`` of the best F1 at the first factor by how close their median diameter
    comes to the manual one there, then the rest by F1 at the first factor, then by the worst
    F1 at the others. Sizes must be in nm, so that they compare across magnifications (a median
    in pixels changes with the factor)."""
    if len(factors) != len(scored_at) or not factors:
        raise ValueError(f"{len(factors)} factors and {len(scored_at)} scorings: need one scoring per factor")
    by_factor = [dict(scored) for scored in scored_at]
    tunings = [ScaleTuning(splitting, tuple(factors), tuple(at[splitting] for at in by_factor))
               for splitting, _ in scored_at[0]]
    best_f1 = max((t.reference["f1"] for t in tunings if t.consistent()), default=float("nan"))

    def rank(tuning: ScaleTuning) -> tuple:
        ref = tuning.reference
        tied = tuning.consistent() and ref["f1"] >= best_f1 - f1_tie
        return (not tuning.consistent(), not tied,
                abs(ref["median_model"] / ref["median_manual"] - 1.0) if tied else 0.0,
                -ref["f1"], -min(s["f1"] for s in tuning.summaries))
    return sorted(tunings, key=rank)
