"""Records a training run leaves beside its checkpoints."""
from __future__ import annotations

import io
import os
from typing import Any, Dict, Optional, TextIO

import yaml

from paddleseg_hru2net.files import write_json, write_text

__all__ = ["TeeStream", "crop_size_of", "training_metadata", "write_run_record", "run_file", "read_run_record"]

META_FILE = "train_meta.json"


class TeeStream(io.TextIOBase):
    """Write to a stream and to a log file at once (PaddleSeg's logger prints to stdout)."""

    def __init__(self, stream: TextIO, log_path: str, append: bool = False):
        super().__init__()
        self.stream = stream
        os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
        self.log = open(log_path, "a" if append else "w")

    def write(self, text: str) -> int:
        self.stream.write(text)
        self.log.write(text)
        self.log.flush()
        return len(text)

    def flush(self) -> None:
        self.stream.flush()
        self.log.flush()

    def close(self) -> TextIO:  # type: ignore[override]
        self.log.close()
        return self.stream


def crop_size_of(transforms_cfg: list) -> Optional[list]:
    """The ``[width, height]`` of the first cropping transform in a dataset's transform list."""
    for transform in transforms_cfg or []:
        size = transform.get("crop_size")
        if size is not None:
            return [int(size), int(size)] if isinstance(size, int) else [int(v) for v in size]
    return None


def _inference_window(config) -> Optional[list]:
    """``[height, width]`` inference should slide: the fixed training crop (a model trained on
    one crop size works at that size), else (crops of mixed sizes) the config's evaluation
    window."""
    size = crop_size_of(config.train_dataset_cfg.get("transforms"))
    if size is None and config.test_config.get("is_slide"):
        size = config.test_config.get("crop_size")
    return [int(size[1]), int(size[0])] if size else None


def training_metadata(config, builder) -> Dict[str, Any]:
    """What inference needs to know about the training run: model, channels, crop size."""
    train_cfg = config.train_dataset_cfg
    model_cfg = config.model_cfg
    return {
        "model": model_cfg.get("type"),
        "num_classes": model_cfg.get("num_classes", getattr(builder.train_dataset_class, "NUM_CLASSES", None)),
        "in_channels": model_cfg.get("in_channels", getattr(builder.train_dataset_class, "IMG_CHANNELS", 3)),
        "train_crop_size": crop_size_of(train_cfg.get("transforms")),
        # the [height, width] window inference slides
        "window": _inference_window(config),
        "dataset": train_cfg.get("type"),
        "dataset_root": train_cfg.get("dataset_root"),
        "iters": config.iters,
        "batch_size": config.batch_size,
    }


def write_run_record(save_dir: str, config, metadata: Dict[str, Any]) -> None:
    os.makedirs(save_dir, exist_ok=True)
    write_text(os.path.join(save_dir, "config.yml"), yaml.safe_dump(config.dic, sort_keys=False))
    write_json(os.path.join(save_dir, META_FILE), metadata)


def run_file(weights_path: Optional[str], name: str) -> Optional[str]:
    """The file ``name`` of the run a weights file belongs to (beside it, or one folder up as for
    a checkpoint ``iter_N/model.pdparams``); None if there is none."""
    if not weights_path:
        return None
    folder = os.path.dirname(os.path.abspath(weights_path))
    for candidate in (folder, os.path.dirname(folder)):
        path = os.path.join(candidate, name)
        if os.path.isfile(path):
            return path
    return None


def record_path(weights_path: Optional[str]) -> Optional[str]:
    """The ``train_meta.json`` of the run a weights file belongs to (beside it or one folder up)."""
    return run_file(weights_path, META_FILE)


def read_run_record(weights_path: Optional[str]) -> Dict[str, Any]:
    """The ``train_meta.json`` of the run a weights file belongs to ({} if there is none)."""
    import json
    path = record_path(weights_path)
    if path is None:
        return {}
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError) as error:
        from paddleseg_hru2net.errors import InputError
        raise InputError(f"{path}: unreadable run record ({error}); fix or delete it") from error
