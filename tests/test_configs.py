"""Issue 5: every config builds its model and trains one step through tools/train.py."""
from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from conftest import REPO, run_tool

CONFIGS = sorted(p for p in (REPO / "configs").rglob("*.yml")
                 if not p.name.startswith("_base") and "_base_" not in p.parts)


def test_every_config_sets_pretrained_null():
    import yaml
    for path in CONFIGS:
        text = path.read_text()
        if "model:" in text:
            model = yaml.safe_load(text)["model"]
            assert model.get("pretrained", "missing") is None, path
            backbone = model.get("backbone")
            if backbone:
                assert backbone.get("pretrained", "missing") is None, path


def tiny_opts(config_path: Path, root: Path) -> list:
    import paddleseg_hru2net  # noqa: F401
    from paddleseg.cvlibs import Config
    config = Config(str(config_path))
    channels = 3 if config.train_dataset_cfg.get("type") == "TiO2SEMRGB" else 1
    normalize = {"type": "Normalize", "mean": [0.5] * channels, "std": [0.5] * channels}
    train = [{"type": "RandomPaddingCrop", "crop_size": [64, 64]}, normalize]
    opts = ["--opts", f"train_dataset.dataset_root={root}", f"val_dataset.dataset_root={root}",
            f"train_dataset.transforms={train!r}".replace(" ", ""),
            f"val_dataset.transforms={[normalize]!r}".replace(" ", "")]
    if config.model_cfg.get("frozen_norm_statistics"):  # fine-tuning configs: weights as documented
        opts.append(f"model.pretrained={REPO / 'paddleseg_hru2net/weights/hru2netp_contact_tio2/model.pdparams'}")
    return opts


@pytest.mark.parametrize("config", CONFIGS, ids=[str(p.relative_to(REPO / "configs")) for p in CONFIGS])
def test_config_trains_one_step(config, synthetic_dataset, tmp_path):
    result = run_tool("tools/train.py", "--config", str(config), "--iters", "1", "--batch_size", "2",
                      "--log_iters", "1", "--save_interval", "1", "--save_dir", str(tmp_path / "out"),
                      *tiny_opts(config, synthetic_dataset))
    loss = float(re.search(r"iter: 1/1, loss: ([-\w.]+)", result.stdout + result.stderr).group(1))
    assert math.isfinite(loss) and loss > 0
    assert (tmp_path / "out" / "iter_1" / "model.pdparams").is_file()


def test_frozen_statistics_without_starting_weights_is_refused(synthetic_dataset, tmp_path):
    config = REPO / "configs/hru2netp_contact/hru2netp_contact_robust_tio2_192-512_200.yml"
    opts = tiny_opts(config, synthetic_dataset)[:-1] + ["model.pretrained=None"]
    result = run_tool("tools/train.py", "--config", str(config), "--iters", "1", "--save_dir",
                      str(tmp_path / "out"), *opts, check=False)
    assert result.returncode == 2 and "model.frozen_norm_statistics" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.tio2
def test_paper_config_runs_on_prepared_shared_data(tio2_release, tmp_path):
    from paddleseg_hru2net.datasets.tio2_release import prepare_dataset
    data = tmp_path / "tio2_512"
    prepare_dataset(str(tio2_release), str(data), tile=512, progress=False)
    result = run_tool("tools/train.py", "--config", "configs/hru2net_tio2.yml", "--iters", "2",
                      "--batch_size", "2", "--log_iters", "1", "--save_dir", str(tmp_path / "out"),
                      "--opts", f"train_dataset.dataset_root={data}", f"val_dataset.dataset_root={data}")
    losses = re.findall(r"iter: \d/2, loss: ([-\w.]+)", result.stdout + result.stderr)
    assert len(losses) == 2 and all(math.isfinite(float(v)) for v in losses)
