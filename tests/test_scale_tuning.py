"""Choosing splitting settings that hold across magnifications (``hru2net-validate-analysis --tune
--rescale 1 1.5 2``) and the settings of images enlarged for the model alone (``--tune-enlarged``)."""
from __future__ import annotations

import numpy as np
import pytest

from paddleseg_hru2net.analysis.workflow import Splitting


def summary(f1: float, median: float, iou: float, manual: float = 90.0) -> dict:
    return {"f1": f1, "median_model": median, "median_manual": manual, "particle_iou": iou, "count_model": 10,
            "unit": "nm"}


def test_settings_whose_sizes_drift_with_magnification_rank_below_those_that_hold():
    """The best F1 at the image's own scale loses to settings within 3 % and 0.02 IoU at every
    other factor; among those that hold, the higher F1 at the first factor comes first."""
    from paddleseg_hru2net.analysis.validation import rank_across_scales
    drifting_median, drifting_iou, holds, holds_worse = (Splitting(core_threshold=c) for c in (0.6, 0.7, 0.8, 0.9))
    at_1 = [(drifting_median, summary(0.75, 100.0, 0.90)), (drifting_iou, summary(0.74, 100.0, 0.90)),
            (holds, summary(0.73, 100.0, 0.90)), (holds_worse, summary(0.70, 100.0, 0.90))]
    at_2 = [(drifting_median, summary(0.75, 103.5, 0.90)), (drifting_iou, summary(0.74, 101.0, 0.875)),
            (holds, summary(0.72, 102.9, 0.885)), (holds_worse, summary(0.70, 97.1, 0.91))]
    ranked = rank_across_scales([1.0, 2.0], [at_1, at_2])
    assert [t.splitting for t in ranked] == [holds, holds_worse, drifting_median, drifting_iou]
    assert [t.consistent() for t in ranked] == [True, True, False, False]
    assert ranked[0].median_change(1) == pytest.approx(0.029)
    assert ranked[0].iou_change(1) == pytest.approx(-0.015)


def test_among_settings_within_0_01_f1_the_median_closest_to_the_manual_one_comes_first():
    from paddleseg_hru2net.analysis.validation import rank_across_scales
    best_f1, close_median, far = (Splitting(core_threshold=c) for c in (0.6, 0.7, 0.8))
    at_1 = [(best_f1, summary(0.750, 110.0, 0.9)), (close_median, summary(0.742, 95.0, 0.9)),
            (far, summary(0.739, 92.0, 0.9))]
    at_2 = [(s, summary(0.7, t["median_model"], 0.9)) for s, t in at_1]
    ranked = rank_across_scales([1.0, 2.0], [at_1, at_2])
    assert [t.splitting for t in ranked] == [close_median, best_f1, far]


def test_ranking_needs_one_scoring_per_factor():
    from paddleseg_hru2net.analysis.validation import rank_across_scales
    with pytest.raises(ValueError, match="one scoring per factor"):
        rank_across_scales([1.0, 2.0], [[(Splitting(), summary(0.7, 100.0, 0.9))]])


def segmented(factor: float):
    """Two separate discs whose particle probability is 0.7, segmented at ``factor``, by a model
    whose own settings (threshold 0.5) find them."""
    from skimage.draw import disk

    from paddleseg_hru2net.analysis.scale import ScaleChoice
    from paddleseg_hru2net.analysis.workflow import ModelSplittings, SEMImage, Segmentation
    from paddleseg_hru2net.inference import Feed
    manual = np.zeros((48, 64), np.uint8)
    for centre in ((24, 16), (24, 46)):
        manual[disk(centre, 9, shape=manual.shape)] = 1
    particle = manual * 0.7
    image = SEMImage("image.png", (manual * 200).astype(np.uint8), 0, 2.0, "given")
    own = ModelSplittings(native=Splitting(threshold=0.5), enlarged=Splitting(threshold=0.5))
    return (image, manual, Segmentation(np.stack([1.0 - particle, particle]), ScaleChoice(factor, "test"),
                                        Feed(window=(48, 64)), splittings=own), None)


@pytest.mark.parametrize("factor, enlarged_only, found", [(1.0, False, 0), (1.0, True, 2),
                                                           (0.5, True, 2), (2.0, True, 0), (2.0, False, 0)])
def test_tuning_the_enlarged_settings_leaves_other_images_with_the_models_own(factor, enlarged_only, found):
    """A candidate threshold of 0.9 finds none of the 0.7-probability discs wherever it applies:
    with ``enlarged_only`` only on the image enlarged for the model (factor 2)."""
    from paddleseg_hru2net.analysis.validation import score_splittings
    candidate = Splitting(threshold=0.9, core_threshold=0.9)
    (_, total), = score_splittings([segmented(factor)], [candidate], enlarged_only)
    assert total["count_model"] == found and total["count_manual"] == 2


@pytest.mark.parametrize("options, fragment", [(["--rescale", "1", "2"], "several factors are for --tune"),
                                               (["--tune-enlarged"], "add --tune"),
                                               (["--emps", ".", "--tune", "--rescale", "1", "2"], "--scale-bars")])
def test_validation_tool_refuses_what_only_tuning_does(tmp_path, options, fragment):
    from conftest import run_tool
    result = run_tool("tools/validate_analysis.py", "--release", str(tmp_path), "--manifest",
                      str(tmp_path / "m.json"), "--split", "val", *options, check=False)
    assert result.returncode == 2 and fragment in result.stderr and "Traceback" not in result.stderr
