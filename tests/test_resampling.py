"""Label images resampled as the grey image is: no shift, and touching particles stay apart."""
import numpy as np
import pytest
from scipy import ndimage

from paddleseg_hru2net.microscopy.resampling import resample, resample_labels


def _touching_squares(line_columns):
    """A label image of squares side by side, each pair parted by a 1-px background line at the
    given columns (even and odd ones, so that shrinking by 2 meets both phases)."""
    labels = np.zeros((40, 64), np.uint16)
    edges = [1, *line_columns, 62]
    for label, (start, stop) in enumerate(zip(edges[:-1], edges[1:]), start=1):
        labels[8:32, start + 1:stop] = label
    return labels


@pytest.mark.parametrize("factor", [0.5, 0.75])
def test_shrunk_labels_keep_touching_particles_apart(factor):
    labels = _touching_squares([14, 31, 47])
    shrunk = resample_labels(labels, factor)
    _, pieces = ndimage.label(shrunk > 0)
    assert pieces == 4
    assert sorted(np.unique(shrunk).tolist()) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("factor", [0.5, 0.75, 1.5, 2.0])
def test_resampled_labels_lie_where_the_resampled_image_puts_them(factor):
    disc = np.zeros((60, 70), np.uint16)
    yy, xx = np.mgrid[:60, :70]
    disc[(yy - 29.5) ** 2 + (xx - 33.0) ** 2 < 15 ** 2] = 7
    mask = resample_labels(disc, factor) == 7
    image_mask = resample((disc > 0).astype(np.float32), factor) > 0.5
    centre = np.array(ndimage.center_of_mass(mask))
    assert np.abs(centre - np.array(ndimage.center_of_mass(image_mask))).max() < 0.1
    assert (mask & image_mask).sum() / (mask | image_mask).sum() > 0.97


def test_shrunk_mask_is_the_resampled_mask_over_half():
    rng = np.random.default_rng(3)
    labels = ndimage.label(ndimage.gaussian_filter(rng.random((64, 80)), 2) > 0.5)[0].astype(np.uint16)
    assert np.array_equal(resample_labels(labels, 0.5) > 0,
                          resample((labels > 0).astype(np.float32), 0.5) > 0.5)


def test_validation_at_half_scale_keeps_the_annotated_particles_and_their_area():
    """``hru2net-validate-analysis --rescale 0.5`` on a mask of touching particles parted by
    1-px lines (the TiO2 annotation): the manual particles stay four, and a model whose pixels
    are the annotated area resampled scores the exact IoU of that area with its pixels."""
    from paddleseg_hru2net.analysis.scale import ScaleChoice
    from paddleseg_hru2net.analysis.validation import compare_with_manual
    from paddleseg_hru2net.analysis.workflow import SEMImage, Segmentation
    from paddleseg_hru2net.cli.validate_analysis import transformed
    from paddleseg_hru2net.inference import Feed
    manual = (_touching_squares([14, 31, 47]) > 0).astype(np.uint8)
    image = SEMImage("image.png", (manual * 200).astype(np.uint8), 0, 2.0, "given")
    small, small_manual, coverage = transformed(image, manual, 0.5, False)
    assert small.pixel_size_nm == 4.0 and small.grey.shape == small_manual.shape == (20, 32)
    predicted = (coverage > 0).astype(np.float32)  # every pixel the annotation touches
    segmentation = Segmentation(np.stack([1.0 - predicted, predicted]), ScaleChoice(1.0, "native"),
                                Feed(window=(20, 32)))
    row = compare_with_manual(small, small_manual, segmentation, manual_coverage=coverage)
    assert row.count_manual == 4
    assert row.particle_iou == pytest.approx(manual.sum() / 4 / predicted.sum())


@pytest.mark.parametrize("factor", [0.5, 1.5, 2.0])
def test_resampled_coverage_keeps_the_area(factor):
    from paddleseg_hru2net.microscopy.resampling import resampled_coverage
    labels = _touching_squares([14, 31, 47])
    coverage = resampled_coverage(labels, factor)
    assert coverage.shape == resample_labels(labels, factor).shape
    assert coverage.min() >= 0 and coverage.max() <= 1
    assert coverage.sum() == pytest.approx((labels > 0).sum() * factor ** 2, rel=1e-6)


def test_the_validation_report_says_how_the_images_were_transformed():
    from paddleseg_hru2net.cli.validate_analysis import transform_description
    assert transform_description(1.0, False) == ""
    assert transform_description(0.5, True) == ("images resampled by 0.5 (the annotation by majority; "
                                                "particle IoU of the annotated area); contrast inverted")
    assert transform_description(1.0, True) == "contrast inverted"
