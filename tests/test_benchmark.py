"""Issue 5: the benchmark writes the table (Markdown, CSV) and both figures for two models."""
from __future__ import annotations

import csv
import json

from PIL import Image

from conftest import run_tool
from test_configs import tiny_opts
from conftest import REPO

CONFIGS = ["configs/quickstart/bisenetv2_synthetic_128x128_200.yml",
           "configs/cpu/hru2netp_tio2_160x160_550.yml"]


def test_benchmark_table_and_figures(synthetic_dataset, tmp_path):
    weights = []
    for index, config in enumerate(CONFIGS):
        save_dir = tmp_path / f"run{index}"
        run_tool("tools/train.py", "--config", config, "--iters", "2", "--batch_size", "2",
                 "--log_iters", "1", "--save_interval", "2", "--save_dir", str(save_dir),
                 *tiny_opts(REPO / config, synthetic_dataset))
        weights.append(str(save_dir / "iter_2" / "model.pdparams"))
    out = tmp_path / "bench"
    result = run_tool("tools/benchmark.py", "--configs", *CONFIGS, "--weights", *weights,
                      "--names", "BiSeNetV2", "HRU2-Net†", "--test_list",
                      str(synthetic_dataset / "val.txt"), "--latency_size", "64",
                      "--repeats", "1", "--grid_images", "2", "--out", str(out))
    assert "HRU2-Net†" in result.stdout
    with open(out / "results.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["model"] for r in rows] == ["BiSeNetV2", "HRU2-Net†"]
    for row in rows:
        for key in ("mIoU", "accuracy", "Dice", "particle IoU"):
            assert 0.0 <= float(row[key]) <= 1.0, (key, row[key])
        assert -1.0 <= float(row["Kappa"]) <= 1.0
        assert float(row["params (M)"]) > 0 and float(row["GFLOPs @512"]) > 0
    details = json.loads((out / "results.json").read_text())
    assert details["HRU2-Net†"]["window"] == [64, 64]  # slides at the crop size it was trained on
    assert float(rows[1]["params (M)"]) > 1.0
    for figure in ("loss_curves.png", "predictions.png"):
        with Image.open(out / figure) as image:
            assert image.size[0] > 300 and image.size[1] > 200
    assert "| BiSeNetV2 |" in (out / "results.md").read_text()


def test_analysis_benchmark_without_the_paddle_runs_compares_with_the_default(tmp_path):
    """``--paddle_repeats 0`` leaves the slow Paddle command out: the ratios are then against the
    default command (it stopped on an empty median before); ``--views_also`` adds the command
    with other views beside it; 0 whole-command repeats and views that are not positive numbers are refused (before any run)."""
    from test_analyze import write_sem
    image = tmp_path / "sem.png"
    write_sem(image, 160, 200, seed=9)
    result = run_tool("-m", "paddleseg_hru2net.cli.benchmark_analysis", "--image", str(image),
                      "--repeats", "1", "--paddle_repeats", "0", "--views_also", "1 1.50")
    lines = result.stdout.splitlines()
    assert "| whole command | median s | runs | speed-up vs the default |" in lines
    default_row = next(line for line in lines if line.startswith("| hru2net analyze (default:"))
    assert default_row.endswith("| 1 | 1.00x |")
    assert not any("--backend paddle |" in line for line in lines)
    assert any(line.startswith("| model (windows) |") for line in lines)
    assert any(line.startswith("| hru2net analyze --views 1 1.5 (") and "| 1 |" in line for line in lines)
    for not_views in ("1 x", "1 0", ""):
        refused_views = run_tool("-m", "paddleseg_hru2net.cli.benchmark_analysis", "--image", str(image),
                                 "--views_also", not_views, check=False)
        assert refused_views.returncode == 2 and "--views_also takes positive scale factors" in refused_views.stderr
    refused = run_tool("-m", "paddleseg_hru2net.cli.benchmark_analysis", "--image", str(image),
                       "--repeats", "0", check=False)
    assert refused.returncode == 2 and "--repeats must be at least 1" in refused.stderr
