"""Issue 2: the PaddleSeg tools, driven end to end on a tiny generated dataset."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import REPO, run_tool

QUICKSTART = "configs/quickstart/bisenetv2_synthetic_128x128_200.yml"


def data_opts(root: Path) -> list:
    return ["--opts", f"train_dataset.dataset_root={root}", f"val_dataset.dataset_root={root}"]


@pytest.fixture(scope="module")
def trained_run(synthetic_dataset, tmp_path_factory):
    """Three training iterations of stock BiSeNetV2 (random init), then two more resumed."""
    save_dir = tmp_path_factory.mktemp("run") / "out"
    first = run_tool("tools/train.py", "--config", QUICKSTART, "--iters", "3", "--batch_size", "2",
                     "--log_iters", "1", "--save_interval", "3", "--save_dir", str(save_dir),
                     "--seed", "1", *data_opts(synthetic_dataset))
    resumed = run_tool("tools/train.py", "--config", QUICKSTART, "--iters", "5", "--batch_size", "2",
                       "--log_iters", "1", "--save_interval", "5", "--save_dir", str(save_dir),
                       "--resume_model", str(save_dir / "iter_3"), *data_opts(synthetic_dataset))
    return save_dir, first.stdout + first.stderr, resumed.stdout + resumed.stderr


def logged_losses(log: str) -> dict:
    return {int(m.group(1)): float(m.group(2))
            for m in re.finditer(r"iter: (\d+)/\d+, loss: ([-\w.]+)", log)}


def test_train_writes_finite_losses_and_checkpoint(trained_run):
    save_dir, log, _ = trained_run
    losses = logged_losses(log)
    assert sorted(losses) == [1, 2, 3]
    assert all(math.isfinite(v) and v > 0 for v in losses.values())
    assert (save_dir / "iter_3" / "model.pdparams").is_file()
    assert (save_dir / "iter_3" / "model.pdopt").is_file()
    meta = json.loads((save_dir / "train_meta.json").read_text())
    assert meta["model"] == "BiSeNetV2" and meta["train_crop_size"] == [128, 128]
    assert "loss:" in (save_dir / "train.log").read_text()


def test_resume_continues_from_checkpoint(trained_run):
    save_dir, _, log = trained_run
    assert "Resume model from" in log
    assert sorted(logged_losses(log)) == [4, 5]
    assert (save_dir / "iter_5" / "model.pdparams").is_file()


def test_val_writes_all_metrics(trained_run, synthetic_dataset, tmp_path):
    save_dir, _, _ = trained_run
    out = tmp_path / "metrics.json"
    run_tool("tools/val.py", "--config", QUICKSTART, "--model_path",
             str(save_dir / "iter_5" / "model.pdparams"), "--save_json", str(out),
             *data_opts(synthetic_dataset))
    metrics = json.loads(out.read_text())
    for key in ("mIoU", "accuracy", "kappa", "dice", "class_iou"):
        assert key in metrics
    assert len(metrics["class_iou"]) == 2
    assert 0.0 <= metrics["mIoU"] <= 1.0 and 0.0 <= metrics["accuracy"] <= 1.0
    iou = np.array(metrics["class_iou"])
    assert metrics["dice"] == pytest.approx(float(np.mean(2 * iou / (1 + iou))))


def test_predict_writes_masks(trained_run, synthetic_dataset, tmp_path):
    save_dir, _, _ = trained_run
    run_tool("tools/predict.py", "--config", QUICKSTART, "--model_path",
             str(save_dir / "iter_5" / "model.pdparams"), "--image_path",
             str(synthetic_dataset / "images"), "--save_dir", str(tmp_path / "pred"),
             *data_opts(synthetic_dataset))
    masks = sorted((tmp_path / "pred" / "pseudo_color_prediction").glob("*.png"))
    assert len(masks) == 10
    mask = np.asarray(Image.open(masks[0]))
    assert mask.shape == (64, 64) and set(np.unique(mask)) <= {0, 1}


def test_export_matches_dynamic_model(trained_run, synthetic_dataset, tmp_path):
    import paddle
    import paddleseg_hru2net  # noqa: F401
    from paddleseg.cvlibs import Config, SegBuilder

    from paddleseg_hru2net.deploy.deploy_config import read_deploy_config
    from paddleseg_hru2net.inference import ModelSource, load_segmenter

    save_dir, _, _ = trained_run
    weights = save_dir / "iter_5" / "model.pdparams"
    out = tmp_path / "exported"
    run_tool("tools/export.py", "--config", QUICKSTART, "--model_path", str(weights),
             "--save_dir", str(out), "--output_op", "none", *data_opts(synthetic_dataset))
    deploy = read_deploy_config(str(out))
    assert (out / deploy["model"]).is_file()

    config = Config(str(REPO / QUICKSTART), opts=data_opts(synthetic_dataset)[1:])
    model = SegBuilder(config).model
    model.set_state_dict(paddle.load(str(weights)))
    model.eval()
    x = np.random.default_rng(0).normal(size=(1, 1, 64, 96)).astype("float32")
    with paddle.no_grad():
        dynamic = model(paddle.to_tensor(x))[0].numpy()
    static = load_segmenter(ModelSource(exported=str(out)), "paddle-inference").run(x)
    np.testing.assert_allclose(static, dynamic, rtol=1e-4, atol=1e-4)


# ------------------------------------------------------------------------- bad input
def assert_clean_failure(result, *fragments: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def test_missing_config_is_a_clear_error(tmp_path):
    result = run_tool("tools/train.py", "--config", str(tmp_path / "nope.yml"), check=False)
    assert_clean_failure(result, "nope.yml", "does not exist")


def test_unknown_type_lists_component_sources(tmp_path, synthetic_dataset):
    config = tmp_path / "bad.yml"
    config.write_text((REPO / QUICKSTART).read_text().replace("type: BiSeNetV2", "type: BiseNetV3")
                      .replace("'../_base_/", f"'{REPO}/configs/_base_/"))
    result = run_tool("tools/train.py", "--config", str(config), "--iters", "1",
                      *data_opts(synthetic_dataset), check=False)
    assert_clean_failure(result, "BiseNetV3", "paddleseg_hru2net", "HRU2Netp", "PaddleSeg itself")


def test_list_naming_missing_image_is_a_clear_error(tmp_path, synthetic_dataset):
    import shutil
    root = tmp_path / "broken"
    shutil.copytree(synthetic_dataset, root)
    (root / "train.txt").write_text((root / "train.txt").read_text()
                                    + "images/ghost.png labels/ghost.png\n")
    result = run_tool("tools/train.py", "--config", QUICKSTART, "--iters", "1",
                      *data_opts(root), check=False)
    assert_clean_failure(result, "train.txt, line 9", "images/ghost.png", "does not exist")


def test_predict_and_analyze_default_to_the_shipped_weights(synthetic_dataset, tmp_path):
    from paddleseg_hru2net.inference import shipped_source
    shipped = shipped_source()
    assert Path(shipped.weights).stat().st_size < 10 * 2 ** 20
    images = tmp_path / "images"
    images.mkdir()
    for name in sorted((synthetic_dataset / "images").iterdir())[:1]:
        (images / name.name).write_bytes(name.read_bytes())
    result = run_tool("tools/predict.py", "--image_path", str(images), "--save_dir",
                      str(tmp_path / "pred"))
    assert "using the shipped model" in result.stderr
    assert len(list((tmp_path / "pred" / "pseudo_color_prediction").glob("*.png"))) == 1
    result = run_tool("-m", "paddleseg_hru2net.cli.analyze", "analyze", str(images), "--out",
                      str(tmp_path / "analysis"), "--pixel-size", "7.34")
    assert "using the shipped model" in result.stderr
    assert (tmp_path / "analysis" / "summary.csv").is_file()


def test_val_and_whole_image_evaluation_print_identical_metrics(trained_run, synthetic_dataset, tmp_path):
    """hru2net-val and hru2net-evaluate slide the same window over the same images: the same
    numbers, to the last digit."""
    save_dir, _, _ = trained_run
    weights = str(save_dir / "iter_5" / "model.pdparams")
    run_tool("tools/val.py", "--config", QUICKSTART, "--model_path", weights, "--save_json",
             str(tmp_path / "val.json"), *data_opts(synthetic_dataset))
    run_tool("tools/evaluate_whole_images.py", "--config", QUICKSTART, "--model_path", weights,
             "--backend", "paddle", "--test_list", str(synthetic_dataset / "val.txt"),
             "--save_json", str(tmp_path / "evaluate.json"))
    val = json.loads((tmp_path / "val.json").read_text())
    evaluated = json.loads((tmp_path / "evaluate.json").read_text())
    for key in ("mIoU", "accuracy", "kappa", "dice", "class_iou", "window", "stride"):
        assert val[key] == evaluated[key], key
    assert val["window"] == [128, 128]
