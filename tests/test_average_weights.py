"""Averaging the weights of runs fine-tuned from one parent (``hru2net-average-weights``)."""
from __future__ import annotations

import json

import numpy as np
import paddle
import pytest

from paddleseg_hru2net.cli.average_weights import main


def write_run(folder, scale: float, shape=(3, 2)) -> str:
    """A run folder as training leaves it: config and record, the weights in a checkpoint below."""
    (folder / "iter_2").mkdir(parents=True)
    (folder / "config.yml").write_text(f"model:\n  type: Tiny\nscale: {scale}\n")
    (folder / "train_meta.json").write_text(json.dumps({"model": "Tiny", "splitting": {"threshold": 0.5}}))
    state = {"conv.weight": paddle.full(shape, scale, dtype="float32"),
             "bn._mean": paddle.full([2], 2 * scale, dtype="float32"),
             "steps": paddle.to_tensor(np.array([7], np.int64))}
    path = folder / "iter_2" / "model.pdparams"
    paddle.save(state, str(path))
    return str(path)


def test_the_average_is_the_mean_of_every_parameter_with_the_first_runs_config_and_record(tmp_path):
    weights = [write_run(tmp_path / f"run{i}", scale) for i, scale in enumerate((1.0, 2.0, 6.0))]
    out = tmp_path / "soup"
    assert main(["--weights", *weights, "--out", str(out)]) == 0
    soup = paddle.load(str(out / "model.pdparams"))
    np.testing.assert_allclose(soup["conv.weight"].numpy(), np.full((3, 2), 3.0))
    np.testing.assert_allclose(soup["bn._mean"].numpy(), np.full(2, 6.0))
    assert soup["conv.weight"].numpy().dtype == np.float32
    assert soup["steps"].numpy().tolist() == [7]
    assert "scale: 1.0" in (out / "config.yml").read_text()
    record = json.loads((out / "train_meta.json").read_text())
    assert record["splitting"] == {"threshold": 0.5}
    assert [p.split("/")[-3] for p in record["averaged_from"]] == ["run0", "run1", "run2"]


def test_bad_invocations_exit_2_with_one_line_and_write_nothing(tmp_path, capsys):
    first = write_run(tmp_path / "a", 1.0)
    other_shape = write_run(tmp_path / "b", 2.0, shape=(3, 3))
    assert main(["--weights", first, "--out", str(tmp_path / "one")]) == 2
    assert main(["--weights", first, other_shape, "--out", str(tmp_path / "mixed")]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 2 and "two or more" in error[0]
    assert other_shape in error[1] and "other shapes" in error[1]
    assert not (tmp_path / "one").exists() and not list((tmp_path / "mixed").glob("*.pdparams"))

    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "model.pdparams").write_text("keep me")
    second = write_run(tmp_path / "c", 3.0)
    assert main(["--weights", first, second, "--out", str(taken)]) == 2
    assert (taken / "model.pdparams").read_text() == "keep me"
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and str(taken) in error[0] and "not an empty folder" in error[0]
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me too")
    assert main(["--weights", first, second, "--out", str(a_file)]) == 2
    assert a_file.read_text() == "keep me too"
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and str(a_file) in error[0] and "not an empty folder" in error[0]
    assert main(["--weights", first, str(tmp_path / "missing.pdparams"), "--out", str(tmp_path / "m")]) == 2
    assert "missing.pdparams do not exist" in capsys.readouterr().err


def test_a_failure_while_writing_leaves_no_folder_behind(tmp_path, monkeypatch):
    from paddleseg_hru2net import files
    weights = [write_run(tmp_path / f"run{i}", scale) for i, scale in enumerate((1.0, 2.0))]

    def disk_full(path, data):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(files, "write_json", disk_full)  # the record is the last file written
    out = tmp_path / "soup"
    with pytest.raises(OSError):
        main(["--weights", *weights, "--out", str(out)])
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run0", "run1"]  # no staging folder left
