"""The inference layer: blended sliding windows, the feed, the backend registry, the metrics."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from paddleseg_hru2net.inference import Feed, normalise, sliding_window_probabilities
from paddleseg_hru2net.inference.windows import TILE_MULTIPLE, blend_weight, tile_layout, window_starts
from paddleseg_hru2net.metrics import confusion_matrix, metrics_from_confusion


def local_model(batch: np.ndarray) -> np.ndarray:
    """A 'model' whose score depends on the pixel only: class 1 where the input is positive."""
    x = batch[:, :1]
    return np.concatenate([-x, x], axis=1) * 10.0


def background_model(batch: np.ndarray) -> np.ndarray:
    """Predicts background everywhere: what a test of the windows must not let pass."""
    plane = np.ones((batch.shape[0], 1, *batch.shape[2:]), np.float32)
    return np.concatenate([plane, 0 * plane], axis=1)


@pytest.mark.parametrize("shape", [(1, 50, 70), (1, 300, 517), (3, 161, 160)])
def test_sliding_window_equals_whole_image_for_a_pixelwise_model(shape):
    rng = np.random.default_rng(0)
    image = rng.normal(size=shape).astype(np.float32)
    feed = Feed(window=(64, 96), channels=shape[0])
    assert feed.stride == (48, 72)
    probabilities = sliding_window_probabilities(image, local_model, feed)
    expected = sliding_window_probabilities(image, local_model, Feed(window=shape[1:], channels=shape[0]))
    assert probabilities.shape == (2, *shape[1:])
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
    truth = (image[0] > 0).astype(int)
    np.testing.assert_array_equal(probabilities.argmax(0), truth)
    # the same check fails for a model that predicts background everywhere
    trivial = sliding_window_probabilities(image, background_model, feed).argmax(0)
    assert (trivial == truth).mean() < 0.6


def test_windows_cover_every_pixel_and_blend_weights_are_positive():
    for length in (10, 160, 161, 712, 1024):
        starts = window_starts(length, 160, 120)
        covered = np.zeros(max(length, 160), bool)
        for start in starts:
            covered[start:start + 160] = True
        assert covered[:length].all() and starts[-1] + 160 >= length
    weight = blend_weight(8, 8)
    assert weight.min() > 0 and weight.max() <= 1


@pytest.mark.parametrize("window, stride", [(160, 120), (512, 384), (1024, 768), (100, 75)])
def test_tiles_cover_every_pixel_with_the_overlap_and_no_more_tiles_than_windows(window, stride):
    """Tiles no larger than the window, as many as the windows at the stride, shrunk (to a
    multiple of 32) so the model sees little beyond the image, overlapping by at least window -
    stride; a 1024 x 768 frame in 512 px windows is 6 tiles of 448, not 6 windows of 512."""
    for length in (10, 160, 161, 300, 712, 768, 1024, 1068, 1536, 4000):
        tile, starts = tile_layout(length, window, stride)
        assert tile <= max(window, -(-length // TILE_MULTIPLE) * TILE_MULTIPLE)
        assert tile == window or tile % TILE_MULTIPLE == 0
        assert len(starts) == len(window_starts(length, window, stride))
        covered = np.zeros(max(length, tile), bool)
        for start in starts:
            covered[start:start + tile] = True
        assert covered[:length].all() and starts[0] == 0
        if tile == window:  # whole windows are placed as they always were
            assert starts == window_starts(length, window, stride)
        if len(starts) > 1:
            assert starts[-1] + tile == length
            assert min(a + tile - b for a, b in zip(starts, starts[1:])) >= window - stride
    assert tile_layout(768, 512, 384) == (448, [0, 320]) and tile_layout(1024, 512, 384)[0] == 448
    assert tile_layout(712, 1024, 768) == (736, [0])  # one tile, the image padded by 24 rows


def test_feed_refuses_empty_windows():
    for window in [(0, 0), (-5, -5), (3,)]:
        with pytest.raises(ValueError, match="window"):
            Feed(window=window)


def test_normalise_matches_paddleseg_normalize():
    grey = np.array([[0, 255]], np.uint8)
    x = normalise(grey, Feed(window=(8, 8), channels=3))
    assert x.shape == (3, 1, 2)
    np.testing.assert_allclose(x[:, 0], [[-1, 1]] * 3)


def test_metrics_from_confusion_by_hand():
    label = np.array([[0, 0, 1, 1, 255]])
    pred = np.array([[0, 1, 1, 1, 0]])
    m = metrics_from_confusion(confusion_matrix(pred, label, 2))
    assert m["class_iou"] == pytest.approx([1 / 2, 2 / 3])
    assert m["accuracy"] == pytest.approx(3 / 4)
    assert m["particle_iou"] == pytest.approx(2 / 3)
    assert m["dice"] == pytest.approx(np.mean([2 / 3, 4 / 5]))
    # kappa: po = 3/4, pe = (1*2 + 3*2) / 16 = 1/2
    assert m["kappa"] == pytest.approx((0.75 - 0.5) / 0.5)


def test_particle_iou_of_three_classes_merges_particle_and_contact():
    label = np.array([[0, 1, 2, 2, 1]])
    pred = np.array([[0, 2, 1, 0, 1]])
    m = metrics_from_confusion(confusion_matrix(pred, label, 3))
    assert m["particle_iou"] == pytest.approx(3 / 4)


def test_backend_registry_lists_installed_backends_fastest_first():
    from paddleseg_hru2net.inference import backend_names, default_backend, installed_backends
    from paddleseg_hru2net.inference.backends.onnx_runtime_int8 import cpu_has_int8_dot_product
    assert backend_names() == ["onnxruntime-int8", "onnxruntime", "paddle-inference", "paddle"]
    assert installed_backends() == backend_names()
    assert default_backend() == ("onnxruntime-int8" if cpu_has_int8_dot_product() else "onnxruntime")
    assert default_backend(exact=True) == "onnxruntime"  # metrics are computed in float


def test_int8_is_the_default_only_with_vnni(tmp_path):
    from paddleseg_hru2net.inference.backends.onnx_runtime_int8 import cpu_has_int8_dot_product
    with_vnni, without = tmp_path / "with", tmp_path / "without"
    with_vnni.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_vnni\n")
    without.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f\n")
    assert cpu_has_int8_dot_product(str(with_vnni)) and not cpu_has_int8_dot_product(str(without))
    assert not cpu_has_int8_dot_product(str(tmp_path / "missing"))


def test_int8_model_agrees_with_float_on_particle_masks(tio2_release):
    """The default model quantised to int8 (calibrated on synthetic images only): particle masks
    agree with float32 ONNX on >= 99.9 % of the pixels of a TiO2 val image (the adoption
    criterion), and the masks are not trivial (an all-background int8 model cannot pass)."""
    from paddleseg_hru2net.evaluation import release_samples
    from paddleseg_hru2net.inference import load_segmenter, particle_probability_of, shipped_source

    _, grey, label = next(release_samples(str(tio2_release), ["1908288"]))  # a val image
    grey, label = grey[:384, :640], label[:384, :640]
    source = shipped_source("hru2netp_contact_tio2")
    masks = {backend: particle_probability_of(load_segmenter(source, backend=backend).probabilities(grey)) > 0.5
             for backend in ("onnxruntime", "onnxruntime-int8")}
    assert 0.05 < masks["onnxruntime"].mean() < 0.6 and (masks["onnxruntime"] == (label == 1)).mean() > 0.9
    assert (masks["onnxruntime-int8"] == masks["onnxruntime"]).mean() >= 0.999


def test_importing_the_package_registers_once_paddleseg_loads_without_loading_paddle():
    from conftest import run_tool
    run_tool("-c", "import sys, paddleseg_hru2net\n"
                   "assert 'paddle' not in sys.modules, 'paddle imported by the package'\n"
                   "from paddleseg.cvlibs import manager\n"
                   "assert 'HRU2Netp' in manager.MODELS.components_dict\n"
                   "assert 'TiO2SEM' in manager.DATASETS.components_dict\n"
                   "from paddleseg_hru2net import compat\n"
                   "assert compat.APPLIED, 'the Paddle 3 fixes were not applied'\n")
    run_tool("-c", "import paddleseg, paddleseg_hru2net\n"
                   "from paddleseg.cvlibs import manager\n"
                   "assert 'HRU2Netp' in manager.MODELS.components_dict\n")


def test_backends_agree_on_probabilities():
    """The shipped model on a synthetic SEM image, run by every backend (the ONNX and static
    exports built by the cache): probabilities agree to 1e-3, and they are not trivial."""
    from paddleseg_hru2net.datasets.synthetic import SyntheticSEMConfig, generate_sem_image
    from paddleseg_hru2net.inference import load_segmenter, shipped_source
    from paddleseg_hru2net.inference.export_cache import cache_root

    grey, mask = generate_sem_image(3, SyntheticSEMConfig(height=150, width=210))
    source = shipped_source("hru2netp_tio2")
    probabilities = {backend: load_segmenter(source, backend=backend).probabilities(grey)
                     for backend in ("paddle", "paddle-inference", "onnxruntime")}
    reference = probabilities["paddle"]
    particle = reference[1] > 0.5
    assert 0.03 < particle.mean() < 0.6 and (particle == (mask > 0)).mean() > 0.8
    for backend in ("paddle-inference", "onnxruntime"):
        assert np.abs(probabilities[backend] - reference).max() < 1e-3, backend
    exports = [p for p in Path(cache_root(), "exported").iterdir() if not p.name.startswith(".")]
    assert len(exports) >= 2  # a static export and an ONNX export, each built once


def test_the_graph_optimised_for_this_cpu_is_kept_and_gives_the_same_probabilities():
    from paddleseg_hru2net.datasets.synthetic import SyntheticSEMConfig, generate_sem_image
    from paddleseg_hru2net.inference import load_segmenter, shipped_source
    from paddleseg_hru2net.inference.export_cache import cache_root

    grey = generate_sem_image(4, SyntheticSEMConfig(height=120, width=150))[0]
    first = load_segmenter(shipped_source("hru2netp_tio2"), backend="onnxruntime").probabilities(grey)
    saved = list(Path(cache_root(), "exported").glob("*/model.optimized-*.ort.onnx"))
    assert saved, "the optimised graph was not kept in the cache"
    again = load_segmenter(shipped_source("hru2netp_tio2"), backend="onnxruntime").probabilities(grey)
    assert np.array_equal(first, again)


def _rightward_runner(batch: np.ndarray) -> np.ndarray:
    """Stands in for a model with a bias of orientation: particle more likely towards the right
    of each window, whatever the image."""
    n, _, height, width = batch.shape
    ramp = np.broadcast_to(np.linspace(-2.0, 2.0, width, dtype=np.float32), (n, 1, height, width))
    return np.concatenate([-ramp, ramp], axis=1)


def test_flips_average_the_image_and_its_flipped_copies_back_in_place():
    """With flips a model's orientation bias cancels (a uniform image gets a map symmetric left to
    right, which it does not without), each copy is flipped back before averaging (equal to the
    average done by hand), and the model runs on four copies."""
    from paddleseg_hru2net.inference import ModelSource
    from paddleseg_hru2net.inference.segmenter import Segmenter
    plain = Segmenter(_rightward_runner, Feed(window=(32, 32)), "test", ModelSource(name="ramp"))
    flipping = plain.with_flips(True)
    grey = np.full((40, 56), 120, np.uint8)
    one = plain.probabilities(grey)[1]
    assert not np.allclose(one, one[:, ::-1], atol=0.05)
    averaged = flipping.probabilities(grey)
    np.testing.assert_allclose(averaged[1], averaged[1][:, ::-1], atol=1e-5)
    image = np.random.default_rng(0).integers(0, 255, (40, 56)).astype(np.uint8)
    by_hand = sum(np.flip(plain.probabilities(np.ascontiguousarray(np.flip(image, axes))), tuple(a + 1 for a in axes))
                  for axes in ((), (1,), (0,), (0, 1))) / 4
    np.testing.assert_allclose(flipping.probabilities(image), by_hand, atol=1e-6)
    calls = []
    counting = Segmenter(lambda b: calls.append(1) or _rightward_runner(b), Feed(window=(64, 64), flips=True),
                         "test", ModelSource(name="ramp"))
    counting.probabilities(grey)
    assert len(calls) == 4 and counting.with_window((32, 32)).feed.flips
    assert counting.with_flips(None) is counting and not counting.with_flips(False).feed.flips


def test_flips_are_recorded_per_model_and_the_commands_can_override_them():
    """The generalist's record says flips, the specialist's does not; ``--flips`` /
    ``--no-flips`` override the record, and without either the record stands."""
    from paddleseg_hru2net.cli import analyze, validate_analysis
    from paddleseg_hru2net.inference import load_segmenter, shipped_source
    assert load_segmenter(shipped_source("hru2netp_contact_generalist"), "onnxruntime").feed.flips
    assert not load_segmenter(shipped_source("hru2netp_contact_tio2"), "onnxruntime").feed.flips
    assert analyze.parse_args(["in", "--out", "o"]).flips is None
    assert analyze.parse_args(["in", "--out", "o", "--flips"]).flips is True
    assert validate_analysis.parse_args(["--manifest", "m", "--no-flips"]).flips is False


def _dark_edge_runner(batch: np.ndarray) -> np.ndarray:
    """Stands in for a model that sees contacts at some scales only: particle where the pixel
    is bright, less so within 2 px (of the window it sees) of a darker pixel - a fixed reach in
    pixels, so its maps differ with the image's scale."""
    from scipy import ndimage
    bright = batch[:, :1] > 0
    near_dark = ndimage.minimum_filter(batch[:, :1], size=(1, 1, 5, 5)) < 0
    score = np.where(bright, np.where(near_dark, 0.5, 3.0), -3.0).astype(np.float32)
    return np.concatenate([-score, score], axis=1)


def test_views_average_the_image_resampled_by_each_factor_back_on_its_grid():
    """With views (1, 1.5) the probabilities are the mean of the image's own and those of the
    image enlarged 1.5x, brought back to its grid - by hand the same; the shape stays the
    image's; the views are recorded with the feed, and ``--views`` reaches the commands."""
    from paddleseg_hru2net.cli import analyze, validate_analysis
    from paddleseg_hru2net.inference import ModelSource
    from paddleseg_hru2net.inference.feed import recorded_settings
    from paddleseg_hru2net.inference.segmenter import Segmenter, probabilities_on_grid
    from paddleseg_hru2net.microscopy.resampling import resample
    plain = Segmenter(_dark_edge_runner, Feed(window=(32, 32)), "test", ModelSource(name="edges"))
    viewing = plain.with_views((1.0, 1.5))
    grey = np.zeros((41, 57), np.uint8)
    grey[8:30, 10:24] = 200
    grey[8:30, 26:44] = 200
    averaged = viewing.probabilities(grey)
    assert averaged.shape == (2, 41, 57)
    by_hand = (plain.probabilities(grey) + probabilities_on_grid(plain.probabilities(resample(grey, 1.5)), grey.shape)) / 2
    np.testing.assert_allclose(averaged, by_hand, atol=1e-6)
    assert not np.allclose(averaged, plain.probabilities(grey), atol=0.05)
    np.testing.assert_allclose(averaged.sum(axis=0), 1.0, atol=1e-5)
    assert viewing.feed.views == (1.0, 1.5) and plain.with_views(None) is plain
    assert Feed(window=(32, 32), **recorded_settings(viewing.feed.as_dict())).views == (1.0, 1.5)
    with pytest.raises(ValueError, match="views"):
        Feed(window=(32, 32), views=(1.0, 0.0))
    assert analyze.parse_args(["in", "--out", "o", "--views", "1", "1.5"]).views == [1.0, 1.5]
    assert validate_analysis.parse_args(["--manifest", "m"]).views is None
    from paddleseg_hru2net.analysis.scale import probabilities_at
    enlarged, _ = probabilities_at(viewing, grey, 2.0)  # enlarged for the model: the image as it is only
    np.testing.assert_allclose(enlarged, probabilities_at(plain, grey, 2.0)[0], atol=1e-6)
    shrunk, _ = probabilities_at(viewing, grey, 0.8)
    assert not np.allclose(shrunk, probabilities_at(plain, grey, 0.8)[0], atol=0.05)


def test_a_config_naming_starting_weights_elsewhere_still_loads(tmp_path):
    """A training run's config names the weights it started from (model.pretrained), a path on the
    machine it ran on. Loaded with its own weights, the model must not look for that file: every
    shipped config, on a user's machine, and a config pointing at a missing file."""
    import shutil

    import yaml

    from paddleseg_hru2net.inference.paddle_model import load_network
    from paddleseg_hru2net.inference.source import ModelSource, shipped_source
    shipped = shipped_source("hru2netp_contact_generalist")
    config = yaml.safe_load(Path(shipped.config).read_text())
    config["model"]["pretrained"] = str(tmp_path / "gone" / "model.pdparams")
    moved = tmp_path / "config.yml"
    moved.write_text(yaml.safe_dump(config))
    shutil.copy(Path(shipped.config).with_name("train_meta.json"), tmp_path / "train_meta.json")
    network = load_network(ModelSource(config=str(moved), weights=shipped.weights))
    assert network.config.model_cfg.get("pretrained") is None
    for folder in Path(shipped.config).parent.parent.iterdir():
        if (folder / "config.yml").is_file():
            assert yaml.safe_load((folder / "config.yml").read_text())["model"].get("pretrained") is None, folder
