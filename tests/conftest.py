"""Shared fixtures: tiny generated datasets, the shared TiO2 release, command runners."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TIO2_RELEASE = Path(os.environ.get("HRU2NET_TIO2_RELEASE",
                                   REPO.parent / "shared" / "data" / "tio2_sem_ruhle2021"))


def pytest_configure(config):
    config.addinivalue_line("markers", "tio2: needs the shared TiO2 release")


@pytest.fixture(scope="session")
def tio2_release() -> Path:
    """The TiO2 release folder; CI sets HRU2NET_REQUIRE_DATA=1 so its absence fails there."""
    if not TIO2_RELEASE.is_dir():
        if os.environ.get("HRU2NET_REQUIRE_DATA") == "1":
            pytest.fail(f"TiO2 release not found at {TIO2_RELEASE}")
        pytest.skip(f"TiO2 release not found at {TIO2_RELEASE}")
    return TIO2_RELEASE


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory) -> Path:
    """Exports built by the backends go to a folder of this test session, not the user's cache."""
    folder = tmp_path_factory.mktemp("model_cache")
    os.environ["HRU2NET_CACHE_DIR"] = str(folder)
    return folder


def run_tool(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``python <args>`` from the repository (tools/*.py) and capture its output."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    result = subprocess.run([sys.executable, *args], cwd=cwd or REPO, env=env,
                            capture_output=True, text=True, timeout=900)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
                             f"{result.stderr[-3000:]}")
    return result


@pytest.fixture(scope="session")
def synthetic_dataset(tmp_path_factory) -> Path:
    """10 synthetic 64 x 64 SEM images in PaddleSeg layout (8 train, 2 val)."""
    root = tmp_path_factory.mktemp("synthetic") / "synthetic_sem"
    from paddleseg_hru2net.cli.synth import main
    assert main(["--out", str(root), "--num", "10", "--size", "64", "64",
                 "--val_fraction", "0.2"]) == 0
    return root
