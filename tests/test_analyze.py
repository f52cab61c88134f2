"""Issue 7 (in progress): the analysis workflow on whole images of any size and kind."""
from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

from paddleseg_hru2net.analysis.workflow import analyze_folder, load_sem_image, segment
from paddleseg_hru2net.datasets.synthetic import SyntheticSEMConfig, generate_sem_image
from paddleseg_hru2net.inference import WindowFeed


def threshold_runner(batch: np.ndarray) -> np.ndarray:
    """Stands in for a model: particles are brighter than the substrate."""
    x = batch[:, :1]
    return np.concatenate([-x, x], axis=1) * 5.0


def threshold_segmenter(image):
    feed = WindowFeed(window=[64, 64], channels=1, mean=[0.4], std=[0.2])
    assert feed.stride == [48, 48]
    return segment(image, threshold_runner, feed)


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
    image = load_sem_image(str(tmp_path / "a.png"))
    predicted = threshold_segmenter(image)
    assert predicted.shape == size
    agreement = (predicted == mask).mean()
    assert agreement > 0.85


def test_16_bit_and_rgb_give_the_same_mask_as_8_bit(tmp_path):
    write_sem(tmp_path / "grey.png", 120, 160, seed=4)
    write_sem(tmp_path / "deep.tif", 120, 160, seed=4, bits=16)
    write_sem(tmp_path / "colour.png", 120, 160, seed=4, rgb=True)
    masks = [threshold_segmenter(load_sem_image(str(tmp_path / n)))
             for n in ("grey.png", "deep.tif", "colour.png")]
    assert load_sem_image(str(tmp_path / "deep.tif")).grey.dtype == np.uint16
    np.testing.assert_array_equal(masks[0], masks[1])
    np.testing.assert_array_equal(masks[0], masks[2])


def test_pixel_size_from_metadata_option_or_pixels(tio2_release, tmp_path):
    tif = next((tio2_release / "Electron Microscopy Images" / "SEM").glob("*.tif"))
    with_metadata = load_sem_image(str(tif), pixel_size_nm=1.0)
    assert with_metadata.pixel_size_source == "metadata"
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
    outcome = analyze_folder(str(folder), str(tmp_path / "out"), threshold_segmenter,
                             pixel_size_nm=7.0, progress=False)
    assert [f["image"].endswith("broken.tif") for f in outcome["failures"]] == [True]
    assert len(outcome["results"]) == 2
    out = tmp_path / "out"
    for name in ("one_mask.png", "one_overlay.png", "one_particles.csv", "summary.csv",
                 "size_histogram.png", "failures.csv"):
        assert (out / name).is_file(), name
    with open(out / "summary.csv") as handle:
        rows = {r["image"]: r for r in csv.DictReader(handle)}
    assert rows["one.png"]["data_bar_rows"] == "16" and rows["one.png"]["unit"] == "nm"
    assert int(rows["two.png"]["particles"]) > 3
    assert np.asarray(Image.open(out / "one_mask.png")).shape == (112, 128)


def test_analyze_command_with_every_backend(synthetic_dataset, tmp_path):
    """Train 2 steps, export (with ONNX), analyse one image with each backend: same masks."""
    from conftest import REPO, run_tool
    from test_configs import tiny_opts
    config = "configs/cpu/hru2netp_tio2_160x160_550.yml"
    run_tool("tools/train.py", "--config", config, "--iters", "2", "--batch_size", "2",
             "--save_interval", "2", "--save_dir", str(tmp_path / "run"),
             *tiny_opts(REPO / config, synthetic_dataset))
    weights = str(tmp_path / "run" / "iter_2" / "model.pdparams")
    run_tool("tools/export.py", "--config", config, "--model_path", weights, "--output_op", "none",
             "--onnx", "--save_dir", str(tmp_path / "exported"))
    image = tmp_path / "images"
    image.mkdir()
    write_sem(image / "sem.png", 100, 140, seed=9)
    masks = {}
    for backend in ("paddle", "paddle-inference", "onnxruntime"):
        out = tmp_path / backend
        model = (["--config", config, "--model_path", weights] if backend == "paddle"
                 else ["--deploy_dir", str(tmp_path / "exported")])
        result = run_tool("-m", "paddleseg_hru2net.cli.analyze", "analyze", str(image), "--out",
                          str(out), "--backend", backend, *model)
        assert "sem.png:" in result.stdout
        masks[backend] = np.asarray(Image.open(out / "sem_mask.png"))
    assert masks["paddle"].shape == (100, 140)
    for backend in ("paddle-inference", "onnxruntime"):
        assert (masks[backend] == masks["paddle"]).mean() > 0.999


def test_analyze_refuses_bad_splitting_settings_with_a_reason(tmp_path):
    from conftest import run_tool
    write_sem(tmp_path / "sem.png", 64, 64)
    result = run_tool("-m", "paddleseg_hru2net.cli.analyze", "analyze", str(tmp_path / "sem.png"),
                      "--out", str(tmp_path / "out"), "--threshold", "0.9", "--core-threshold", "0.6",
                      check=False)
    assert result.returncode == 2
    assert "core threshold" in result.stderr and "Traceback" not in result.stderr


def test_validation_tool_will_not_tune_on_the_test_images(tmp_path):
    from conftest import run_tool
    result = run_tool("tools/validate_analysis.py", "--release", str(tmp_path), "--manifest",
                      str(tmp_path / "m.json"), "--split", "test", "--tune", check=False)
    assert result.returncode == 2 and "--split val" in result.stderr
