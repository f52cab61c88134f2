"""Bad input and interrupted runs: one-line errors (exit 2), failures recorded (exit 1), nothing
half-written or stale, the good images of a mixed batch analysed in full."""
from __future__ import annotations

import csv
import errno
import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from conftest import run_tool
from test_analyze import threshold_mask, threshold_probabilities, write_sem
from paddleseg_hru2net.analysis.workflow import analyze_folder, load_sem_image, prepare_output_folder
from paddleseg_hru2net.files import ImageReadError
from paddleseg_hru2net.microscopy.conditioning import NOISY_SIGMA, noise_sigma, stretch_low_contrast
from paddleseg_hru2net.microscopy.reading import to_uint8

QUICKSTART = "configs/quickstart/bisenetv2_synthetic_128x128_200.yml"
ANALYZE = ("-m", "paddleseg_hru2net.cli.analyze", "analyze")


def assert_clean_failure(result, *fragments: str, code: int = 2) -> None:
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


# ------------------------------------------------------------------ pixel values and layouts
def synthetic_grey(seed=4, size=(120, 160)):
    """A synthetic SEM image smoothed below the noise that the analysis takes off (the
    generator's is about 14 grey levels): what these tests read is its grey values as they are."""
    import cv2
    from paddleseg_hru2net.datasets.synthetic import SyntheticSEMConfig, generate_sem_image
    return cv2.GaussianBlur(generate_sem_image(seed, SyntheticSEMConfig(height=size[0], width=size[1]))[0],
                            (0, 0), 1.0)


def test_12_bit_data_in_a_16_bit_tiff_is_scaled_by_its_real_range(tmp_path):
    grey = synthetic_grey()
    twelve = np.round(grey.astype(np.float64) * 4095 / 255).astype(np.uint16)
    tifffile.imwrite(tmp_path / "twelve.tif", twelve)
    Image.fromarray(grey).save(tmp_path / "eight.png")
    image = load_sem_image(str(tmp_path / "twelve.tif"))
    assert image.notes == ["12-bit data in a 16-bit file: scaled by 4095"]
    assert np.abs(image.grey.astype(int) - grey).max() <= 1
    mask = threshold_mask(image)
    assert mask.mean() > 0.03  # particles found, not 0 as when scaled by 65535
    assert (mask == threshold_mask(load_sem_image(str(tmp_path / "eight.png")))).mean() > 0.99


def test_signed_16_bit_and_float_tiffs_use_their_range(tmp_path):
    grey = synthetic_grey()
    tifffile.imwrite(tmp_path / "signed.tif", grey.astype(np.int16) * 100 - 12000)
    tifffile.imwrite(tmp_path / "float.tif", grey.astype(np.float32) / 255.0)
    signed = load_sem_image(str(tmp_path / "signed.tif"))
    assert signed.notes[0].startswith(f"signed data: shifted by {12000 - 100 * int(grey.min())}")
    assert np.corrcoef(signed.grey.ravel(), grey.ravel())[0, 1] > 0.999
    floats = load_sem_image(str(tmp_path / "float.tif"))
    assert floats.notes == ["floating-point 0-1 data: scaled by 255"]
    assert np.abs(floats.grey.astype(int) - grey).max() <= 1


def test_colour_and_signed_16_bit_tiffs_keep_their_sample_type(tmp_path):
    grey = synthetic_grey()
    twelve = np.round(grey.astype(np.float64) * 4095 / 255).astype(np.uint16)
    tifffile.imwrite(tmp_path / "rgb.tif", np.dstack([twelve] * 3), photometric="rgb")
    colour = load_sem_image(str(tmp_path / "rgb.tif"))  # Pillow alone keeps the high bytes: 0-15
    assert colour.notes == ["12-bit data in a 16-bit file: scaled by 4095"]
    assert np.abs(colour.grey.astype(int) - grey).max() <= 1
    tifffile.imwrite(tmp_path / "signed.tif", grey.astype(np.int16) * 8 - 1000)
    signed = load_sem_image(str(tmp_path / "signed.tif"))  # not "16-bit data in a 32-bit file"
    assert signed.notes[:2] == [f"signed data: shifted by {1000 - 8 * int(grey.min())}",
                                "12-bit data in a 16-bit file: scaled by 4095"]


def test_a_few_hot_pixels_do_not_set_the_scale(tmp_path):
    grey = synthetic_grey()
    twelve = np.round(grey.astype(np.float64) * 4095 / 255).astype(np.uint16)
    spiked = twelve.copy()
    spikes = ([3, 50, 90], [7, 60, 140])
    spiked[spikes] = 65535  # X-ray spikes on a TEM camera
    tifffile.imwrite(tmp_path / "spiked.tif", spiked)
    image = load_sem_image(str(tmp_path / "spiked.tif"))  # before: scaled by 65535, grey 0-16
    assert image.notes == ["12-bit data in a 16-bit file: scaled by 4095",
                           "3 outlying pixel(s) (hot, dead or X-ray spikes) clipped"]
    difference = np.abs(image.grey.astype(int) - grey)
    difference[spikes] = 0
    assert difference.max() <= 1 and (image.grey[spikes] == 255).all()
    floats = spiked.astype(np.float32)
    floats[0, 0] = 1e9
    stretched, notes = to_uint8(floats)
    assert notes[1] == "4 outlying pixel(s) (hot, dead or X-ray spikes) clipped"
    clean_pixels = np.ones(grey.shape, bool)
    clean_pixels[spikes] = clean_pixels[0, 0] = False
    assert np.corrcoef(stretched[clean_pixels], grey[clean_pixels])[0, 1] > 0.999
    clean = np.random.default_rng(0).normal(1000, 200, (300, 300)).astype(np.float32)
    assert len(to_uint8(clean)[1]) == 1  # a Gaussian's own tails are not outliers


def test_to_uint8_keeps_8_bit_and_full_16_bit_scales():
    assert to_uint8(np.array([[0, 255]], np.uint8))[0].tolist() == [[0, 255]]
    full, notes = to_uint8(np.array([[0, 257 * 100, 65535]], np.uint16))
    assert full.tolist() == [[0, 100, 255]] and notes == []


def test_multi_page_tiff_says_only_the_first_page_was_analysed(tmp_path):
    grey = synthetic_grey()
    tifffile.imwrite(tmp_path / "stack.tif", np.stack([grey, 255 - grey, grey]), photometric="minisblack")
    image = load_sem_image(str(tmp_path / "stack.tif"))
    assert "page 1 of 3 analysed" in image.notes[-1]
    np.testing.assert_array_equal(image.grey, grey)


def test_tiny_and_blank_images_fail_with_a_reason(tmp_path):
    Image.fromarray(np.full((1, 1), 200, np.uint8)).save(tmp_path / "dot.png")
    Image.fromarray(np.zeros((200, 300), np.uint8)).save(tmp_path / "black.png")
    with pytest.raises(ImageReadError, match="too small"):
        load_sem_image(str(tmp_path / "dot.png"))
    with pytest.raises(ImageReadError, match="blank"):
        load_sem_image(str(tmp_path / "black.png"))


def test_a_damaged_tiff_is_one_line_saying_what_to_do(tmp_path, capfd):
    (tmp_path / "broken.tif").write_bytes(b"II*\x00garbage")
    with pytest.raises(ImageReadError, match="broken.tif: cannot read image: the file is damaged") as raised:
        load_sem_image(str(tmp_path / "broken.tif"))
    assert "\n" not in str(raised.value)
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""  # no warnings of Pillow or tifffile


def test_a_data_bar_taller_than_the_search_region_is_cut_whole(tmp_path):
    grey = synthetic_grey(size=(300, 200))
    bar_rows = 120  # 40 % of the image
    grey[-bar_rows:] = 0
    grey[-60:-50, 20:60] = 255  # its "text"
    Image.fromarray(grey).save(tmp_path / "tall_bar.png")
    image = load_sem_image(str(tmp_path / "tall_bar.png"))
    assert image.data_bar_rows == bar_rows and image.grey.shape == (180, 200)


# -------------------------------------------------------------------- analysis runs
def test_write_failure_mid_run_is_recorded_not_raised(tmp_path, monkeypatch):
    from paddleseg_hru2net.analysis import workflow
    folder = tmp_path / "images"
    folder.mkdir()
    write_sem(folder / "a.png", 96, 96, seed=1)
    write_sem(folder / "b.png", 96, 96, seed=2)
    out = tmp_path / "out"
    prepare_output_folder(str(out), str(folder))
    real = workflow.write_label_tiff

    def disk_full_for_b(path, labels, pixel_size_nm=None):
        if "b_labels" in str(path):
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, labels, pixel_size_nm)

    monkeypatch.setattr(workflow, "write_label_tiff", disk_full_for_b)
    outcome = analyze_folder(str(folder), str(out), threshold_probabilities, progress=False)
    assert [f["image"].endswith("b.png") for f in outcome["failures"]] == [True]
    assert "No space left on device" in outcome["failures"][0]["error"]
    assert not (out / "b_summary.json").exists()  # b is not marked done: --resume redoes it
    with open(out / "summary.csv") as handle:
        assert [r["image"] for r in csv.DictReader(handle)] == ["a.png"]


def test_mixed_units_never_share_a_statistic(tmp_path):
    from paddleseg_hru2net.analysis.workflow import plot_size_histogram
    records = [{"unit": "nm", "diameters": [100.0, 120.0]}, {"unit": "px", "diameters": [10.0]}]
    plot_size_histogram(records, str(tmp_path / "h.png"))
    assert (tmp_path / "h.png").stat().st_size > 1000


def test_analyze_checks_the_output_folder_before_loading_a_model(tmp_path):
    write_sem(tmp_path / "sem.png", 64, 64)
    (tmp_path / "taken").write_text("a file")
    result = run_tool(*ANALYZE, str(tmp_path / "sem.png"), "--out", str(tmp_path / "taken"),
                      "--backend", "paddle", check=False)
    assert_clean_failure(result, "is a file")
    assert "using the shipped" not in result.stderr  # refused before the model was loaded
    result = run_tool(*ANALYZE, str(tmp_path / "sem.png"), "--out", "/proc/hru2net-results",
                      check=False)
    assert_clean_failure(result, "cannot be written")


def test_unusable_splitting_settings_in_a_run_record_are_a_one_line_error(tmp_path):
    import json
    shipped = Path(__file__).resolve().parents[1] / "paddleseg_hru2net/weights/hru2netp_contact_tio2"
    for name in ("config.yml", "model.pdparams"):
        shutil.copy(shipped / name, tmp_path / name)
    record = json.loads((shipped / "train_meta.json").read_text())
    record["splitting"] = {"threshold": 0.9, "core_threshold": 0.5}
    (tmp_path / "train_meta.json").write_text(json.dumps(record))
    write_sem(tmp_path / "sem.png", 64, 64)
    result = run_tool(*ANALYZE, str(tmp_path / "sem.png"), "--out", str(tmp_path / "out"), "--config",
                      str(tmp_path / "config.yml"), "--model_path", str(tmp_path / "model.pdparams"), check=False)
    assert_clean_failure(result, "model.pdparams", "splitting settings in its train_meta.json", "core threshold")


def test_corrupt_exported_models_are_one_line_errors(tmp_path, model_cache):
    from paddleseg_hru2net.inference import load_segmenter
    from paddleseg_hru2net.inference.export_cache import cached_export
    from paddleseg_hru2net.inference.source import shipped_source
    good = Path(cached_export(shipped_source(), onnx=True, announce=False))
    write_sem(tmp_path / "sem.png", 64, 64)
    for damaged, backend, fragment in [("model.onnx", "onnxruntime", "ONNX Runtime cannot load"),
                                       ("model.pdiparams", "paddle-inference", "cannot load this model"),
                                       ("deploy.yaml", "onnxruntime", "not valid YAML")]:
        copy = tmp_path / f"export_{damaged}"
        shutil.copytree(good, copy)
        (copy / damaged).write_bytes(b"{{{ not a model" * 10)
        result = run_tool(*ANALYZE, str(tmp_path / "sem.png"), "--out", str(tmp_path / f"out_{damaged}"),
                          "--deploy_dir", str(copy), "--backend", backend, check=False)
        assert_clean_failure(result, fragment)
        assert load_segmenter  # the library raises the same InputError in-process


def test_corrupt_weights_and_bad_yaml_are_one_line_errors(tmp_path, synthetic_dataset):
    weights = tmp_path / "model.pdparams"
    weights.write_bytes(b"\x80\x04 broken pickle")
    result = run_tool("tools/val.py", "--config", QUICKSTART, "--model_path", str(weights),
                      check=False)
    assert_clean_failure(result, "model.pdparams", "damaged")
    config = tmp_path / "broken.yml"
    config.write_text("model:\n  type: BiSeNetV2\n  num_classes: [2\nloss: {}\n")
    result = run_tool("tools/train.py", "--config", str(config), check=False)
    assert_clean_failure(result, "broken.yml, line", "not valid YAML")


def test_training_refuses_a_set_smaller_than_a_batch(tmp_path):
    from paddleseg_hru2net.cli.synth import main as synth
    assert synth(["--out", str(tmp_path / "three"), "--num", "3", "--size", "64", "64",
                  "--val_fraction", "0.34"]) == 0
    result = run_tool("tools/train.py", "--config", QUICKSTART, "--batch_size", "4", "--iters", "2",
                      "--opts", f"train_dataset.dataset_root={tmp_path / 'three'}",
                      f"val_dataset.dataset_root={tmp_path / 'three'}", check=False)
    assert_clean_failure(result, "has 2 images but a batch takes 4", "never start")


def test_training_refuses_an_empty_validation_set(tmp_path, synthetic_dataset):
    root = tmp_path / "no_val"
    shutil.copytree(synthetic_dataset, root)
    (root / "val.txt").write_text("")
    result = run_tool("tools/train.py", "--config", QUICKSTART, "--batch_size", "2", "--iters", "2",
                      "--do_eval", "--opts", f"train_dataset.dataset_root={root}",
                      f"val_dataset.dataset_root={root}", check=False)
    assert_clean_failure(result, "validation set is empty")


def test_resume_from_a_half_written_checkpoint_names_the_last_good_one(tmp_path, synthetic_dataset):
    save = tmp_path / "run"
    opts = ["--opts", f"train_dataset.dataset_root={synthetic_dataset}",
            f"val_dataset.dataset_root={synthetic_dataset}"]
    run_tool("tools/train.py", "--config", QUICKSTART, "--batch_size", "2", "--iters", "2",
             "--save_interval", "1", "--save_dir", str(save), *opts)
    (save / "iter_2" / "model.pdopt").write_bytes(b"\x80\x04 half")  # killed while saving
    result = run_tool("tools/train.py", "--config", QUICKSTART, "--batch_size", "2", "--iters", "3",
                      "--save_dir", str(save), "--resume_model", str(save / "iter_2"), *opts,
                      check=False)
    assert_clean_failure(result, "model.pdopt is missing or damaged", str(save / "iter_1"))


@pytest.mark.parametrize("size", [["0", "0"], ["-5", "64"]])
def test_synth_refuses_impossible_sizes(tmp_path, size):
    result = run_tool("-m", "paddleseg_hru2net.cli.synth", "--out", str(tmp_path / "s"),
                      "--num", "2", "--size", *size, check=False)
    assert_clean_failure(result, "--size")
    assert not (tmp_path / "s").exists()


def test_synth_will_not_overwrite_without_asking(tmp_path):
    args = ["-m", "paddleseg_hru2net.cli.synth", "--out", str(tmp_path / "s"), "--num", "2",
            "--size", "32", "32", "--val_fraction", "0.5"]
    run_tool(*args)
    assert_clean_failure(run_tool(*args, check=False), "--overwrite")
    run_tool(*args, "--overwrite")


def test_low_contrast_images_are_stretched_for_the_model_and_say_so(tmp_path):
    grey = synthetic_grey(size=(160, 200))
    Image.fromarray(grey).save(tmp_path / "as_recorded.png")
    dim = np.round(50 + grey.astype(np.float64) * 80 / 255).astype(np.uint8)  # 80 grey levels
    Image.fromarray(dim).save(tmp_path / "dim.png")
    as_recorded = load_sem_image(str(tmp_path / "as_recorded.png"))
    stretched = load_sem_image(str(tmp_path / "dim.png"))
    assert as_recorded.notes == [] and np.array_equal(as_recorded.grey, grey)  # full contrast: as it is
    assert len(stretched.notes) == 1 and stretched.notes[0].startswith("low contrast")
    assert np.percentile(stretched.grey, 0.5) == 0 and np.percentile(stretched.grey, 99.5) == 255
    expected = threshold_mask(as_recorded)
    assert 0.05 < expected.mean() < 0.95
    assert (threshold_mask(stretched) == expected).mean() > 0.97
    blank = np.full((40, 40), 7, np.uint8)
    assert stretch_low_contrast(blank)[0] is blank


def drawn_discs(shape=(200, 240), radius=9, spacing=30):
    """Bright discs (grey 200) on a grey-40 background, edges softened: an image without noise."""
    import cv2
    rows, cols = np.indices(shape)
    disc = np.zeros(shape, bool)
    for r in range(spacing // 2, shape[0] - radius, spacing):
        for c in range(spacing // 2, shape[1] - radius, spacing):
            disc |= (rows - r) ** 2 + (cols - c) ** 2 <= radius ** 2
    return np.round(cv2.GaussianBlur(np.where(disc, 200.0, 40.0), (0, 0), 1.0)).astype(np.uint8), disc


def test_noisy_images_are_denoised_for_the_model_and_say_so(tmp_path):
    from scipy import ndimage
    clean, discs = drawn_discs()
    noisy = np.clip(np.round(clean + np.random.default_rng(0).normal(0, 25, clean.shape)), 0, 255).astype(np.uint8)
    Image.fromarray(clean).save(tmp_path / "clean.png")
    Image.fromarray(noisy).save(tmp_path / "noisy.png")
    assert noise_sigma(clean) < NOISY_SIGMA < 20 < noise_sigma(noisy) < 30  # the estimate sees the noise only
    as_recorded = load_sem_image(str(tmp_path / "clean.png"), data_bar_rows=0)
    denoised = load_sem_image(str(tmp_path / "noisy.png"), data_bar_rows=0)
    assert as_recorded.notes == [] and np.array_equal(as_recorded.grey, clean)
    assert len(denoised.notes) == 1 and denoised.notes[0].startswith("noisy")

    def rms_error(grey):
        return float(np.sqrt(np.mean((grey.astype(np.float64) - clean) ** 2)))

    assert rms_error(denoised.grey) < 0.4 * rms_error(noisy)

    def particles(grey):
        return ndimage.label(grey > 120)[1]

    assert particles(clean) == ndimage.label(discs)[1] == 48
    assert particles(noisy) > 1.5 * 48  # specks in the noise
    assert abs(particles(denoised.grey) - 48) <= 1

