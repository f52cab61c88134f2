"""The generalist's training folder: TiO2 tiles + EMPS instance maps + synthetic images, one
contact radius for all of them, EMPS split by image."""
from __future__ import annotations

import json

import numpy as np
import pytest

from paddleseg_hru2net.datasets.generalist import GeneralistDataError, prepare_generalist
from paddleseg_hru2net.datasets.instance_targets import CONTACT, contact_target
from paddleseg_hru2net.datasets.layout import write_lists, write_sample
from paddleseg_hru2net.files import read_grey, write_png


def touching_squares() -> np.ndarray:
    """Instance map of two squares with a 1-px gap, as manual masks separate touching particles."""
    instances = np.zeros((40, 48), np.int32)
    instances[10:30, 5:23] = 1
    instances[10:30, 24:42] = 2
    return instances


def emps_folder(root, count: int = 4):
    for name in ("images", "segmaps"):
        (root / name).mkdir(parents=True)
    rng = np.random.default_rng(0)
    for index in range(count):
        instances = touching_squares()
        grey = np.where(instances > 0, 200, 40).astype(np.uint8) + rng.integers(0, 20, instances.shape,
                                                                                dtype=np.uint8)
        write_png(str(root / "images" / f"e{index}.png"), np.dstack([grey] * 3))
        write_png(str(root / "segmaps" / f"e{index}.png"), instances.astype(np.uint16))
    return root


def tio2_folder(root, radius: int):
    """A folder as hru2net-prepare-tio2 --target contact --contact_radius RADIUS leaves it."""
    instances = touching_squares()
    grey = np.where(instances > 0, 220, 30).astype(np.uint8)
    pairs = {"train": [write_sample(str(root), "train_0", grey, contact_target(instances, radius))],
             "val": [write_sample(str(root), "val_0", grey, contact_target(instances, radius))]}
    write_lists(str(root), pairs)
    (root / "manifest.json").write_text(json.dumps({"target": "contact", "contact_radius": radius}))
    return root


def test_one_contact_radius_for_all_sources_taken_from_the_tio2_folder(tmp_path):
    tio2 = tio2_folder(tmp_path / "tio2", radius=2)
    emps = emps_folder(tmp_path / "emps")
    out = tmp_path / "generalist"
    manifest = prepare_generalist(str(out), str(tio2), str(emps), synthetic=0, val_fraction=0.25,
                                  progress=False)
    assert manifest["contact_radius"] == 2
    assert manifest["counts"] == {"train": 1 + 3, "val": 1 + 1, "test": 0}
    emps_labels = sorted((out / "labels" / "emps").glob("*.png"))
    assert len(emps_labels) == 4
    expected = contact_target(touching_squares(), radius=2)
    for path in emps_labels:
        np.testing.assert_array_equal(read_grey(str(path)), expected)
    assert (expected == CONTACT).sum() > (contact_target(touching_squares(), 1) == CONTACT).sum()
    val_ids = set(manifest["sources"]["emps"]["val_ids"])
    val_lines = (out / "val.txt").read_text()
    assert len(val_ids) == 1 and all(f"emps/{i}.png" in val_lines for i in val_ids)


def test_tio2_repeats_lists_the_tio2_training_tiles_that_many_times_and_val_once(tmp_path):
    tio2 = tio2_folder(tmp_path / "tio2", radius=2)
    emps = emps_folder(tmp_path / "emps")
    out = tmp_path / "generalist"
    manifest = prepare_generalist(str(out), str(tio2), str(emps), synthetic=0, val_fraction=0.25,
                                  progress=False, tio2_repeats=3)
    train_lines = (out / "train.txt").read_text().splitlines()
    assert sum(line.startswith("tio2/") for line in train_lines) == 3
    assert sum(line.startswith("images/emps/") for line in train_lines) == 3
    assert sum(line.startswith("tio2/") for line in (out / "val.txt").read_text().splitlines()) == 1
    assert manifest["sources"]["tio2"]["train_repeats"] == 3
    with pytest.raises(GeneralistDataError, match="at least 1"):
        prepare_generalist(str(tmp_path / "out2"), str(tio2), None, synthetic=0, tio2_repeats=0)


def test_a_radius_other_than_the_tio2_folders_is_refused_and_nothing_written(tmp_path):
    tio2 = tio2_folder(tmp_path / "tio2", radius=1)
    emps = emps_folder(tmp_path / "emps", count=2)
    with pytest.raises(GeneralistDataError, match="contact radius 1, not 2"):
        prepare_generalist(str(tmp_path / "out"), str(tio2), str(emps), synthetic=0,
                           contact_radius=2, progress=False)
    assert not (tmp_path / "out").exists()


def test_bright_particles_stores_dark_particle_images_inverted(tmp_path):
    emps = emps_folder(tmp_path / "emps", count=2)
    dark = read_grey(str(emps / "images" / "e1.png"))
    write_png(str(emps / "images" / "e1.png"), np.dstack([255 - dark] * 3))
    manifest = prepare_generalist(str(tmp_path / "out"), None, str(emps), synthetic=0,
                                  val_fraction=0.5, bright_particles=True, progress=False)
    assert manifest["sources"]["emps"]["stored_inverted"] == ["e1"]
    for name in ("e0", "e1"):
        stored = read_grey(str(tmp_path / "out" / "images" / "emps" / f"{name}.png"))
        inside = touching_squares() > 0
        assert stored[inside].mean() > stored[~inside].mean() + 100


def test_particle_diameter_resamples_each_emps_image_to_that_particle_size(tmp_path):
    """Squares of 18 x 20 px (equivalent diameter 21.4 px) brought to 10.7 px: images and labels
    half the size, the factor recorded; a non-positive diameter is refused."""
    from paddleseg_hru2net.datasets.generalist import to_particle_diameter
    instances = touching_squares()
    grey = np.where(instances > 0, 200, 40).astype(np.uint8)
    diameter = float(np.sqrt(4 * 18 * 20 / np.pi))
    scaled, ids, factor = to_particle_diameter(grey, instances, diameter / 2)
    assert abs(factor - 0.5) < 1e-9 and scaled.shape == ids.shape == (20, 24)
    assert set(np.unique(ids)) == {0, 1, 2}
    emps = emps_folder(tmp_path / "emps", count=2)
    manifest = prepare_generalist(str(tmp_path / "out"), None, str(emps), synthetic=0,
                                  val_fraction=0.5, particle_diameter=diameter / 2, progress=False)
    assert manifest["sources"]["emps"]["resampled_by"] == {"e0": pytest.approx(0.5), "e1": pytest.approx(0.5)}
    assert read_grey(str(tmp_path / "out" / "labels" / "emps" / "e0.png")).shape == (20, 24)
    with pytest.raises(GeneralistDataError, match="particle diameter"):
        prepare_generalist(str(tmp_path / "out2"), None, str(emps), synthetic=0, particle_diameter=0)
