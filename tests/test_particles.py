"""Particle statistics: instance splitting and measurements checked against geometry."""
from __future__ import annotations

import numpy as np
import pytest

from paddleseg_hru2net.analysis import (feret_diameters, measure_particles, split_particles,
                                        split_touching)
from paddleseg_hru2net.analysis.particles import contacts_between, drop_small_particles, separate_touching
from paddleseg_hru2net.analysis.validation import manual_particle_outcomes, match_particles


def disc(shape, centre, radius):
    rows, cols = np.ogrid[:shape[0], :shape[1]]
    return (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius ** 2


def test_two_touching_discs_become_two_particles_with_their_areas():
    shape = (80, 120)
    left, right = disc(shape, (40, 40), 20), disc(shape, (40, 78), 20)  # overlap by 2 px
    mask = left | right
    assert (left & right).any()
    labels = split_touching(mask)
    assert labels.max() == 2
    particles = measure_particles(labels)
    areas = sorted(p.area for p in particles)
    expected = left.sum()  # each disc alone; the shared lens is split between them
    for area in areas:
        assert area == pytest.approx(expected - (left & right).sum() / 2, rel=0.03)
    assert sum(areas) == mask.sum()
    for particle in particles:
        assert particle.equivalent_diameter == pytest.approx(40, rel=0.03)


def test_single_disc_measurements():
    mask = disc((101, 101), (50, 50), 30)
    (particle,) = measure_particles(split_touching(mask), pixel_size=2.0)
    assert particle.unit == "nm"
    assert particle.area == pytest.approx(np.pi * 30 ** 2 * 4, rel=0.01)
    assert particle.equivalent_diameter == pytest.approx(120, rel=0.01)
    assert particle.feret_max == pytest.approx(122, rel=0.02)  # 61 pixels across, as squares
    assert particle.feret_min == pytest.approx(122, rel=0.02)
    assert particle.aspect_ratio == pytest.approx(1.0, abs=0.03)
    assert particle.circularity > 0.9
    assert not particle.touches_border


def test_rectangle_feret_and_border_flag():
    mask = np.zeros((40, 60), bool)
    mask[0:10, 5:35] = True  # 10 x 30 rectangle on the top border
    (particle,) = measure_particles(split_touching(mask))
    assert particle.unit == "px"
    assert particle.area == 300
    assert particle.feret_min == pytest.approx(10, abs=0.01)
    assert particle.feret_max == pytest.approx(np.hypot(10, 30), abs=0.01)
    assert particle.aspect_ratio == pytest.approx(np.hypot(10, 30) / 10, rel=1e-3)
    assert particle.touches_border


def test_feret_of_one_pixel():
    assert feret_diameters(np.array([[3, 4]])) == pytest.approx((1.0, np.sqrt(2)))


def test_empty_mask_has_no_particles():
    assert measure_particles(split_touching(np.zeros((10, 10), bool))) == []


def test_probability_dip_between_touching_particles_splits_them_and_keeps_the_mask():
    """The model's gap between two touching particles is a dip in probability above 0.5."""
    probability = np.full((40, 80), 0.02, np.float32)
    probability[10:30, 10:70] = 0.97  # two 20 x 29 particles side by side ...
    probability[10:30, 39:41] = 0.7   # ... the 2-px gap between them painted over, less sure
    mask = probability > 0.5
    assert split_touching(mask).max() == 1  # a straight gap: no neck for the distance map
    labels = split_particles(probability, core_threshold=0.8)
    assert labels.max() == 2
    np.testing.assert_array_equal(labels > 0, mask)
    assert set(np.unique(labels[10:30, 10:39])) == {labels[20, 20]}
    assert set(np.unique(labels[10:30, 41:70])) == {labels[20, 60]} != {labels[20, 20]}


def test_split_particles_of_a_binary_mask_is_split_touching():
    mask = disc((80, 120), (40, 40), 20) | disc((80, 120), (40, 78), 20)
    np.testing.assert_array_equal(split_particles(mask.astype(np.float32), min_depth=1.5),
                                  split_touching(mask, min_depth=1.5))


def test_split_particles_refuses_thresholds_in_the_wrong_order():
    with pytest.raises(ValueError, match="threshold"):
        split_particles(np.zeros((4, 4)), threshold=0.8, core_threshold=0.6)


def test_particle_matching_counts_one_to_one_overlaps():
    shape = (60, 140)
    a, b, c = disc(shape, (30, 25), 12), disc(shape, (30, 70), 12), disc(shape, (30, 115), 12)
    manual = a * 1 + b * 2 + c * 3
    shifted = np.roll(a, 3, axis=1) * 1 + (b | c) * 2  # a moved a little; b and c merged
    match = match_particles(manual.astype(np.int32), shifted.astype(np.int32))
    assert (match.matched, match.manual, match.predicted) == (1, 3, 2)
    assert match.f1 == pytest.approx(2 * 1 / 5)
    same = match_particles(manual, manual)
    assert same.matched == 3 and same.f1 == 1.0


def test_each_manual_particle_is_told_what_the_model_made_of_it():
    """Six drawn particles, one of each outcome: found, joined to its touching neighbour (both
    of a pair), cut in two, not found, and found but shifted by more than half its width."""
    shape = (60, 320)
    found, left, right = disc(shape, (30, 20), 12), disc(shape, (30, 60), 12), disc(shape, (30, 85), 12)
    right &= ~left  # a 1-px background line between the touching pair, as the annotators draw it
    right[:, 72] = False
    cut, lost, moved = disc(shape, (30, 140), 12), disc(shape, (30, 190), 12), disc(shape, (30, 240), 12)
    manual = np.zeros(shape, np.int32)
    for number, particle in enumerate((found, left, right, cut, lost, moved), start=1):
        manual[particle] = number
    predicted = np.zeros(shape, np.int32)
    predicted[found] = 1
    predicted[left | right] = 2  # the pair merged
    predicted[cut & (np.arange(shape[1]) < 138)] = 3  # cut in two with a gap between the halves
    predicted[cut & (np.arange(shape[1]) > 142)] = 4
    predicted[np.roll(moved, 9, axis=1)] = 5
    outcomes = manual_particle_outcomes(manual, predicted)
    kinds = {number: outcome.kind for number, outcome in outcomes.items()}
    assert kinds == {1: "matched", 2: "merged", 3: "merged", 4: "split", 5: "missed", 6: "misshapen"}
    assert outcomes[1].area_ratio == 1.0 and outcomes[2].area_ratio > 1.8 and outcomes[5].area_ratio == 0.0
    same = manual_particle_outcomes(manual, manual).values()
    assert {o.kind for o in same} == {"matched"} and {o.area_ratio for o in same} == {1.0}
    none = manual_particle_outcomes(manual, np.zeros_like(manual)).values()
    assert {o.kind for o in none} == {"missed"}
    wider = manual_particle_outcomes(found.astype(np.int32), disc(shape, (30, 20), 13).astype(np.int32))
    assert wider[1].kind == "matched" and np.sqrt(wider[1].area_ratio) == pytest.approx(13 / 12, rel=0.03)


def test_small_particles_are_dropped_and_the_rest_renumbered():
    labels = np.zeros((10, 10), np.int32)
    labels[0, 0] = 1            # 1 px
    labels[2:5, 2:5] = 2        # 9 px
    labels[6:8, 6:9] = 3        # 6 px
    kept = drop_small_particles(labels, 6)
    assert sorted(np.unique(kept)) == [0, 1, 2]
    assert (kept[2:5, 2:5] == 1).all() and (kept[6:8, 6:9] == 2).all() and kept[0, 0] == 0


def test_contacts_between_particles_are_where_two_meet_and_not_their_outlines():
    labels = np.zeros((6, 8), np.int32)
    labels[1:5, 1:4] = 1
    labels[1:5, 4:7] = 2  # touching 1 along columns 3 | 4
    contacts = contacts_between(labels)
    # rows 2-3 of columns 3 and 4: the rows 1 and 4 touch the background above and below
    assert sorted(map(tuple, np.argwhere(contacts))) == [(2, 3), (2, 4), (3, 3), (3, 4)]
    assert not contacts_between(labels > 0).any()  # one particle meets no other
    assert not contacts_between(np.zeros((3, 3), np.int32)).any()


def test_touching_particles_are_separated_by_a_line_taken_from_the_smaller():
    labels = np.zeros((7, 10), np.int32)
    labels[1:6, 1:6] = 1  # 25 px
    labels[1:4, 6:9] = 2  # 9 px, touching 1 along columns 5 | 6 in rows 1-3
    labels[5, 6] = 3      # 1 px, touching 1 at (5, 5) and nothing else
    separated = separate_touching(labels)
    # the smaller of each touching pair gives up its pixels on the contact: 2 its column 6 in
    # rows 1-3, the single pixel 3 all of itself (and the ids are renumbered 1..N)
    expected = labels.copy()
    expected[1:4, 6] = 0
    expected[5, 6] = 0
    np.testing.assert_array_equal(separated, expected)
    for axis in (0, 1):  # no two particles 4-neighbours any more
        a, b = np.moveaxis(separated, axis, 0)[:-1], np.moveaxis(separated, axis, 0)[1:]
        assert not ((a > 0) & (b > 0) & (a != b)).any()
    np.testing.assert_array_equal(separate_touching(separated), separated)
    equal = np.zeros((3, 6), np.int32)
    equal[:, :3], equal[:, 3:] = 1, 2  # as large: the higher id gives its column
    assert (separate_touching(equal)[:, 3] == 0).all() and (separate_touching(equal)[:, :3] == 1).all()


def test_splitting_with_lines_separates_touching_discs_in_the_labels_only():
    from paddleseg_hru2net.analysis.workflow import SEMImage, Splitting, analyze_image
    shape = (60, 90)
    left, right = disc(shape, (30, 30), 15), disc(shape, (30, 57), 15)  # overlap by 3 px
    probability = (left | right).astype(np.float32)
    image = SEMImage("x.png", np.zeros(shape, np.uint8), 0, None, "none (pixels)")
    touching = analyze_image(image, probability, Splitting(min_depth=2.0))
    apart = analyze_image(image, probability, Splitting(min_depth=2.0, lines=True))
    assert touching.labels.max() == apart.labels.max() == 2
    line = (touching.labels > 0) & (apart.labels == 0)
    assert 0 < line.sum() <= 2 * 15 + 1 and (line.sum(axis=1) <= 1).all()  # one pixel across each row
    np.testing.assert_array_equal(apart.mask, touching.mask)  # the mask keeps the model's pixels
    assert Splitting(**Splitting(lines=True).as_dict()).lines


def test_warned_and_unwarned_images_are_scored_apart():
    """An image the analysis warned about (here: it found nothing) and one it did not: each
    group's figures come from its own images, and the warning travels with the comparison."""
    from paddleseg_hru2net.analysis.scale import ScaleChoice
    from paddleseg_hru2net.analysis.validation import compare_with_manual, warning_table
    from paddleseg_hru2net.analysis.workflow import SEMImage, Segmentation
    from paddleseg_hru2net.inference import Feed
    shape = (64, 64)
    manual = (disc(shape, (20, 20), 8) | disc(shape, (44, 44), 8)).astype(np.uint8)
    image = SEMImage("image.png", (manual * 200).astype(np.uint8), 0, None, "none (pixels)")

    def segmentation(particle):
        return Segmentation(np.stack([1.0 - particle, particle]).astype(np.float32),
                            ScaleChoice(1.0, "native"), Feed(window=shape))
    found = compare_with_manual(image, manual, segmentation(manual))
    lost = compare_with_manual(image, manual, segmentation(np.zeros(shape)))
    assert found.warnings == [] and lost.warnings == ["no particles found"]
    lines = warning_table([found, lost])
    assert lines[2] == "| warned about | 1 | 0.000 | 0.000 | 1 |"
    assert lines[3] == "| not warned about | 1 | 1.000 | 1.000 | 0 |"
    assert warning_table([found])[2] == "| warned about | 0 | - | - | - |"


def test_pooled_medians_never_mix_nm_and_px():
    """Images measured in nm and in px share counts, IoU and matches, but no median diameter."""
    from paddleseg_hru2net.analysis.validation import ImageComparison, ParticleMatch, summarise
    in_nm = ImageComparison("a.png", [100.0, 120.0], [110.0], "nm", ParticleMatch(1, 2, 1), 10.0, 12.0)
    in_px = ImageComparison("b.png", [10.0], [11.0, 12.0], "px", ParticleMatch(1, 1, 2), 5.0, 8.0)
    both = summarise([in_nm, in_px])
    assert both["count_manual"] == 3 and both["count_model"] == 3 and both["particle_iou"] == pytest.approx(15 / 20)
    assert np.isnan(both["median_manual"]) and np.isnan(both["median_model"]) and np.isnan(both["median_ratio"])
    assert summarise([in_nm])["median_manual"] == pytest.approx(110.0)
