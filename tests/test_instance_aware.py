"""The instance-aware HRU2-Net†: contact targets, the three-class head, mixed-size crops."""
from __future__ import annotations

import numpy as np
import paddle
import pytest

from conftest import run_tool
import paddleseg_hru2net  # noqa: F401  (registration)
from paddleseg_hru2net.datasets.instance_targets import (CENTRE, CONTACT, PARTICLE, centre_pixels,
                                                         centre_target, contact_pixels, contact_target,
                                                         instances_from_mask, target_of_instances)


def test_contact_pixels_of_two_touching_squares_exactly():
    """Two squares separated by a 1-px background line (as the manual masks draw them): with
    radius 1 the contact class is that line and one pixel beyond each of its ends; with radius 2
    it widens to the particle pixels on either side."""
    mask = np.zeros((12, 16), np.uint8)
    mask[3:9, 2:7] = 1     # columns 2-6
    mask[3:9, 8:13] = 1    # columns 8-12; column 7 is the separation line
    instances = instances_from_mask(mask)
    assert instances.max() == 2
    expected = np.where(mask > 0, PARTICLE, 0).astype(np.uint8)
    expected[2:10, 7] = CONTACT
    np.testing.assert_array_equal(contact_target(instances, radius=1), expected)
    wide = np.where(mask > 0, PARTICLE, 0).astype(np.uint8)
    wide[1:11, 6:9] = CONTACT
    np.testing.assert_array_equal(contact_target(instances, radius=2), wide)


def test_narrow_contacts_leave_a_small_particle_its_interior_exactly():
    """A 12 x 12 particle and a 4 x 4 one (equivalent diameter 4.5 px) across a 1-px line. With
    radius 2 for all, the band takes a column of the small particle as well; with
    ``narrow_below=8`` the small particle keeps all its pixels, while the large one's column and
    the line stay contact as with radius 2."""
    mask = np.zeros((20, 24), np.uint8)
    mask[2:14, 2:14] = 1    # columns 2-13
    mask[6:10, 15:19] = 1   # columns 15-18, rows 6-9; column 14 is the separation line
    instances = instances_from_mask(mask)
    expected = np.where(mask > 0, PARTICLE, 0).astype(np.uint8)
    expected[4:12, 13] = CONTACT                 # the large particle's column next to the line
    expected[4:12, 14] = CONTACT                 # the line
    expected[[4, 5, 10, 11], 15] = CONTACT       # background beyond the line's ends
    np.testing.assert_array_equal(contact_target(instances, 2, narrow_below=8), expected)
    wide = contact_target(instances, 2)
    assert (wide[6:10, 15] == CONTACT).all() and (wide[6:10, 16:19] == PARTICLE).all()
    np.testing.assert_array_equal(np.where(mask[:, 15:] > 0, expected[:, 15:], 0),
                                  np.where(mask[:, 15:] > 0, PARTICLE, 0))
    np.testing.assert_array_equal(contact_target(instances, 2, narrow_below=4), wide)
    np.testing.assert_array_equal(target_of_instances(instances, 3, 2, narrow_below=8), expected)


def test_no_contact_for_isolated_particles_and_directly_touching_ones():
    single = np.zeros((10, 10), np.int32)
    single[2:8, 2:8] = 1
    assert not contact_pixels(single).any()
    touching = np.zeros((6, 10), np.int32)
    touching[1:5, 1:5] = 1
    touching[1:5, 5:9] = 2
    assert set(np.argwhere(contact_pixels(touching))[:, 1]) == {4, 5}


def test_centre_target_of_touching_squares_and_a_small_particle_exactly():
    """Each particle's centre is where its distance to its own outline (background, the other
    particle or the image edge) is at least half its largest: the middle columns of each of two
    5-px-wide squares (distances 1 2 3 2 1), and all of a 3 x 3 square (distances 1 and 2); the
    contact band keeps its class, and every particle, however small, has a centre."""
    mask = np.zeros((12, 20), np.uint8)
    mask[3:9, 2:7] = 1     # columns 2-6
    mask[3:9, 8:13] = 1    # columns 8-12; column 7 is the separation line
    mask[4:7, 15:18] = 1   # a 3 x 3 particle apart
    instances = instances_from_mask(mask)
    centres = centre_pixels(instances)
    distances_of_a_6x5_square = np.array([[1, 1, 1, 1, 1], [1, 2, 2, 2, 1], [1, 2, 3, 2, 1],
                                          [1, 2, 3, 2, 1], [1, 2, 2, 2, 1], [1, 1, 1, 1, 1]])
    expected = np.zeros(mask.shape, bool)
    expected[3:9, 2:7] = distances_of_a_6x5_square >= 1.5
    expected[3:9, 8:13] = distances_of_a_6x5_square >= 1.5
    expected[4:7, 15:18] = True
    np.testing.assert_array_equal(centres, expected)
    target = centre_target(instances, radius=1)
    assert target[5, 7] == CONTACT and target[5, 16] == CENTRE and target[3, 3] == PARTICLE
    np.testing.assert_array_equal(target == CENTRE, expected & (contact_target(instances, 1) != CONTACT))
    edge = np.zeros((6, 8), np.int32)
    edge[:, :5] = 1  # the image edge bounds a particle too: its columns 1 2 3 2 1 deep
    assert not centre_pixels(edge)[:, [0, 4]].any() and centre_pixels(edge)[1:5, 1:4].all()
    np.testing.assert_array_equal(target_of_instances(instances, 4, 1), target)
    np.testing.assert_array_equal(target_of_instances(instances, 3, 2), contact_target(instances, 2))
    assert set(np.unique(target_of_instances(instances, 2))) == {0, 1}
    with pytest.raises(ValueError, match="5 classes"):
        target_of_instances(instances, 5)


def test_widened_weights_keep_the_old_classes_and_copy_one():
    """tools/experiments/widen_classes.py: a three-class HRU2-Net† widened to four gives the
    same fused logits for the old classes, and the new class's equal those of the one copied."""
    import importlib.util
    from pathlib import Path
    from paddleseg_hru2net.models import HRU2Netp
    path = Path(__file__).resolve().parents[1] / "tools" / "experiments" / "widen_classes.py"
    spec = importlib.util.spec_from_file_location("widen_classes", path)
    widen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(widen)
    paddle.seed(1)
    old = HRU2Netp(num_classes=3, in_channels=1)
    new = HRU2Netp(num_classes=4, in_channels=1)
    state = {k: v.numpy() for k, v in old.state_dict().items()}
    new.set_state_dict({k: paddle.to_tensor(v) for k, v in widen.widened_weights(state, 1).items()})
    old.eval(), new.eval()
    x = paddle.randn([1, 1, 40, 40])
    before, after = old(x)[0].numpy(), new(x)[0].numpy()
    np.testing.assert_allclose(after[:, :3], before, atol=1e-4)
    np.testing.assert_allclose(after[:, 3], before[:, 1], atol=1e-4)
    with pytest.raises(ValueError, match="--copy"):
        widen.widened_weights(state, 3)


def test_instances_from_mask_keeps_diagonal_neighbours_apart():
    mask = np.array([[1, 0], [0, 1]], np.uint8)
    assert instances_from_mask(mask).max() == 2


@pytest.mark.parametrize("size", [(37, 45), (128, 96)])
def test_three_class_head_shapes_and_gradients(size):
    from paddleseg_hru2net.models import HRU2Netp
    paddle.seed(0)
    model = HRU2Netp(num_classes=3, in_channels=1)
    model.train()
    outputs = model(paddle.randn([2, 1, *size]))
    assert len(outputs) == 7 and all(o.shape == [2, 3, *size] for o in outputs)
    sum(o.mean() for o in outputs).backward()
    missing = [n for n, p in model.named_parameters() if not p.stop_gradient and p.grad is None]
    assert missing == []


def test_two_class_weights_start_a_three_class_model(tmp_path):
    """The shipped two-class weights load into the three-class model except its 14 output
    tensors (the side and fusion convolutions)."""
    from paddleseg_hru2net.models import HRU2Netp
    from paddleseg_hru2net.inference.source import shipped_source
    model = HRU2Netp(num_classes=3, in_channels=1, pretrained=shipped_source("hru2netp_tio2").weights)
    state = paddle.load(shipped_source("hru2netp_tio2").weights)
    same = [k for k, v in model.state_dict().items() if k in state and list(state[k].shape) == v.shape
            and np.array_equal(state[k].numpy(), v.numpy())]
    assert len(model.state_dict()) - len(same) == 14


def test_random_crop_of_sizes_draws_every_size():
    from paddleseg_hru2net.transforms import RandomCropOfSizes, RandomInvert
    np.random.seed(0)
    crop = RandomCropOfSizes(sizes=[32, 48])
    seen = set()
    for _ in range(30):
        data = {"img": np.zeros((40, 50), np.float32), "label": np.zeros((40, 50), np.uint8),
                "gt_fields": ["label"], "trans_info": []}
        out = crop(data)
        assert out["img"].shape == out["label"].shape
        seen.add(out["img"].shape)
    assert seen == {(32, 32), (48, 48)}
    assert (RandomInvert(prob=1.0)({"img": np.array([[0.0, 200.0]])})["img"] == [[255.0, 55.0]]).all()
    with pytest.raises(ValueError):
        RandomInvert(prob=2)


@pytest.mark.parametrize("factor", [0.8, 1.33])
def test_scaled_labels_stay_on_the_scaled_image(factor):
    """A disc scaled by a training factor: the labels' centre is the image's within 0.15 px with
    AlignedResizeStepScaling; PaddleSeg's ResizeStepScaling (OpenCV's nearest neighbour for the
    labels) puts them about half a pixel off in at least one direction."""
    from paddleseg.transforms import ResizeStepScaling
    from paddleseg_hru2net.transforms import AlignedResizeStepScaling
    rows, cols = np.mgrid[:120, :100]
    disc = (rows - 60.3) ** 2 + (cols - 47.6) ** 2 < 20 ** 2

    def label_offset(transform):
        out = transform({"img": disc * np.float32(200), "label": disc.astype(np.uint8), "gt_fields": ["label"]})
        image, label = np.asarray(out["img"]).squeeze(), out["label"]
        assert image.shape == label.shape and label.dtype == np.uint8 and out["gt_fields"] == ["label"]
        at_rows, at_cols = np.mgrid[:image.shape[0], :image.shape[1]]
        image_centre = np.array([(image * at_rows).sum(), (image * at_cols).sum()]) / image.sum()
        return np.array([at_rows[label > 0].mean(), at_cols[label > 0].mean()]) - image_centre

    assert np.abs(label_offset(AlignedResizeStepScaling(factor, factor))).max() < 0.15
    assert np.abs(label_offset(ResizeStepScaling(factor, factor))).max() > 0.25


def test_regionwise_h_maxima_equals_skimage(tio2_release):
    from scipy import ndimage
    from skimage.morphology import h_maxima
    from paddleseg_hru2net.analysis.particles import _regionwise_h_maxima
    from paddleseg_hru2net.files import read_grey
    path = next((tio2_release / "Electron Microscopy Image Masks" / "TiO2_Masks_Manual_4connected").glob("*.tif"))
    mask = read_grey(path)[:712] > 0
    mask = ndimage.binary_dilation(mask)  # touching particles, necks to split
    distance = ndimage.gaussian_filter(ndimage.distance_transform_edt(mask), 1.0) * mask
    for depth in (0.5, 1.5):
        expected = h_maxima(distance, depth).astype(bool) & mask
        np.testing.assert_array_equal(_regionwise_h_maxima(distance, mask, depth), expected)


def test_merged_particles_told_apart_by_why(monkeypatch):
    """tools/experiments/merged_particles.py: two squares the model joined count as "core joined"
    when its interior runs across their separation line, "core apart" when it stops there; a
    3 x 3 particle merged into a larger one is a "speck"."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "tools" / "experiments" / "merged_particles.py"
    monkeypatch.syspath_prepend(str(path.parent))  # as when run as a script: its helpers beside it
    spec = importlib.util.spec_from_file_location("merged_particles", path)
    probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
    instances = np.zeros((40, 40), np.int32)
    instances[5:25, 5:20] = 1
    instances[5:25, 21:36] = 2      # column 20 is the annotators' separation line
    instances[30:33, 5:8] = 3
    predicted = np.zeros_like(instances)
    predicted[5:25, 5:36] = 1       # the two squares as one particle
    predicted[28:38, 3:12] = 2      # the small one inside a larger one
    joined = (predicted > 0).astype(np.float32)
    assert probe.merged_kinds(instances, predicted, joined, 0.5, 2) == {"core joined": 2, "speck": 1}
    apart = joined.copy()
    apart[:, 18:23] = 0.0
    assert probe.merged_kinds(instances, predicted, apart, 0.5, 2) == {"core apart": 2, "speck": 1}
    assert probe.merged_kinds(instances, predicted, np.zeros_like(joined), 0.5, 2) == {"no core": 2, "speck": 1}
    # --small_below: the 3 x 3 particle (3.4 px) is the one small one, merged, with its 9 pixels
    assert probe.merged_small_particles(instances, predicted, joined, 0.5, 5) == (1, [(1.0, 9)])
    assert probe.merged_small_particles(instances, predicted, np.zeros_like(joined), 0.5, 5) == (1, [(0.0, 0)])
    assert probe.merged_small_particles(instances, predicted, joined, 0.5, 3) == (0, [])


def test_prepare_refuses_a_negative_small_particle_diameter(tmp_path):
    result = run_tool("-m", "paddleseg_hru2net.cli.prepare_tio2", str(tmp_path), "--out", str(tmp_path / "out"),
                      "--target", "contact", "--contact_radius", "2", "--narrow_contacts_below", "-1", check=False)
    assert result.returncode == 2 and "narrow contacts below -1.0 px" in result.stderr
    assert not (tmp_path / "out").exists()
