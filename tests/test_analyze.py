"""The analysis workflow on whole images of any size and kind, and the analyze command."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from paddleseg_hru2net.analysis.workflow import (analyze_folder, analyze_image, load_sem_image,
                                                 output_stems, prepare_output_folder)
from paddleseg_hru2net.datasets.synthetic import SyntheticSEMConfig, generate_sem_image
from paddleseg_hru2net.errors import InputError
from paddleseg_hru2net.inference import Feed, ModelSource, Segmenter
from paddleseg_hru2net.microscopy.pixel_size import read_pixel_size_nm


def threshold_runner(batch: np.ndarray) -> np.ndarray:
    """Stands in for a model: particles are brighter than the substrate."""
    x = batch[:, :1]
    return np.concatenate([-x, x], axis=1) * 5.0


THRESHOLD_MODEL = Segmenter(threshold_runner, Feed(window=(64, 64), channels=1, mean=(0.4,), std=(0.2,)),
                            "test", ModelSource(name="threshold"))


def threshold_probabilities(image):
    return THRESHOLD_MODEL.probabilities(image.grey)


def threshold_mask(image):
    return (THRESHOLD_MODEL.particle_probability(image.grey) > 0.5).astype(np.uint8)


def write_sem(path, height, width, seed=0, bits=8, rgb=False, bar=0):
    image, mask = generate_sem_image(seed, SyntheticSEMConfig(height=height, width=width,
                                                              data_bar_rows=bar))
    if bits == 16:
        Image.fromarray(image.astype(np.uint16) * 257).save(path)
    elif rgb:
        Image.fromarray(np.repeat(image[..., None], 3, axis=2)).save(path)
    else:
        Image.fromarray(image).save(path)
    return mask


@pytest.mark.parametrize("size", [(40, 50), (300, 410)])
def test_sizes_below_a_window_and_above_several(tmp_path, size):
    mask = write_sem(tmp_path / "a.png", *size)
    predicted = threshold_mask(load_sem_image(str(tmp_path / "a.png")))
    assert predicted.shape == size
    assert (predicted == mask).mean() > 0.85
    assert (predicted[mask > 0] == 1).mean() > 0.5  # not passed by an all-background mask


def test_16_bit_and_rgb_give_the_same_mask_as_8_bit(tmp_path):
    write_sem(tmp_path / "grey.png", 120, 160, seed=4)
    write_sem(tmp_path / "deep.tif", 120, 160, seed=4, bits=16)
    write_sem(tmp_path / "colour.png", 120, 160, seed=4, rgb=True)
    masks = [threshold_mask(load_sem_image(str(tmp_path / n)))
             for n in ("grey.png", "deep.tif", "colour.png")]
    notes = load_sem_image(str(tmp_path / "deep.tif")).notes
    assert not [note for note in notes if "bit" in note]  # full 16-bit range: no note on reading it
    np.testing.assert_array_equal(masks[0], masks[1])
    np.testing.assert_array_equal(masks[0], masks[2])


def test_pixel_size_from_metadata_option_or_pixels(tio2_release, tmp_path):
    tif = next((tio2_release / "Electron Microscopy Images" / "SEM").glob("*.tif"))
    with_metadata = load_sem_image(str(tif), pixel_size_nm=1.0)
    assert with_metadata.pixel_size_source.startswith("metadata")
    assert with_metadata.pixel_size_nm == pytest.approx(7.344, abs=1e-3)
    assert with_metadata.data_bar_rows == 56
    write_sem(tmp_path / "plain.png", 64, 64)
    assert load_sem_image(str(tmp_path / "plain.png"), pixel_size_nm=2.5).pixel_size_source == "option"
    plain = load_sem_image(str(tmp_path / "plain.png"))
    assert plain.pixel_size_nm is None and plain.pixel_size_source == "none (pixels)"


def test_folder_with_one_corrupt_file_goes_on(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    write_sem(folder / "one.png", 128, 128, seed=1, bar=16)
    write_sem(folder / "two.png", 128, 160, seed=2)
    (folder / "broken.tif").write_bytes(b"II*\x00garbage")
    out = tmp_path / "out"
    prepare_output_folder(str(out), str(folder))
    outcome = analyze_folder(str(folder), str(out), threshold_probabilities, pixel_size_nm=7.0,
                             progress=False)
    assert [f["image"].endswith("broken.tif") for f in outcome["failures"]] == [True]
    assert len(outcome["records"]) == 2
    for name in ("one_mask.png", "one_labels.tif", "one_overlay.png", "one_particles.csv",
                 "summary.csv", "size_histogram.png", "failures.csv", "run.json"):
        assert (out / name).is_file(), name
    with open(out / "summary.csv") as handle:
        rows = {r["image"]: r for r in csv.DictReader(handle)}
    assert rows["one.png"]["data_bar_rows"] == "16" and rows["one.png"]["pixel_size_nm"] == "7.0"
    assert float(rows["one.png"]["median_equivalent_diameter_nm"]) == pytest.approx(
        7.0 * float(rows["one.png"]["median_equivalent_diameter_px"]))
    assert int(rows["two.png"]["particles"]) > 3
    assert np.asarray(Image.open(out / "one_mask.png")).shape == (112, 128)


def _analysed_synthetic_image(tmp_path, height, width, **options):
    """The output folder of ``analyze_folder`` on one synthetic SEM image ``sem.png``."""
    folder = tmp_path / "images"
    folder.mkdir()
    write_sem(folder / "sem.png", height, width, seed=5)
    out = tmp_path / "out"
    prepare_output_folder(str(out), str(folder))
    analyze_folder(str(folder), str(out), threshold_probabilities, progress=False, **options)
    return out


def test_label_image_equals_the_particle_table(tmp_path):
    """The 16-bit label TIFF holds the CSV's ids, and each id's pixel count is its area."""
    import tifffile
    out = _analysed_synthetic_image(tmp_path, 140, 180, pixel_size_nm=2.0)
    labels = tifffile.imread(out / "sem_labels.tif")
    assert labels.dtype == np.uint16 and labels.shape == (140, 180)
    with open(out / "sem_particles.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[:3] == ["label", "area_nm2", "equivalent_diameter_nm"]
    assert len(rows) > 3 and sorted(int(r["label"]) for r in rows) == list(range(1, labels.max() + 1))
    areas = np.bincount(labels.ravel())
    for row in rows:
        assert float(row["area_nm2"]) == pytest.approx(areas[int(row["label"])] * 4.0)
    # Fiji's calibration travels with it: the project's own pixel-size reader finds 2 nm
    assert read_pixel_size_nm(str(out / "sem_labels.tif")) == (pytest.approx(2.0), "metadata (ImageJ TIFF resolution)")


def test_label_image_without_a_pixel_size_is_uncalibrated(tmp_path):
    out = _analysed_synthetic_image(tmp_path, 96, 96)
    assert read_pixel_size_nm(str(out / "sem_labels.tif"))[0] is None


def test_images_sharing_a_stem_get_their_own_outputs():
    stems = output_stems(["d/a.png", "d/a.tif", "d/b.png"])
    assert stems == {"d/a.png": "a_png", "d/a.tif": "a_tif", "d/b.png": "b"}


def test_output_folder_rules(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    write_sem(folder / "a.png", 64, 64)
    (tmp_path / "file.txt").write_text("x")
    for out, fragment in [(tmp_path / "file.txt", "is a file"), (folder, "inside the input"),
                          (folder / "results", "inside the input")]:
        with pytest.raises(InputError, match=fragment):
            prepare_output_folder(str(out), str(folder))
    out = tmp_path / "out"
    prepare_output_folder(str(out), str(folder))
    analyze_folder(str(folder), str(out), threshold_probabilities, progress=False)
    with pytest.raises(InputError, match="--resume"):
        prepare_output_folder(str(out), str(folder))
    (out / "stale_mask.png").write_bytes(b"old")
    prepare_output_folder(str(out), str(folder), overwrite=True)
    assert not (out / "stale_mask.png").exists() and not (out / "summary.csv").exists()


def test_resume_finishes_only_what_is_missing(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for seed in range(3):
        write_sem(folder / f"i{seed}.png", 96, 96, seed=seed)
    out = tmp_path / "out"
    prepare_output_folder(str(out), str(folder))
    calls = []

    def interrupted_after_one(image):
        calls.append(image.path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return threshold_probabilities(image)

    first = analyze_folder(str(folder), str(out), interrupted_after_one, progress=False)
    assert first["interrupted"] and len(first["records"]) == 1
    assert not (out / "i1_mask.png").exists()  # the interrupted image left nothing behind
    with open(out / "summary.csv") as handle:
        assert len(list(csv.DictReader(handle))) == 1
    calls.clear()
    prepare_output_folder(str(out), str(folder), resume=True)
    second = analyze_folder(str(folder), str(out), lambda im: (calls.append(im.path), threshold_probabilities(im))[1],
                            progress=False, resume=True)
    assert [c.split("/")[-1] for c in calls] == ["i1.png", "i2.png"]
    assert not second["interrupted"] and len(second["records"]) == 3
    with open(out / "summary.csv") as handle:
        assert [r["image"] for r in csv.DictReader(handle)] == ["i0.png", "i1.png", "i2.png"]
    with pytest.raises(InputError, match="other settings"):
        analyze_folder(str(folder), str(out), threshold_probabilities, pixel_size_nm=3.0,
                       progress=False, resume=True)


def overlapping_discs(centres, radius=16, shape=(60, 130)):
    """Instance map of discs that overlap (pixels go to the nearest centre): touching particles
    whose union has hardly any neck."""
    rows, cols = np.mgrid[:shape[0], :shape[1]]
    distances = np.stack([np.hypot(rows - r, cols - c) for r, c in centres])
    return np.where(distances.min(0) <= radius, distances.argmin(0) + 1, 0).astype(np.int32)


@pytest.mark.parametrize("centres", [[(30, 30), (30, 48)], [(30, 30), (30, 48), (30, 66)]])
def test_three_class_probabilities_split_touching_discs_and_chains(centres):
    """Touching discs (two, and a chain of three) whose contacts the model marks: one particle
    each, with their own areas; without the contact class the union stays one particle."""
    from paddleseg_hru2net.analysis.workflow import Splitting
    from paddleseg_hru2net.datasets.instance_targets import contact_target
    instances = overlapping_discs(centres)
    target = contact_target(instances, radius=1)
    probabilities = np.stack([(target == k).astype(np.float32) for k in range(3)])
    result = analyze_image(load_image_like(instances), probabilities)
    assert len(result.particles) == len(centres)
    areas = sorted(p.area for p in result.particles)
    expected = sorted(np.bincount(instances.ravel())[1:])
    np.testing.assert_allclose(areas, expected, rtol=0.1)
    two_class = np.stack([probabilities[0], probabilities[1] + probabilities[2]])
    merged = analyze_image(load_image_like(instances), two_class, Splitting(min_depth=4.0))
    assert len(merged.particles) == 1


@pytest.mark.parametrize("centres", [[(30, 30), (30, 48)], [(30, 30), (30, 48), (30, 66)]])
def test_four_class_probabilities_split_touching_discs_by_their_centres(centres):
    """Touching discs (two, and a chain of three) whose contacts a model missed: interiors run
    into each other, but the centre class gives one marker each, so each disc is one particle
    with its own area; without the centres the union stays one particle."""
    from paddleseg_hru2net.analysis.workflow import Splitting, particle_maps
    from paddleseg_hru2net.datasets.instance_targets import CENTRE, centre_target
    instances = overlapping_discs(centres)
    target = centre_target(instances, radius=1)
    missed_contacts = np.where(target == 2, (instances > 0).astype(np.uint8), target)
    probabilities = np.stack([(missed_contacts == k).astype(np.float32) for k in range(4)])
    maps = particle_maps(probabilities)
    np.testing.assert_array_equal(maps.interior, (instances > 0).astype(np.float32))
    np.testing.assert_array_equal(maps.centre, (target == CENTRE).astype(np.float32))
    result = analyze_image(load_image_like(instances), probabilities, Splitting(min_depth=100.0))
    assert len(result.particles) == len(centres)
    # with no contact at all the interior is flat, so where neighbours meet is left to the flood
    np.testing.assert_allclose(sorted(p.area for p in result.particles),
                               sorted(np.bincount(instances.ravel())[1:]), rtol=0.15)
    without_centres = probabilities[:3].copy()
    without_centres[1] += probabilities[3]
    merged = analyze_image(load_image_like(instances), without_centres, Splitting(min_depth=100.0))
    assert len(merged.particles) == 1


def load_image_like(array):
    from paddleseg_hru2net.analysis.workflow import SEMImage
    return SEMImage("x.png", np.zeros(array.shape, np.uint8), 0, None, "none (pixels)")


def test_analyze_command_default_backend_is_quiet_and_fast_path(tmp_path):
    """No flags: the shipped models chosen per image (the specialist for an image with a pixel
    size that it is sure of, the generalist for one without) on ONNX Runtime (exported once into
    the cache), no ONNX Runtime warnings, a label TIFF and unit-named columns."""
    from conftest import run_tool
    images = tmp_path / "images"
    images.mkdir()
    write_sem(images / "sem.png", 200, 280, seed=9)
    result = run_tool("-m", "paddleseg_hru2net.cli.analyze", "analyze", str(images), "--out",
                      str(tmp_path / "out"), "--pixel-size", "7.34")
    assert "sem.png:" in result.stdout and "nm" in result.stdout
    assert "using the shipped models hru2netp_contact_tio2 where" in result.stderr
    for noise in ("Removing initializer", "[W:onnxruntime", "Paddle2ONNX", "Traceback"):
        assert noise not in result.stdout + result.stderr
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    # both instance-aware models slide large windows; the summary names the one used
    assert run["models"]["hru2netp_contact_tio2"]["window"] == [512, 512]
    assert run["models"]["hru2netp_contact_generalist"]["window"] == [512, 512]
    with open(tmp_path / "out" / "summary.csv") as handle:
        assert next(csv.DictReader(handle))["model"] == "hru2netp_contact_tio2"
    again = run_tool("-X", "importtime", "-m", "paddleseg_hru2net.cli.analyze", "analyze", str(images),
                     "--out", str(tmp_path / "out2"))
    with open(tmp_path / "out2" / "summary.csv") as handle:
        assert next(csv.DictReader(handle))["model"].startswith("hru2netp_contact_generalist (no pixel size")
    assert "exporting" not in again.stderr and "quantising" not in again.stderr  # cached
    imported = {line.rsplit("|", 1)[-1].strip() for line in again.stderr.splitlines()
                if line.startswith("import time:")}
    assert "onnxruntime" in imported and "paddle" not in imported  # the fast path needs no Paddle
    # nor does the automatic choice's check of the specialist against the generalist
    checked = run_tool("-X", "importtime", "-m", "paddleseg_hru2net.cli.analyze", "analyze", str(images),
                       "--out", str(tmp_path / "out3"), "--pixel-size", "7.34")
    imported = {line.rsplit("|", 1)[-1].strip() for line in checked.stderr.splitlines()
                if line.startswith("import time:")}
    assert "paddleseg_hru2net.analysis.model_choice" in imported and "paddle" not in imported


@pytest.mark.parametrize("options, fragment", [
    (["--threshold", "0.9", "--core-threshold", "0.6"], "core threshold"),
    (["--window", "0", "0"], "--window"),
    (["--window", "-5", "-5"], "--window"),
    (["--pixel-size", "-5"], "--pixel-size"),
    (["--pixel-size", "0"], "--pixel-size"),
    (["--pixel-size", "nan"], "--pixel-size"),
    (["--views", "1", "0"], "--views"),
    (["--backend", "paddle", "--model", "nope"], "no shipped model named"),
    (["--model", "auto", "--config", "configs/hru2netp_tio2.yml"], "drop --config"),
])
def test_analyze_refuses_bad_settings_with_a_reason(tmp_path, options, fragment):
    from conftest import run_tool
    write_sem(tmp_path / "sem.png", 64, 64)
    result = run_tool("-m", "paddleseg_hru2net.cli.analyze", "analyze", str(tmp_path / "sem.png"),
                      "--out", str(tmp_path / "out"), *options, check=False)
    assert result.returncode == 2, result.stderr
    assert fragment in result.stderr and "Traceback" not in result.stderr


def test_validation_tool_refuses_views_that_are_no_scale(tmp_path):
    from conftest import run_tool
    result = run_tool("tools/validate_analysis.py", "--manifest", str(tmp_path / "m.json"), "--views", "-1",
                      check=False)
    assert result.returncode == 2 and "--views" in result.stderr and "Traceback" not in result.stderr


def test_validation_tool_will_not_tune_on_the_test_images(tmp_path):
    from conftest import run_tool
    result = run_tool("tools/validate_analysis.py", "--release", str(tmp_path), "--manifest",
                      str(tmp_path / "m.json"), "--split", "test", "--tune", check=False)
    assert result.returncode == 2 and "--split val" in result.stderr
    result = run_tool("tools/validate_analysis.py", "--release", str(tmp_path), "--manifest",
                      str(tmp_path / "m.json"), "--split", "val", "--tune", "--tune-thresholds", "0.5", "1.5",
                      check=False)
    assert result.returncode == 2 and "use values between 0 and 1" in result.stderr


def test_validation_tool_names_a_missing_or_wrong_manifest_before_loading_a_model(tmp_path):
    from conftest import run_tool
    emps = ["tools/validate_analysis.py", "--emps", str(tmp_path), "--split", "val", "--manifest"]
    result = run_tool(*emps, str(tmp_path / "missing.json"), check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "missing.json: cannot read the manifest" in result.stderr
    assert "hru2net-prepare-generalist" in result.stderr and "exporting" not in result.stdout
    tio2_only = tmp_path / "tio2.json"
    tio2_only.write_text(json.dumps({"source_images": {"val": ["a"]}}))
    result = run_tool(*emps, str(tio2_only), check=False)
    assert result.returncode == 2 and "no EMPS val images" in result.stderr and "Traceback" not in result.stderr
    result = run_tool("tools/validate_analysis.py", "--release", str(tmp_path), "--manifest", str(tio2_only),
                      "--split", "test", check=False)
    assert result.returncode == 2 and "no source images in split 'test'" in result.stderr


def test_labels_made_at_the_model_scale_map_back_onto_the_image_grid():
    """Two touching discs labelled at a third of the image's scale: on the image's grid they stay
    two particles, cover exactly the image's mask, and keep their sizes."""
    from skimage.draw import disk

    from paddleseg_hru2net.analysis.scale import labels_to_grid
    mask = np.zeros((90, 150), bool)
    truth = np.zeros(mask.shape, np.int32)
    for index, centre in enumerate(((45, 50), (45, 100)), start=1):
        rows, cols = disk(centre, 26, shape=mask.shape)
        truth[rows, cols] = np.where(truth[rows, cols] == 0, index, truth[rows, cols])
    mask = truth > 0
    small = truth[1::3, 1::3]  # the labels as a 3x smaller segmentation would give them
    labels = labels_to_grid(small, mask)
    assert labels.shape == mask.shape and labels.max() == 2
    assert np.array_equal(labels > 0, mask)
    areas = np.bincount(labels.ravel())[1:]
    assert np.allclose(areas, np.bincount(truth.ravel())[1:], rtol=0.05)


def test_random_low_resolution_softens_the_image_and_keeps_the_label():
    from paddleseg_hru2net.transforms import RandomLowResolution
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (64, 80)).astype(np.float32)
    label = rng.integers(0, 3, (64, 80)).astype(np.int64)
    np.random.seed(0)
    out = RandomLowResolution(prob=1.0, min_factor=0.4)({"img": image.copy(), "label": label.copy()})
    assert out["img"].shape == image.shape and np.array_equal(out["label"], label)
    assert out["img"].std() < 0.9 * image.std()  # averaged: a noise image loses contrast
    untouched = RandomLowResolution(prob=0.0)({"img": image.copy(), "label": label})
    assert np.array_equal(untouched["img"], image)
    with pytest.raises(ValueError):
        RandomLowResolution(min_factor=1.0)


def test_uneven_background_and_noise_transforms_change_the_image_as_stated():
    from paddleseg_hru2net.transforms import RandomGaussianNoise, RandomUnevenBackground, background_field
    tilt = background_field(50, 100, tilt_angle=0.0, tilt=80)
    assert tilt[:, 0].mean() == pytest.approx(-39.6, abs=0.1) and tilt[:, -1].mean() == pytest.approx(39.6, abs=0.1)
    assert np.allclose(tilt[0], tilt[-1])  # left to right only
    bowl = background_field(50, 100, tilt_angle=0.0, tilt=0, bowl=30, bowl_centre=(0.0, 0.0))
    assert bowl[0, 0] < 0.1 and bowl[-1, -1] == pytest.approx(30, abs=0.5)
    image = np.full((64, 80), 128.0, np.float32)
    label = np.ones((64, 80), np.int64)
    np.random.seed(3)
    shaded = RandomUnevenBackground(prob=1.0, max_levels=60)({"img": image.copy(), "label": label})
    assert shaded["img"].shape == image.shape and np.array_equal(shaded["label"], label)
    assert 2 < np.ptp(shaded["img"]) <= 120 and np.abs(np.diff(shaded["img"], axis=1)).max() < 5  # smooth
    noisy = RandomGaussianNoise(prob=1.0, max_sigma=20)({"img": image.copy(), "label": label})["img"]
    assert 0 < noisy.std() <= 21 and noisy.min() >= 0 and noisy.max() <= 255
    assert np.array_equal(RandomUnevenBackground(prob=0.0)({"img": image.copy()})["img"], image)
    with pytest.raises(ValueError):
        RandomGaussianNoise(max_sigma=0)


def test_the_gamma_transform_bends_the_grey_levels_and_keeps_their_order_and_ends():
    from paddleseg_hru2net.transforms import RandomGamma
    ramp = np.linspace(0, 255, 256, dtype=np.float32)[None, :].repeat(4, axis=0)
    label = np.ones(ramp.shape, np.int64)
    np.random.seed(0)
    bent = [RandomGamma(prob=1.0, max_gamma=2.0)({"img": ramp.copy(), "label": label})["img"] for _ in range(40)]
    for image in bent:
        assert image[0, 0] == 0 and image[0, -1] == pytest.approx(255)  # black and white stay
        assert np.all(np.diff(image[0]) >= 0)  # the order of the grey levels is kept
        middle = image[0, 128] / 128.5  # (1/2) ** gamma * 2: between 2 ** -1 ... 2 ** 0.5 for gamma in [0.5, 2]
        assert 0.5 ** 2 * 2 - 1e-3 <= middle <= 0.5 ** 0.5 * 2 + 1e-3
    middles = np.array([image[0, 128] for image in bent])
    assert (middles < 120).any() and (middles > 140).any()  # both darker and brighter tone curves
    assert np.array_equal(RandomGamma(prob=0.0)({"img": ramp.copy()})["img"], ramp)
    with pytest.raises(ValueError):
        RandomGamma(max_gamma=1.0)


def test_dark_particles_are_detected_and_inverted_for_a_bright_only_model():
    """A synthetic SEM image and its inverse (TEM-like): the histogram test tells them apart, and
    the shipped bright-only model segments the inverse as well as the original (it is inverted
    back for the model; the summary says so)."""
    from paddleseg_hru2net.analysis.contrast import particles_look_dark
    from paddleseg_hru2net.analysis.workflow import SEMImage, segment_image
    from paddleseg_hru2net.datasets.synthetic import SyntheticSEMConfig, generate_sem_image
    from paddleseg_hru2net.inference import load_segmenter, particle_probability_of, shipped_source

    grey, mask = generate_sem_image(11, SyntheticSEMConfig(height=200, width=260))
    assert particles_look_dark(grey) is False and particles_look_dark(255 - grey) is True
    assert particles_look_dark(np.full((50, 50), 128, np.uint8)) is None
    segmenter = load_segmenter(shipped_source("hru2netp_tio2"), backend="onnxruntime")
    ious = {}
    for name, image in (("bright", grey), ("dark", 255 - grey)):
        segmentation = segment_image(SEMImage(f"{name}.png", image, 0, None, "none (pixels)"), segmenter, False)
        predicted = particle_probability_of(segmentation.probabilities) > 0.5
        ious[name] = (predicted & (mask > 0)).sum() / (predicted | (mask > 0)).sum()
        assert ("inverted" in segmentation.contrast) == (name == "dark")
    assert ious["bright"] > 0.6 and abs(ious["dark"] - ious["bright"]) < 0.01


def _discs(diameter: int, count_per_side: int = 4, size: int = 256) -> np.ndarray:
    grey = np.full((size, size), 40, np.uint8)
    yy, xx = np.mgrid[:size, :size]
    step = size // count_per_side
    for row in range(count_per_side):
        for col in range(count_per_side):
            cy, cx = step // 2 + row * step, step // 2 + col * step
            grey[(yy - cy) ** 2 + (xx - cx) ** 2 <= (diameter / 2) ** 2] = 200
    return grey


def test_scale_is_estimated_from_a_first_pass_unless_that_pass_is_unreliable():
    """Discs of 12 px for a model that knows 24 px: enlarged by about 2 and said so. A frame the
    first pass paints as particle almost everywhere: its size is estimated from the grey values
    instead, and the reason is given."""
    from dataclasses import replace as replaced
    from paddleseg_hru2net.analysis.scale import scaled_probabilities
    model = replaced(THRESHOLD_MODEL, feed=replaced(THRESHOLD_MODEL.feed, particle_diameter_px=24.0))
    _, at_scale, choice = scaled_probabilities(_discs(12), None, model)
    assert 1.8 < choice.factor < 2.2 and "estimated from a first pass" in choice.describe()
    assert not choice.split_at_model_scale
    assert at_scale is not None and at_scale.shape[1] > 256 * 1.8
    bright = np.full((256, 256), 200, np.uint8)
    bright[::16, :] = 40  # thin dark lines: 'particles' cover 94 % of the frame
    _, _, choice = scaled_probabilities(bright, None, model)
    assert choice.describe().startswith("x") and "estimated from the grey values (first pass " \
        "unreliable: particles over" in choice.describe()
    assert choice.split_at_model_scale  # EMPS val: fewer large particles cut into pieces


def test_enlargement_stays_within_the_pixel_budget(monkeypatch):
    """An image the model would enlarge past MAX_SCALED_PIXELS is enlarged less (native if
    even a little would not fit), and its scale says why; smaller images keep the full factor."""
    from dataclasses import replace as replaced
    from paddleseg_hru2net.analysis import scale
    model = replaced(THRESHOLD_MODEL, feed=replaced(THRESHOLD_MODEL.feed, pixel_size_nm=2.5))
    monkeypatch.setattr(scale, "MAX_SCALED_PIXELS", 100 * 100 * 4)  # a 100 x 100 image, x2 at most
    small, _ = scale.choose_scale(np.zeros((50, 50), np.uint8), 10.0, model)
    assert small.factor == 4.0 and "megapixels" not in small.describe()
    capped, _ = scale.choose_scale(np.zeros((100, 100), np.uint8), 10.0, model)
    assert capped.factor == 2.0 and "enlarged x2 instead of x4" in capped.describe()
    too_big, _ = scale.choose_scale(np.zeros((180, 180), np.uint8), 10.0, model)
    assert too_big.factor == 1.0 and "instead of x4" in too_big.describe()
    shrunk, _ = scale.choose_scale(np.zeros((400, 400), np.uint8), 1.25, model)
    assert shrunk.factor == 0.5  # shrinking is never capped


def test_a_model_that_sizes_by_grey_values_skips_the_first_pass():
    """A model recording ``size_from: grey_values`` (trained at one particle size, so its own
    first pass would measure fragments) is resampled by the grey-value estimate even where a
    first pass would be clear, and split at its scale; a bad rule name is refused."""
    from dataclasses import replace as replaced
    from paddleseg_hru2net.analysis.particle_size import diameter_from_autocorrelation
    from paddleseg_hru2net.analysis.scale import scaled_probabilities
    feed = replaced(THRESHOLD_MODEL.feed, particle_diameter_px=60.0, size_from="grey_values")
    grey = _random_discs(12)
    _, at_scale, choice = scaled_probabilities(grey, None, replaced(THRESHOLD_MODEL, feed=feed))
    assert choice.factor == round(60.0 / diameter_from_autocorrelation(grey), 4) != 1.0
    assert "estimated from the grey values (the model's rule)" in choice.describe()
    assert choice.split_at_model_scale and at_scale is not None
    with pytest.raises(ValueError, match="size_from"):
        replaced(feed, size_from="guess")


def test_both_ways_round_are_segmented_at_one_grey_value_scale(monkeypatch):
    """A model sizing by grey values and choosing polarity by confidence estimates an image's
    particle size once (the estimate does not depend on the contrast) and segments the image
    both ways round at that scale; it equals the estimate of the inverted image."""
    from dataclasses import replace as replaced
    from paddleseg_hru2net.analysis import particle_size, scale
    from paddleseg_hru2net.analysis.workflow import SEMImage, segment_image
    grey = _random_discs(12)
    assert particle_size.diameter_from_autocorrelation(255 - grey) == pytest.approx(
        particle_size.diameter_from_autocorrelation(grey), rel=1e-4)
    calls, factors = [], []
    estimate = scale.diameter_from_autocorrelation
    monkeypatch.setattr(scale, "diameter_from_autocorrelation", lambda g: calls.append(1) or estimate(g))
    feed = replaced(THRESHOLD_MODEL.feed, particle_diameter_px=60.0, size_from="grey_values",
                    polarity_from="confidence")
    model = replaced(THRESHOLD_MODEL, feed=feed)
    probabilities_at = scale.probabilities_at
    monkeypatch.setattr(scale, "probabilities_at",
                        lambda s, g, f: factors.append(f) or probabilities_at(s, g, f))
    segmentation = segment_image(SEMImage("discs.png", grey, 0, None, "none (pixels)"), model)
    assert len(calls) == 1 and len(factors) == 2 and factors[0] == factors[1] == segmentation.scale.factor != 1.0


def unsure_of_bright_runner(batch: np.ndarray) -> np.ndarray:
    """Stands in for a model trained on bright particles on a dark substrate: sure of dark
    pixels (background), half-sure of bright ones (particle by a hair)."""
    x = batch[:, :1]
    return np.concatenate([np.where(x < 0, -5.0 * x, 0.0), np.full_like(x, 0.01)], axis=1)


def test_a_model_that_decides_polarity_by_shape_keeps_the_way_round_with_convex_particles():
    """Taken the wrong way round, an image's 'particles' are the background between its
    particles: one concave network. A model recording ``polarity_from: shape`` keeps the way
    round whose particles are the more convex (a model sure of both ways, so confidence could
    not tell), and says why."""
    from dataclasses import replace as replaced
    from paddleseg_hru2net.analysis.contrast import particle_solidity
    from paddleseg_hru2net.analysis.workflow import SEMImage, segment_image
    from paddleseg_hru2net.inference import particle_probability_of
    bright = _discs(24)
    discs_probabilities = THRESHOLD_MODEL.probabilities(bright)
    background_probabilities = THRESHOLD_MODEL.probabilities(255 - bright)  # one region with holes
    assert particle_solidity(discs_probabilities) > 0.9 and particle_solidity(discs_probabilities) > \
        particle_solidity(background_probabilities) + 0.02
    assert particle_solidity(np.stack([np.ones((32, 32)), np.zeros((32, 32))])) == 0.0
    model = replaced(THRESHOLD_MODEL, feed=replaced(THRESHOLD_MODEL.feed, polarity_from="shape"))
    for name, grey in (("bright", bright), ("dark", 255 - bright)):
        segmentation = segment_image(SEMImage(f"{name}.png", grey, 0, None, "none (pixels)"), model, False)
        assert segmentation.contrast.startswith("inverted" if name == "dark" else "as recorded")
        assert "its particles are the more convex: particle solidity" in segmentation.contrast
        assert np.array_equal(particle_probability_of(segmentation.probabilities) > 0.5, bright > 100)
        assert segmentation.doubts == ()  # discs against one network of gaps: no near tie


def test_a_particle_across_the_frame_is_told_from_the_background_by_the_frame_edge():
    """A dark rod across the frame: both ways round the regions are rectangles (solidity 1), so
    ``shape`` ties and keeps the two bright background halves as the particles; the halves run
    along 87 % of the frame's edge, the rod along 13 %, so ``shape_and_frame`` inverts the image
    and finds the rod. Discs decide alike under both measures."""
    from dataclasses import replace as replaced
    from paddleseg_hru2net.analysis.contrast import particles_on_frame_edge
    from paddleseg_hru2net.analysis.workflow import SEMImage, segment_image
    from paddleseg_hru2net.inference import particle_probability_of
    rod = np.full((96, 96), 200, np.uint8)
    rod[36:60] = 40
    assert particles_on_frame_edge(THRESHOLD_MODEL.probabilities(255 - rod)) == pytest.approx(48 / 380)
    for rule, inverted in (("shape", False), ("shape_and_frame", True)):
        model = replaced(THRESHOLD_MODEL, feed=replaced(THRESHOLD_MODEL.feed, polarity_from=rule))
        segmentation = segment_image(SEMImage("rod.png", rod, 0, None, "none (pixels)"), model, False)
        assert segmentation.contrast.startswith("inverted" if inverted else "as recorded"), rule
        assert np.array_equal(particle_probability_of(segmentation.probabilities) > 0.5,
                              (rod < 100) if inverted else (rod > 100))
        discs = segment_image(SEMImage("discs.png", 255 - _discs(24), 0, None, "none (pixels)"), model, False)
        assert discs.contrast.startswith("inverted") and discs.doubts == ()
    assert "the less on the frame edge" in segmentation.contrast and segmentation.doubts == ()


def test_a_label_box_does_not_decide_which_way_round_an_image_is():
    """Dark discs, many cut by the frame, on a background too dark for the model to take as
    particle either (a TEM image under a gamma of 2), with a white label box: as recorded the
    box is the only "particle", perfectly convex and away from the frame's edge, and outscored
    the discs of the inverted image, then was left out as drawn - no particles and no warning.
    Judged without what is drawn over the image, the image is inverted and its discs found; an
    image whose only particle is drawn says it found none."""
    from dataclasses import replace as replaced
    from paddleseg_hru2net.analysis.workflow import SEMImage, analyze_segmentation, segment_image
    size = 192
    grey = np.clip(120 + np.random.default_rng(0).normal(0, 4, (size, size)), 0, 255).astype(np.uint8)
    yy, xx = np.mgrid[:size, :size]
    for cy in range(0, size + 1, 48):
        for cx in range(0, size + 1, 48):
            grey[(yy - cy) ** 2 + (xx - cx) ** 2 <= 22 ** 2] = 20
    grey[6:30, 90:114] = 255  # the box ...
    grey[12:24, 99:105] = 0  # ... and its letter
    model = replaced(THRESHOLD_MODEL, feed=replaced(THRESHOLD_MODEL.feed, mean=(0.7,),  # particle above 178
                                                    polarity_from="shape_and_frame"))
    image = SEMImage("box.png", grey, 0, None, "none (pixels)")
    assert [a.kind for a in image.annotations] == ["box"]
    segmentation = segment_image(image, model, False)
    assert segmentation.contrast.startswith("inverted") and "0.000 as recorded" in segmentation.contrast
    result = analyze_segmentation(image, segmentation)
    assert len(result.particles) == 25 and "no particles found" not in result.warnings
    as_recorded = replaced(image, particles_look="bright")
    boxed_only = analyze_segmentation(as_recorded, segment_image(as_recorded, model, False))
    assert boxed_only.particles == [] and boxed_only.left_out_as_annotations >= 1  # the box, in pieces
    assert boxed_only.warnings == ["no particles found"]


@pytest.mark.parametrize("diameter, feed_settings", [(24, {}), (12, {"particle_diameter_px": 24.0,
                                                                        "size_from": "first_pass"})])
def test_a_white_or_black_margin_is_no_sample(tmp_path, diameter, feed_settings):
    """A figure's white frame around bright discs (of the model's size, and of half of it, which
    the model enlarges): cut before segmenting - in the particles' tone it would be a ring-shaped
    particle along the frame's edge and make the gaps the likelier way round - and given back
    as background, at the segmentation scale too; the summary notes it. Lines narrower than
    MIN_MARGIN, blank images and a flat grey edge are left as they are."""
    from dataclasses import replace as replaced
    from paddleseg_hru2net.analysis.workflow import analyze_segmentation, segment_image, summary_row
    from paddleseg_hru2net.inference import particle_probability_of
    from paddleseg_hru2net.microscopy.margins import MIN_MARGIN, Margins, white_or_black_margins
    discs = _discs(diameter, size=128 if diameter == 12 else 256)
    framed = np.pad(discs, ((12, 6), (9, 15)), constant_values=255)
    Image.fromarray(framed).save(tmp_path / "framed.png")
    image = load_sem_image(str(tmp_path / "framed.png"), data_bar_rows=0)
    assert image.margins == Margins(12, 6, 9, 15)
    model = replaced(THRESHOLD_MODEL, feed=replaced(THRESHOLD_MODEL.feed, polarity_from="shape_and_frame",
                                                    **feed_settings))
    segmentation = segment_image(image, model, True)
    assert segmentation.contrast.startswith("as recorded")
    assert (segmentation.scale.factor > 1.5) == (diameter == 12)
    mask = particle_probability_of(segmentation.probabilities) > 0.5
    assert np.array_equal(mask, np.pad(discs > 100, ((12, 6), (9, 15))))
    result = analyze_segmentation(image, segmentation)
    assert len(result.particles) == 16 and not any(p.touches_border for p in result.particles)
    assert "a white or black margin cut (top 12 px, bottom 6 px, left 9 px, right 15 px): not sample" in \
        summary_row(result)["notes"]
    dark = load_sem_image(_saved(tmp_path / "dark.png", 255 - framed), data_bar_rows=0)  # a black frame
    inverted = segment_image(dark, model, True)
    assert inverted.contrast.startswith("inverted")
    assert np.array_equal(particle_probability_of(inverted.probabilities) > 0.5, mask)
    assert np.array_equal(inverted.grey, framed)  # the grey the model was given, margins too
    assert white_or_black_margins(np.pad(discs, MIN_MARGIN - 1, constant_values=255)) == Margins()
    assert white_or_black_margins(np.full((64, 64), 255, np.uint8)) == Margins()
    assert white_or_black_margins(discs) == Margins()  # 20 px of flat grey background at each edge: sample


def test_a_dense_sample_within_white_margins_is_warned_of(tmp_path):
    """Bright squares over 69 % of the sample, inside white margins that make the framed image
    mostly margin: the coverage warning counts the sample, not the margins (over the whole
    frame the squares cover 25 %, under the warning's 60 %). The user says they are bright (the
    histogram would take such dense ones for the background)."""
    from paddleseg_hru2net.analysis.workflow import analyze_segmentation, segment_image
    cell = np.full((24, 24), 40, np.uint8)
    cell[2:22, 2:22] = 200
    framed = np.pad(np.tile(cell, (5, 5)), 40, constant_values=255)
    image = load_sem_image(_saved(tmp_path / "dense.png", framed), data_bar_rows=0, particles_look="bright")
    result = analyze_segmentation(image, segment_image(image, THRESHOLD_MODEL, False))
    assert len(result.particles) == 25
    assert any(w.startswith("particles cover 69 % of the image") for w in result.warnings), result.warnings


def test_an_image_within_margins_is_read_for_annotations_once(tmp_path, monkeypatch):
    """A figure's white frame with a white label box against its inner edge: the drawn marks are
    found within the margins (on the whole frame the box and the margin are one flat region and
    no box), by one OCR of the image; the part that is segmented is given them, and the box is
    left out of the particles on the whole image as on that part."""
    from dataclasses import replace as replaced
    from paddleseg_hru2net.analysis import workflow
    read = []
    monkeypatch.setattr(workflow, "find_text", lambda grey: read.append(grey.shape) or [])
    sample = _discs(24)
    sample[0:34, 0:60] = 254  # the label box, against the frame
    for left in (8, 22, 36):  # with three glyphs
        sample[8:26, left:left + 8] = 20
    framed = np.pad(sample, ((12, 6), (9, 15)), constant_values=255)
    image = load_sem_image(_saved(tmp_path / "figure.png", framed), data_bar_rows=0)
    model = replaced(THRESHOLD_MODEL, feed=replaced(THRESHOLD_MODEL.feed, polarity_from="shape_and_frame"))
    result = workflow.analyze_segmentation(image, workflow.segment_image(image, model, False))
    assert read == [sample.shape]
    assert [(a.kind, a.top, a.left) for a in image.annotations] == [("box", 12, 9)]
    assert result.left_out_as_annotations >= 1
    assert not any(p.centroid_row < 12 + 34 and p.centroid_col < 9 + 60 for p in result.particles)
    assert len(result.particles) == 15  # the other discs; the one under the box is drawn over


def _saved(path, grey: np.ndarray) -> str:
    Image.fromarray(grey).save(path)
    return str(path)


def test_a_near_tie_between_the_two_ways_round_is_a_warning(tmp_path):
    """Squares on a chequerboard look alike either way round: the summary keeps one and warns
    that the choice was a near tie; discs on a plain background do not."""
    from dataclasses import replace as replaced
    from paddleseg_hru2net.analysis.workflow import analyze_segmentation, segment_image
    model = replaced(THRESHOLD_MODEL, feed=replaced(THRESHOLD_MODEL.feed, polarity_from="shape"))
    chequer = np.kron((np.indices((8, 8)).sum(axis=0) % 2), np.ones((32, 32), np.int64))
    chequer = np.where(chequer == 1, 200, 40).astype(np.uint8)
    for grey, tie in ((chequer, True), (_discs(24), False)):
        Image.fromarray(grey).save(tmp_path / "image.png")
        image = load_sem_image(str(tmp_path / "image.png"), data_bar_rows=0)
        result = analyze_segmentation(image, segment_image(image, model, False))
        assert any("near tie" in w and "--particles" in w for w in result.warnings) == tie


@pytest.mark.parametrize("decides_by", ["shape", "histogram"])
def test_the_users_word_on_the_contrast_overrides_the_models_decision(tmp_path, decides_by):
    """Dark discs said to be bright are segmented as recorded (their bright gaps become the
    particles), said to be dark inverted; the model runs one way round only, and the summary
    says the contrast was given. A word that is neither is refused."""
    from dataclasses import replace as replaced
    from paddleseg_hru2net.analysis.workflow import segment_image
    from paddleseg_hru2net.inference import particle_probability_of
    dark = 255 - _discs(24)
    Image.fromarray(dark).save(tmp_path / "dark.png")
    calls = []

    def counted(batch):
        calls.append(len(batch))
        return threshold_runner(batch)
    model = replaced(THRESHOLD_MODEL, run=counted, feed=replaced(THRESHOLD_MODEL.feed, polarity_from=decides_by))
    for look, contrast, particles in (("dark", "inverted for the model (dark particles, as given)", dark < 100),
                                      ("bright", "as recorded (bright particles, as given)", dark > 100)):
        calls.clear()
        image = load_sem_image(str(tmp_path / "dark.png"), data_bar_rows=0, particles_look=look)
        segmentation = segment_image(image, model, False)
        assert segmentation.contrast == contrast
        assert np.array_equal(particle_probability_of(segmentation.probabilities) > 0.5, particles)
        assert sum(calls) == 25  # one way round: 5 x 5 windows of 64 px, not twice that
    with pytest.raises(ValueError, match="particles_look"):
        load_sem_image(str(tmp_path / "dark.png"), particles_look="grey")


def test_particles_option_reaches_the_summary_and_refuses_other_words(tmp_path):
    from paddleseg_hru2net.analysis.workflow import segment_image
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(255 - _discs(24)).save(folder / "dark.png")
    out = tmp_path / "out"
    prepare_output_folder(str(out), str(folder))
    analyze_folder(str(folder), str(out), lambda image: segment_image(image, THRESHOLD_MODEL, False),
                   data_bar_rows=0, progress=False, particles_look="dark")
    with open(out / "summary.csv") as handle:
        row = next(csv.DictReader(handle))
    assert row["contrast"] == "inverted for the model (dark particles, as given)" and int(row["particles"]) == 16
    with open(out / "run.json") as handle:
        assert json.load(handle)["particles_look"] == "dark"
    from conftest import run_tool
    result = run_tool("-m", "paddleseg_hru2net.cli.analyze", "analyze", str(folder), "--out", str(tmp_path / "o2"),
                      "--particles", "grey", check=False)
    assert result.returncode == 2 and "--particles" in result.stderr


def _refining_model(**feed_settings):
    from dataclasses import replace as replaced
    settings = {"particle_diameter_px": 24.0, "size_from": "grey_values_refined", **feed_settings}
    return replaced(THRESHOLD_MODEL, feed=replaced(THRESHOLD_MODEL.feed, **settings))


def test_a_grey_value_scale_is_refined_by_the_models_own_measurement(monkeypatch):
    """Separate 12 px discs, dark on bright, the grey-value estimate made three times too large
    (36 px): shrunk by 2/3, the discs measure 8 px there, so the model, having chosen the way
    round by shape, segments the inverted image again at twice the native scale, where they
    measure its 24 px; the scale says so. A model that records plain ``grey_values`` stays at
    the estimate."""
    from paddleseg_hru2net.analysis import scale
    from paddleseg_hru2net.analysis.workflow import SEMImage, segment_image
    from paddleseg_hru2net.microscopy.particle_diameters import median_equivalent_diameter
    from scipy import ndimage
    monkeypatch.setattr(scale, "diameter_from_autocorrelation", lambda grey: 36.0)
    dark = 255 - _discs(12, count_per_side=8, size=128)  # the bright gaps: one network, concave
    image = SEMImage("dark.png", dark, 0, None, "none (pixels)")
    segmentation = segment_image(image, _refining_model(polarity_from="shape"))
    assert segmentation.contrast.startswith("inverted")
    assert 1.8 < segmentation.scale.factor < 2.2
    assert "refined by the model's own measurement" in segmentation.scale.describe()
    regions = ndimage.label(segmentation.at_segmentation_scale[1] > 0.5)[0]
    assert abs(median_equivalent_diameter(regions, 9) - 24.0) < 3.0
    plain = segment_image(image, _refining_model(polarity_from="shape", size_from="grey_values"))
    assert plain.scale.factor == round(24.0 / 36.0, 4)


def test_a_refined_scale_whose_segmentation_is_less_plausible_is_not_taken(monkeypatch):
    """Where the particles at the refined scale (x1.9) are markedly less convex than at the first
    (fragments of large particles, read as small ones), that segmentation is not taken and the
    scale says why; climbing from the first scale (x0.667) goes no further than the last scale
    still as plausible (the fake solidity drops past 256 px: x1, the 12 px discs measuring half
    the model's size there); a measurement that asks for about the same scale costs no second
    pass."""
    from paddleseg_hru2net.analysis import contrast, scale
    from paddleseg_hru2net.analysis.workflow import REFINED_SOLIDITY_LOSS, SEMImage, segment_image
    monkeypatch.setattr(scale, "diameter_from_autocorrelation", lambda grey: 36.0)
    less_convex_when_enlarged = lambda probabilities: 0.9 - 2 * REFINED_SOLIDITY_LOSS * (probabilities.shape[-1] > 256)
    monkeypatch.setattr(contrast, "particle_solidity", less_convex_when_enlarged)
    image = SEMImage("discs.png", _discs(12), 0, None, "none (pixels)")
    segmentation = segment_image(image, _refining_model())
    assert segmentation.scale.factor == 1.0 and image.grey.shape[-1] <= 256
    assert "not refined: the model's segmentation at x1.9" in segmentation.scale.describe()
    assert "climbed" in segmentation.scale.describe()
    factors = []
    probabilities_at = scale.probabilities_at
    monkeypatch.setattr(scale, "probabilities_at", lambda s, g, f: factors.append(f) or probabilities_at(s, g, f))
    monkeypatch.setattr(scale, "diameter_from_autocorrelation", lambda grey: 13.0)
    kept = segment_image(image, _refining_model())
    assert len(factors) == 1 and "refined" not in kept.scale.describe()


def test_a_refined_scale_is_refined_again_where_its_particles_still_ask_for_another(monkeypatch):
    """A model that merges particles smaller than its own (a blurred image of small touching
    ones) measures them too large at the native scale: 19.5 px for its 24 asks for only x1.23,
    and there the particles, better split, measure 20 px: they ask for x1.48, where they measure
    its size. Both steps are taken, and the scale says so twice (the fake measurement is told
    apart by the segmentation's width: 200 px native, 246 at x1.23, 295 at x1.48); the climb
    above it stops at once (418 px, x2.09: 34 px, past 1.3 times the model's size)."""
    from paddleseg_hru2net.analysis import scale, workflow
    from paddleseg_hru2net.analysis.workflow import SEMImage, segment_image
    monkeypatch.setattr(scale, "diameter_from_autocorrelation", lambda grey: 24.0)
    measured_at_width = {200: 19.5, 246: 20.0, 295: 23.5, 418: 34.0}
    monkeypatch.setattr(workflow, "_median_diameter",
                        lambda probabilities, splitting: measured_at_width[probabilities.shape[-1]])
    image = SEMImage("discs.png", _discs(20, count_per_side=5, size=200), 0, None, "none (pixels)")
    segmentation = segment_image(image, _refining_model())
    assert segmentation.scale.factor == round(round(24.0 / 19.5, 4) * 24.0 / 20.0, 4)
    assert segmentation.scale.describe().count("refined by the model's own measurement") == 2


def test_a_refined_scale_climbs_while_its_particles_measure_no_more_than_the_models(monkeypatch):
    """A model that merges touching particles measures its merged ones near its own size, so a
    grey-value estimate (48 px, twice the model's 24: an agglomerate read as a particle) measures
    23 px at x0.5 and asks for no refinement. Enlarged step by step (x0.71, then x1), the
    particles measure 26 and 28 px (at most 1.3 x 24 = 31.2) and are taken; at x1.41 they measure
    33 px and the climb stops: the image is segmented at x1, the scale says it climbed. Nine
    particles (fewer than ten) are no ground to climb from, and a model that records plain
    ``grey_values`` stays at the estimate. A step the warnings would distrust (low confidence,
    particles over most of it) ends the climb below it; a distrusted start has none."""
    from dataclasses import replace as replaced
    from paddleseg_hru2net.analysis import scale, workflow
    from paddleseg_hru2net.analysis.workflow import SEMImage, segment_image
    from paddleseg_hru2net.microscopy.resampling import resampled_size
    monkeypatch.setattr(scale, "diameter_from_autocorrelation", lambda grey: 48.0)
    width_at = lambda factor: resampled_size((200, 200), factor)[0]
    measured_at_width = {width_at(0.5): 23.0, width_at(0.7071): 26.0, 200: 28.0, width_at(1.4142): 33.0}
    monkeypatch.setattr(workflow, "_median_diameter",
                        lambda probabilities, splitting: measured_at_width[probabilities.shape[-1]])
    model = _refining_model(flips=True)
    image = SEMImage("discs.png", _discs(20, count_per_side=5, size=200), 0, None, "none (pixels)")
    segmentation = segment_image(image, model)
    assert segmentation.scale.factor == 1.0
    assert "climbed while its particles measured at most 1.3 times" in segmentation.scale.describe()
    assert segmentation.probabilities.shape[-2:] == (200, 200)
    few = SEMImage("nine.png", _discs(20, count_per_side=3, size=200), 0, None, "none (pixels)")
    assert segment_image(few, model).scale.factor == 0.5
    plain = replaced(model, feed=replaced(model.feed, size_from="grey_values"))
    assert segment_image(image, plain).scale.factor == 0.5
    distrusted_from_width = lambda width: (lambda particle: "doubt" if particle.shape[-1] >= width else None)
    monkeypatch.setattr(workflow, "first_pass_doubt", distrusted_from_width(200))
    assert segment_image(image, model).scale.factor == 0.7071
    monkeypatch.setattr(workflow, "first_pass_doubt", distrusted_from_width(width_at(0.5)))
    assert segment_image(image, model).scale.factor == 0.5


def test_a_climbing_step_enlarges_by_the_square_root_of_two_within_the_limits():
    """Each step multiplies the factor by 1.414; a factor near 1 becomes 1 (the image as it is);
    no step passes the largest factor or the pixels an enlarged image may have."""
    from paddleseg_hru2net.analysis.scale import (MAX_FACTOR, MAX_SCALED_PIXELS, ScaleChoice,
                                                  climbing_factor)
    step = climbing_factor(ScaleChoice(0.25, "estimated from the grey values"), (400, 400))
    assert step.factor == round(0.25 * 2 ** 0.5, 4) and step.split_at_model_scale
    assert climbing_factor(ScaleChoice(0.7, "x"), (400, 400)).factor == 1.0
    assert climbing_factor(ScaleChoice(MAX_FACTOR / 1.2, "x"), (100, 100)) is None
    side = int((MAX_SCALED_PIXELS / 2.0) ** 0.5)
    assert climbing_factor(ScaleChoice(1.0, "x"), (side, side)) is not None
    assert climbing_factor(ScaleChoice(1.0, "x"), (side + 10, side + 10)) is None


def test_a_refinement_that_would_leave_too_little_of_the_image_is_not_asked_for():
    """Particles measured 4.3 times the model's size ask for shrinking by 1/4.3: a 400 px frame
    keeps 93 px (four of the model's particles across), a 160 px one would keep 37 (fewer than
    two) and is not refined; a measurement close to the model's size asks for nothing."""
    from paddleseg_hru2net.analysis.scale import MIN_PARTICLES_ACROSS, ScaleChoice, refined_factor
    first = ScaleChoice(1.0, "estimated from the grey values", refinable=True)
    refined = refined_factor(first, 100.0, 23.3, (400, 400))
    assert refined is not None and refined.factor == round(23.3 / 100.0, 4)
    assert 160 * refined.factor < MIN_PARTICLES_ACROSS * 23.3
    assert refined_factor(first, 100.0, 23.3, (160, 400)) is None
    assert refined_factor(first, 25.0, 23.3, (400, 400)) is None


def test_every_way_a_model_may_decide_polarity_has_its_measure():
    """``Feed.polarity_from`` names (checked where a record is read, in the inference layer) and
    the measures the analysis scores both ways round by are one list: the histogram check, and a
    measure for every other name."""
    from paddleseg_hru2net.analysis.contrast import POLARITY_MEASURES
    from paddleseg_hru2net.inference.feed import POLARITY_SOURCES
    assert set(POLARITY_SOURCES) == {"histogram"} | set(POLARITY_MEASURES)


def test_a_model_that_decides_polarity_by_confidence_keeps_the_surer_way_round():
    """Bright discs on a dark frame and the inverse: a model recording ``polarity_from:
    confidence`` is surer of the bright-on-dark version either way, inverts the dark-on-bright
    image for itself, finds the same particles in both, and says why."""
    from dataclasses import replace as replaced
    from paddleseg_hru2net.analysis.workflow import SEMImage, segment_image
    from paddleseg_hru2net.inference import particle_probability_of
    feed = replaced(THRESHOLD_MODEL.feed, polarity_from="confidence")
    model = Segmenter(unsure_of_bright_runner, feed, "test", ModelSource(name="unsure"))
    bright = _discs(24)
    masks = {}
    for name, grey in (("bright", bright), ("dark", 255 - bright)):
        segmentation = segment_image(SEMImage(f"{name}.png", grey, 0, None, "none (pixels)"), model, False)
        assert segmentation.contrast.startswith("inverted" if name == "dark" else "as recorded")
        assert "the model is surer of it: mean confidence" in segmentation.contrast \
            or "it is surer of it: mean confidence" in segmentation.contrast
        masks[name] = particle_probability_of(segmentation.probabilities) > 0.5
    assert np.array_equal(masks["bright"], bright > 100) and np.array_equal(masks["dark"], masks["bright"])
    from paddleseg_hru2net.analysis.workflow import analyze_segmentation
    covered = SEMImage("covered.png", np.full((96, 96), 200, np.uint8), 0, None, "none (pixels)")
    for rule, hinted in (("histogram", True), ("confidence", False)):  # tried both ways: no hint
        sure_model = replaced(THRESHOLD_MODEL, feed=replaced(THRESHOLD_MODEL.feed, polarity_from=rule))
        warnings = analyze_segmentation(covered, segment_image(covered, sure_model, False)).warnings
        assert any("particles cover 100 %" in w for w in warnings)
        assert any("inverted contrast?" in w for w in warnings) == hinted
    with pytest.raises(ValueError, match="polarity_from"):
        replaced(feed, polarity_from="guess")


def _random_discs(diameter: int, size: int = 384, seed: int = 0) -> np.ndarray:
    """Bright discs over about 30 % of a noisy dark frame (overlaps allowed)."""
    rng = np.random.default_rng(seed)
    grey = np.full((size, size), 50.0)
    yy, xx = np.mgrid[:size, :size]
    for _ in range(int(0.3 * size * size / (np.pi * diameter ** 2 / 4))):
        cy, cx = rng.uniform(0, size, 2)
        grey[(yy - cy) ** 2 + (xx - cx) ** 2 <= (diameter / 2) ** 2] = 200
    return np.clip(grey + rng.normal(0, 10, grey.shape), 0, 255).astype(np.uint8)


def test_particle_size_from_grey_values_follows_the_disc_size():
    """The autocorrelation length of random discs is about 0.5-0.7 of their diameter, and the
    fitted estimate grows with it (a flat image has none of either)."""
    from paddleseg_hru2net.analysis.particle_size import (autocorrelation_length,
                                                          diameter_from_autocorrelation, fit_power_law)
    lengths = {d: autocorrelation_length(_random_discs(d)) for d in (12, 48, 96)}
    assert all(0.45 * d <= lengths[d] <= 0.8 * d for d in lengths), lengths
    estimates = [diameter_from_autocorrelation(_random_discs(d)) for d in (12, 48, 96)]
    assert estimates[0] < estimates[1] < estimates[2] and estimates[2] > 3 * estimates[0]
    assert autocorrelation_length(np.full((64, 64), 90, np.uint8)) == 32.0
    intercept, slope = fit_power_law([2.0, 4.0, 8.0], [6.0, 12.0, 24.0])
    assert abs(slope - 1.0) < 1e-9 and abs(np.exp(intercept) - 3.0) < 1e-9


def test_a_smooth_background_does_not_inflate_the_particle_size_estimate():
    """Uneven illumination (a tilt of 80 grey levels and a vignette) over small discs of moderate
    contrast (grey standard deviation 33): the estimate stays within 15 % of the even image's; the
    autocorrelation of the raw image read the background as particles 4x larger."""
    from paddleseg_hru2net.analysis.particle_size import (diameter_from_autocorrelation,
                                                          remove_smooth_background)
    from paddleseg_hru2net.transforms import background_field
    grey = (100 + 0.5 * (_random_discs(12).astype(np.float32) - 100)).astype(np.uint8)
    uneven = np.clip(grey + background_field(*grey.shape, tilt_angle=0.5, tilt=80, bowl=-60,
                                             bowl_centre=(0.3, 0.6)), 0, 255).astype(np.uint8)
    even_estimate = diameter_from_autocorrelation(grey)
    assert diameter_from_autocorrelation(uneven) == pytest.approx(even_estimate, rel=0.15)
    flattened = remove_smooth_background(uneven)
    assert abs(flattened[:, :40].mean() - flattened[:, -40:].mean()) < 5  # 60+ before
    assert abs(uneven[:, :40].mean() - uneven[:, -40:].mean()) > 50


def test_auto_choice_keeps_the_specialist_where_it_is_sure_and_falls_back_elsewhere():
    """The specialist (a threshold at grey 102) is sure of bright discs on a dark substrate and
    keeps them; faint discs (grey 106 on 95) leave it unsure, so the generalist (a steeper
    threshold) segments them, and the summary says which model ran and why."""
    from paddleseg_hru2net.analysis.model_choice import AnalysisModel, segment_with_fallback
    from paddleseg_hru2net.analysis.workflow import (ModelSplittings, SEMImage, Splitting,
                                                     analyze_segmentation, summary_row)

    def steep_runner(batch: np.ndarray) -> np.ndarray:
        return threshold_runner(batch) * 20.0

    specialist = AnalysisModel(THRESHOLD_MODEL, ModelSplittings(), "specialist")
    generalist = AnalysisModel(Segmenter(steep_runner, THRESHOLD_MODEL.feed, "test", ModelSource(name="steep")),
                               ModelSplittings(Splitting(core_threshold=0.9)), "generalist")
    clear = SEMImage("clear.png", _discs(12), 0, None, "none (pixels)")
    faint_grey = np.where(_discs(12) > 100, 106, 95).astype(np.uint8)
    faint = SEMImage("faint.png", faint_grey, 0, None, "none (pixels)")

    kept = segment_with_fallback(clear, specialist, generalist)
    assert kept.model == "specialist" and kept.chosen_because == ""
    assert analyze_segmentation(clear, kept).warnings == []
    assert analyze_segmentation(clear, kept) is kept.analysed  # analysed once, not twice

    fallen_back = segment_with_fallback(faint, specialist, generalist)
    assert fallen_back.model == "generalist" and fallen_back.own_splitting() == Splitting(core_threshold=0.9)
    assert "specialist was out of its depth: low confidence" in fallen_back.chosen_because
    result = analyze_segmentation(faint, fallen_back)
    assert len(result.particles) == 16 and result.warnings == []
    assert summary_row(result)["model"].startswith("generalist (specialist was out of its depth")


def test_auto_choice_sends_images_without_a_pixel_size_past_a_specialist_that_needs_one():
    """A specialist that records its pixel size keeps a clear image of known pixel size, but
    never sees one without, nor one whose pixel size is a drawn scale bar's: the generalist
    segments them, and the reason says so."""
    from dataclasses import replace as replaced
    from paddleseg_hru2net.analysis.model_choice import AnalysisModel, segment_with_fallback
    from paddleseg_hru2net.analysis.workflow import ModelSplittings, SEMImage
    calls = []

    def counting_runner(batch: np.ndarray) -> np.ndarray:
        calls.append(batch.shape)
        return threshold_runner(batch)

    feed = replaced(THRESHOLD_MODEL.feed, pixel_size_nm=5.0)
    specialist = AnalysisModel(Segmenter(counting_runner, feed, "test", ModelSource(name="s")),
                               ModelSplittings(), "specialist")
    generalist = AnalysisModel(THRESHOLD_MODEL, ModelSplittings(), "generalist")
    with_size = SEMImage("sized.png", _discs(24), 0, 5.0, "option")
    assert segment_with_fallback(with_size, specialist, generalist).model == "specialist" and calls
    calls.clear()
    without = segment_with_fallback(replaced(with_size, pixel_size_nm=None), specialist, generalist)
    assert without.model == "generalist" and not calls
    assert without.chosen_because == "no pixel size; specialist knows 5 nm/px images only"
    drawn = segment_with_fallback(replaced(with_size, pixel_size_is_drawn=True),
                                  specialist, generalist)  # a figure's scale bar: not sent to the specialist
    assert drawn.model == "generalist" and not calls and "drawn scale bar" in drawn.chosen_because


def test_auto_choice_falls_back_where_the_generalist_disagrees_with_a_sure_specialist():
    """A specialist sure of itself and without warnings still gives way where the generalist,
    shown the same image at the same scale, paints other pixels as particle: here one that
    finds the discs half as wide (IoU 0.25 of the masks). One that agrees keeps it."""
    from paddleseg_hru2net.analysis.model_choice import (MIN_AGREEMENT, AnalysisModel, compare_in_busiest_window,
                                                         segment_with_fallback)
    from paddleseg_hru2net.analysis.workflow import ModelSplittings, SEMImage, analyze_segmentation
    grey = _discs(24)
    yy, xx = np.mgrid[:256, :256]
    inner = np.zeros((256, 256), bool)
    for cy in range(32, 256, 64):
        for cx in range(32, 256, 64):
            inner |= (yy - cy) ** 2 + (xx - cx) ** 2 <= 6 ** 2

    def narrow_runner(batch: np.ndarray) -> np.ndarray:  # sees only the discs' inner half
        return threshold_runner(np.where(inner[None, None, :batch.shape[2], :batch.shape[3]], batch, -2.0))

    whole_frame = THRESHOLD_MODEL.feed.with_window((256, 256))
    specialist = AnalysisModel(Segmenter(threshold_runner, whole_frame, "test", ModelSource(name="s")),
                               ModelSplittings(), "specialist")
    narrow = AnalysisModel(Segmenter(narrow_runner, whole_frame, "test", ModelSource(name="n")),
                           ModelSplittings(), "narrow")
    image = SEMImage("discs.png", grey, 0, None, "none (pixels)")
    own = specialist.segment(image, False)
    labels = analyze_segmentation(image, own).labels

    def agreement(other):
        return compare_in_busiest_window(own, labels, other.segmenter).particle_iou

    assert agreement(specialist) == 1.0
    assert abs(agreement(narrow) - (inner.sum() / (grey > 100).sum())) < 0.02
    assert agreement(narrow) < MIN_AGREEMENT
    fallen_back = segment_with_fallback(image, specialist, narrow, resample_to_model=False)
    assert fallen_back.model == "narrow"
    assert fallen_back.chosen_because.startswith("specialist and narrow disagree on the particles (IoU 0.2")
    assert segment_with_fallback(image, specialist, specialist, resample_to_model=False).model == "specialist"


def test_auto_choice_falls_back_where_the_specialist_splits_what_the_generalist_sees_whole():
    """Both models paint the same discs as particle, but the specialist draws a contact through
    each (another material's particles cut into pieces): the generalist, which sees particle
    interior there, takes the image. A generalist that sees the same contacts leaves it, and so
    does one shown the image enlarged (blurred: its contacts are not judged)."""
    from paddleseg_hru2net.analysis.model_choice import (MAX_INTERIOR_ON_CONTACTS, AnalysisModel,
                                                         compare_in_busiest_window, segment_with_fallback)
    from paddleseg_hru2net.analysis.workflow import ModelSplittings, SEMImage, analyze_segmentation
    grey = _discs(24)
    cut = np.zeros((256, 256), bool)
    for centre in range(32, 256, 64):
        cut[:, centre - 1:centre + 1] = True  # a 2-px line through each column of discs

    def runner(cuts: bool):
        def run(batch: np.ndarray) -> np.ndarray:  # background, interior, contact
            x = batch[:, :1] * 5.0
            line = (cut[None, None, :batch.shape[2], :batch.shape[3]] & (x > 0)) if cuts else np.zeros_like(x, bool)
            return np.concatenate([-x, np.where(line, -x, x), np.where(line, 2 * x, -20.0)], axis=1)
        return run

    frame = replaced_feed(window=(256, 256), pixel_size_nm=5.0, num_classes=3)
    model = {name: AnalysisModel(Segmenter(runner(cuts), frame, "test", ModelSource(name=name)), ModelSplittings(), name)
             for name, cuts in (("specialist", True), ("whole", False), ("cutting", True))}
    image = SEMImage("discs.png", grey, 0, 5.0, "option")
    own = model["specialist"].segment(image)
    result = analyze_segmentation(image, own)
    assert len(result.particles) == 32  # each disc in two
    seen_whole = compare_in_busiest_window(own, result.labels, model["whole"].segmenter)
    assert seen_whole.particle_iou > 0.99 and seen_whole.interior_on_contacts > 0.9
    assert compare_in_busiest_window(own, result.labels, model["cutting"].segmenter).interior_on_contacts < 0.1
    assert MAX_INTERIOR_ON_CONTACTS < 0.9
    fallen_back = segment_with_fallback(image, model["specialist"], model["whole"])
    assert fallen_back.model == "whole" and "splits particles whole sees whole" in fallen_back.chosen_because
    assert segment_with_fallback(image, model["specialist"], model["cutting"]).model == "specialist"
    coarser = SEMImage("coarser.png", _discs(12, size=128), 0, 10.0, "option")  # the same, recorded at half
    kept = segment_with_fallback(coarser, model["specialist"], model["whole"])  # the scale: enlarged, not judged
    assert kept.model == "specialist" and kept.scale.factor == 2.0 and len(kept.analysed.particles) == 32


def replaced_feed(**changes) -> Feed:
    from dataclasses import replace as replaced
    return replaced(THRESHOLD_MODEL.feed.with_window(changes.pop("window")), **changes)


def test_busiest_window_holds_the_most_mask_pixels():
    from paddleseg_hru2net.analysis.model_choice import busiest_window
    mask = np.zeros((300, 500), bool)
    mask[250:290, 420:480] = True
    rows, cols = busiest_window(mask, (128, 128))
    assert mask[rows, cols].sum() == mask.sum() and (rows.stop - rows.start, cols.stop - cols.start) == (128, 128)
    assert busiest_window(mask, (512, 512)) == (slice(0, 300), slice(0, 500))  # cut to the image


def test_a_model_splits_images_enlarged_for_it_with_its_settings_for_them(tmp_path):
    """A model keeping settings for enlarged images (``splitting_enlarged``) uses them where an
    image of coarser pixel size was enlarged for it, and its own settings elsewhere; splitting
    options on the command line apply to every image. The shipped specialist keeps such
    settings (chosen on TiO2 val resampled to 0.5x and 0.75x); the generalist does not."""
    from argparse import Namespace
    from dataclasses import replace as replaced
    from paddleseg_hru2net.analysis.model_choice import AnalysisModel
    from paddleseg_hru2net.analysis.workflow import (ModelSplittings, SEMImage, Splitting,
                                                     analyze_segmentation, stored_splittings)
    from paddleseg_hru2net.cli.analyze import _splittings
    from paddleseg_hru2net.inference import shipped_source
    feed = replaced(THRESHOLD_MODEL.feed, pixel_size_nm=5.0)
    drop_everything = Splitting(min_area=10 ** 6)
    model = AnalysisModel(Segmenter(threshold_runner, feed, "test", ModelSource(name="m")),
                          ModelSplittings(Splitting(), drop_everything), "m")
    native = SEMImage("native.png", _discs(24), 0, 5.0, "option")
    coarse = SEMImage("coarse.png", _discs(12), 0, 10.0, "option")
    at_native, enlarged = model.segment(native), model.segment(coarse)
    assert at_native.scale.factor == 1.0 and enlarged.scale.factor == 2.0
    assert len(analyze_segmentation(native, at_native).particles) == 16
    assert analyze_segmentation(coarse, enlarged).particles == []  # its settings for enlarged images
    assert len(analyze_segmentation(coarse, replaced(enlarged, splittings=ModelSplittings())).particles) == 16
    assert model.splittings.as_record()["splitting_enlarged"] == drop_everything.as_dict()

    specialist, generalist = shipped_source("hru2netp_contact_tio2"), shipped_source("hru2netp_contact_generalist")
    stored = stored_splittings(specialist)
    assert stored.enlarged is not None and stored.enlarged != stored.native
    assert ModelSplittings.from_record(stored.as_record()) == stored
    assert stored_splittings(generalist).enlarged is None
    no_options = Namespace(threshold=None, core_threshold=None, min_depth=None, min_area=None, min_core_area=None)
    assert _splittings(no_options, specialist) == stored
    with_an_option = Namespace(**{**vars(no_options), "core_threshold": 0.6})
    assert _splittings(with_an_option, specialist) == ModelSplittings(replaced(stored.native, core_threshold=0.6))
