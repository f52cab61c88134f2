"""Issue 4: TiO2 preparation, the TiO2SEM dataset's label checks and the synthetic generator."""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import paddleseg_hru2net  # noqa: F401
from paddleseg_hru2net.datasets import LabelError, TiO2SEM, check_label_array
from paddleseg_hru2net.datasets.tio2_release import (RELEASE_IMAGES, RELEASE_MASKS, ReleaseError,
                                                find_pairs, load_sample, prepare_dataset,
                                                tile_positions)
from paddleseg_hru2net.microscopy.data_bar import DataBarError, detect_data_bar
from paddleseg_hru2net.microscopy.pixel_size import read_pixel_size_nm
from paddleseg_hru2net.datasets.synthetic import SyntheticSEMConfig, generate_sem_image

TILE_NAME = re.compile(r"images/(\d+)_r(\d+)_c(\d+)\.png")


@pytest.fixture(scope="module")
def prepared(tio2_release, tmp_path_factory):
    out = tmp_path_factory.mktemp("tio2") / "tio2_512"
    manifest = prepare_dataset(str(tio2_release), str(out), tile=512, seed=7, progress=False)
    return out, manifest


def read_list(path: Path):
    return [line.split() for line in path.read_text().splitlines()]


# ------------------------------------------------------------------ real release
def test_data_bar_is_found_in_every_release_image(tio2_release):
    for pair in find_pairs(str(tio2_release)):
        sample = load_sample(pair)
        assert sample.data_bar_rows == 56, pair.image_path  # rows 712-767 (release README)
        assert sample.image.shape == (712, 1024)


def test_pixel_size_from_zeiss_metadata(tio2_release):
    image = next((tio2_release / RELEASE_IMAGES).glob("*.tif"))
    size, source = read_pixel_size_nm(str(image))
    assert source == "metadata (Zeiss TIFF tag 34118)" and size == pytest.approx(7.344, abs=1e-3)


def test_tiles_cover_images_without_data_bar_and_hold_class_ids(prepared, tio2_release):
    out, manifest = prepared
    by_image = {}
    for split in ("train", "val", "test"):
        for image_rel, label_rel in read_list(out / f"{split}.txt"):
            image_id, row, col = TILE_NAME.match(image_rel).groups()
            by_image.setdefault(image_id, []).append((int(row), int(col), image_rel, label_rel))
    assert len(by_image) == 32
    for pair in find_pairs(str(tio2_release)):
        source = np.asarray(Image.open(pair.image_path).convert("L"))
        mask = np.asarray(Image.open(pair.mask_path))
        covered = np.zeros((712, 1024), bool)
        for row, col, image_rel, label_rel in by_image[pair.image_id]:
            tile = np.asarray(Image.open(out / image_rel))
            label = np.asarray(Image.open(out / label_rel))
            assert tile.shape == label.shape == (512, 512)
            assert set(np.unique(label)) <= {0, 1, 255}
            assert row + 512 <= 712  # nothing from the data bar rows
            np.testing.assert_array_equal(tile, source[row:row + 512, col:col + 512])
            np.testing.assert_array_equal(label, (mask[row:row + 512, col:col + 512] == 255))
            covered[row:row + 512, col:col + 512] = True
        assert covered.all(), pair.image_id


def test_no_source_image_in_two_splits(prepared):
    out, manifest = prepared
    seen = {}
    for split in ("train", "val", "test"):
        ids = {TILE_NAME.match(image)[1] for image, _ in read_list(out / f"{split}.txt")}
        for other, other_ids in seen.items():
            assert not ids & other_ids, (split, other)
        seen[split] = ids
        assert ids == set(manifest["source_images"][split])
    assert [len(seen[s]) for s in ("train", "val", "test")] == [23, 3, 6]
    assert json.loads((out / "manifest.json").read_text())["tile_counts"]["train"] == len(
        read_list(out / "train.txt"))


def test_same_seed_gives_identical_lists(prepared, tio2_release, tmp_path):
    out, _ = prepared
    again = tmp_path / "again"
    prepare_dataset(str(tio2_release), str(again), tile=512, seed=7, progress=False)
    for split in ("train", "val", "test"):
        assert (again / f"{split}.txt").read_bytes() == (out / f"{split}.txt").read_bytes()
    other = tmp_path / "other"
    prepare_dataset(str(tio2_release), str(other), tile=512, seed=8, progress=False)
    assert (other / "test.txt").read_bytes() != (out / "test.txt").read_bytes()


def test_paper_protocol_gives_2000_and_500(tio2_release, tmp_path):
    out = tmp_path / "paper"
    manifest = prepare_dataset(str(tio2_release), str(out), tile=32, protocol="paper", seed=0,
                               progress=False)
    assert manifest["tile_counts"] == {"train": 2000, "val": 0, "test": 500}
    assert manifest["leaks_between_splits"] is True
    assert len(read_list(out / "train.txt")) == 2000 and len(read_list(out / "test.txt")) == 500


def test_prepared_tiles_load_as_tio2sem(prepared):
    out, _ = prepared
    import paddleseg.transforms as T
    dataset = TiO2SEM(str(out), [T.Normalize(mean=[0.5], std=[0.5])], mode="val")
    sample = dataset[0]
    assert sample["img"].shape == (1, 512, 512)


# ------------------------------------------------------------------ bad input
def small_release(root: Path, count: int = 2) -> Path:
    images, masks = root / RELEASE_IMAGES, root / RELEASE_MASKS
    images.mkdir(parents=True)
    masks.mkdir(parents=True)
    for index in range(count):
        image, mask = generate_sem_image(index, SyntheticSEMConfig(height=96, width=128,
                                                                   data_bar_rows=16))
        Image.fromarray(image).save(images / f"{index:03d}.tif")
        Image.fromarray(mask * 255).save(masks / f"{index:03d}_m.tif")
    return root


def assert_fails_cleanly(release: Path, out: Path, *fragments: str):
    with pytest.raises(ReleaseError) as caught:
        prepare_dataset(str(release), str(out), tile=64, progress=False)
    for fragment in fragments:
        assert fragment in str(caught.value)
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]


def test_small_release_prepares_with_padding_and_bar_removed(tmp_path):
    release = small_release(tmp_path / "release")
    manifest = prepare_dataset(str(release), str(tmp_path / "out"), tile=128, val_fraction=0,
                               test_fraction=0.5, progress=False)
    assert manifest["data_bar_rows"] == {"000": 16, "001": 16}
    label = np.asarray(Image.open(tmp_path / "out" / "labels" / "000_r0000_c0000.png"))
    assert (label[80:] == 255).all() and set(np.unique(label[:80])) <= {0, 1}


def test_image_without_mask(tmp_path):
    release = small_release(tmp_path / "release")
    os.remove(release / RELEASE_MASKS / "001_m.tif")
    assert_fails_cleanly(release, tmp_path / "out", "001.tif", "no mask")


def test_mask_of_other_size(tmp_path):
    release = small_release(tmp_path / "release")
    Image.fromarray(np.zeros((50, 60), np.uint8)).save(release / RELEASE_MASKS / "001_m.tif")
    assert_fails_cleanly(release, tmp_path / "out", "001_m.tif", "60x50", "128x96")


def test_unreadable_file(tmp_path):
    release = small_release(tmp_path / "release")
    (release / RELEASE_IMAGES / "001.tif").write_bytes(b"not a tiff at all")
    assert_fails_cleanly(release, tmp_path / "out", "001.tif", "cannot read")


def test_empty_folder(tmp_path):
    release = small_release(tmp_path / "release", count=0)
    assert_fails_cleanly(release, tmp_path / "out", "no images")


def test_mask_with_other_values(tmp_path):
    release = small_release(tmp_path / "release")
    mask = np.zeros((96, 128), np.uint8)
    mask[10:20, 10:20] = 128
    Image.fromarray(mask).save(release / RELEASE_MASKS / "000_m.tif")
    assert_fails_cleanly(release, tmp_path / "out", "000_m.tif", "[128]")


def test_existing_output_is_not_overwritten(tmp_path):
    release = small_release(tmp_path / "release")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ReleaseError, match="--overwrite"):
        prepare_dataset(str(release), str(out), tile=64, progress=False)


# ------------------------------------------------------------------ label checks
def test_raw_0_255_mask_is_refused_with_its_name(synthetic_dataset, tmp_path):
    import paddleseg.transforms as T
    root = tmp_path / "raw"
    shutil.copytree(synthetic_dataset, root)
    first_label = read_list(root / "train.txt")[0][1]
    label = np.asarray(Image.open(root / first_label))
    Image.fromarray((label * 255).astype(np.uint8)).save(root / first_label)
    with pytest.raises(LabelError, match=re.escape(first_label) + ".*raw 0/255 mask"):
        TiO2SEM(str(root), [T.Normalize(mean=[0.5], std=[0.5])], mode="train")


def test_label_checks_accept_ids_and_edge_padding_only():
    label = np.zeros((8, 8), np.uint8)
    label[:, 6:] = 255  # right padding of an empty tile: fine
    check_label_array(label, 2, 255, "pad.png")
    label[2:4, 2:4] = 255  # a blob of 255 and no particle: a 0/255 mask
    with pytest.raises(LabelError, match="blob.png"):
        check_label_array(label, 2, 255, "blob.png")
    with pytest.raises(LabelError, match="not class ids"):
        check_label_array(np.full((4, 4), 7, np.uint8), 2, 255, "seven.png")
    mixed = np.zeros((8, 8), np.uint8)
    mixed[1, 1] = 1
    mixed[5, 5] = 255  # annotated ignore pixel alongside particles: allowed
    check_label_array(mixed, 2, 255, "mixed.png")


def test_train_list_without_any_particle_is_refused(synthetic_dataset, tmp_path):
    import paddleseg.transforms as T
    root = tmp_path / "empty"
    shutil.copytree(synthetic_dataset, root)
    for _, label_rel in read_list(root / "train.txt"):
        Image.fromarray(np.zeros((64, 64), np.uint8)).save(root / label_rel)
    with pytest.raises(LabelError, match="no label file holds a foreground class"):
        TiO2SEM(str(root), [T.Normalize(mean=[0.5], std=[0.5])], mode="train")


# ------------------------------------------------------------------ synthetic generator
def test_synthetic_is_deterministic_by_seed():
    a = generate_sem_image(11)
    b = generate_sem_image(11)
    c = generate_sem_image(12)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def _figure_with_particles(background: int, particle: int, rows: int = 300, cols: int = 400) -> np.ndarray:
    """A flat background (a figure's: 60 % of its pixels one value, the others one level off)
    with discs, two of them cut by the bottom edge and one just above it."""
    noise = np.random.default_rng(1).choice([-1, 0, 0, 0, 1], (rows, cols))
    grey = (background + noise).astype(np.uint8)
    yy, xx = np.mgrid[:rows, :cols]
    for cy, cx, radius in ((60, 80, 30), (150, 250, 40), (rows - 5, 60, 35), (rows - 10, 330, 45), (rows - 60, 180, 20)):
        grey[(yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2] = particle
    return grey


def _with_bar(sample: np.ndarray, bar_rows: int, tone: int, text_rows: int) -> np.ndarray:
    """``sample`` over a data bar of ``bar_rows`` rows in ``tone``, with ``text_rows`` rows of
    text from its fourth row on (stripes over 60 % of the width: rows of text hold less than half
    of the bar's tone)."""
    bar = np.full((bar_rows, sample.shape[1]), tone, np.uint8)
    bar[3:3 + text_rows, : int(0.6 * sample.shape[1])] = 255 - tone
    bar[3:3 + text_rows, : int(0.6 * sample.shape[1]):3] = tone
    return np.vstack([sample, bar])


def test_a_data_bar_is_told_from_a_flat_background_by_its_edge():
    """Rows of one tone are no data bar by themselves: a figure's flat grey background with
    particles cut by the bottom edge has no bar (before: 123 rows cut, three particles in them);
    under a bar, the flat sample above it stays (before: 107 rows cut for a bar of 40); a white
    bar whose text rows hold less than half of its tone is found from its edge (before: 103
    rows for 36); a black bar under a black background has no edge and is not found (before: 97
    rows cut); an image of one value is blank."""
    grey_figure = _figure_with_particles(background=180, particle=20)
    assert detect_data_bar(grey_figure) == 0
    assert detect_data_bar(_with_bar(grey_figure, 40, tone=0, text_rows=14)) == 40
    assert detect_data_bar(_with_bar(_figure_with_particles(70, 200), 36, tone=255, text_rows=20)) == 36
    black = _figure_with_particles(background=2, particle=200)
    assert detect_data_bar(_with_bar(black, 30, tone=0, text_rows=12)) == 0
    with pytest.raises(DataBarError, match="blank"):
        detect_data_bar(np.zeros((100, 100), np.uint8))


def test_synthetic_looks_like_sem():
    config = SyntheticSEMConfig(height=256, width=320, data_bar_rows=24)
    image, mask = generate_sem_image(3, config)
    assert image.shape == mask.shape == (256, 320) and image.dtype == np.uint8
    assert set(np.unique(mask)) == {0, 1}
    assert not mask[-24:].any()  # the data bar is background
    assert detect_data_bar(image) == 24
    sample = slice(0, 232)
    fraction = mask[sample].mean()
    assert 0.05 < fraction < 0.35
    particles, substrate = image[sample][mask[sample] == 1], image[sample][mask[sample] == 0]
    assert particles.mean() > substrate.mean() + 40  # bright particles on a dark substrate
    from scipy import ndimage
    labels, count = ndimage.label(mask[sample])
    assert count >= 5
