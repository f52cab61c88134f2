"""Reading an exported folder's ``deploy.yaml`` (no Paddle import: ONNX Runtime users need it too)."""
from __future__ import annotations

import os
from typing import Dict

import yaml

from paddleseg_hru2net.errors import InputError
from paddleseg_hru2net.inference.feed import Feed, normalisation_from_transforms, recorded_settings

__all__ = ["read_deploy_config", "feed_from_deploy"]


def read_deploy_config(deploy_dir: str) -> Dict[str, object]:
    """The ``Deploy`` section of ``deploy_dir/deploy.yaml``, with clear errors."""
    path = os.path.join(deploy_dir, "deploy.yaml")
    if not os.path.isfile(path):
        raise InputError(f"{path} not found: export a model first (hru2net-export)")
    try:
        with open(path) as handle:
            loaded = yaml.safe_load(handle)
    except yaml.YAMLError as error:
        raise InputError(f"{path}: not valid YAML; export the model again (hru2net-export)") from error
    deploy = loaded.get("Deploy") if isinstance(loaded, dict) else None
    if not isinstance(deploy, dict) or not all(isinstance(deploy.get(k), str) for k in ("model", "params")):
        raise InputError(f"{path} has no Deploy section naming model and params; export the "
                         f"model again (hru2net-export)")
    for key in ("model", "params"):
        if not os.path.isfile(os.path.join(deploy_dir, deploy[key])):
            raise InputError(f"{path} names {deploy[key]}, which is not in {deploy_dir}")
    return deploy


def feed_from_deploy(deploy: Dict[str, object], deploy_dir: str):
    """The :class:`~paddleseg_hru2net.inference.feed.Feed` an exported folder records (older
    exports: from its crop size, input shape and transforms)."""
    if deploy.get("output_op") != "none":
        raise InputError(f"{deploy_dir}: exported with output_op={deploy.get('output_op')}; the "
                         f"backends blend window scores and need hru2net-export --output_op none")
    recorded = deploy.get("feed")
    if isinstance(recorded, dict):
        return Feed(window=tuple(recorded["window"]), channels=int(recorded["channels"]),
                    mean=tuple(recorded["mean"]), std=tuple(recorded["std"]),
                    num_classes=int(recorded.get("num_classes", 2)), **recorded_settings(recorded))
    crop = deploy.get("train_crop_size") or [512, 512]
    mean, std = normalisation_from_transforms(deploy.get("transforms"))
    return Feed(window=(int(crop[1]), int(crop[0])), channels=int(deploy["input_shape"][1]),
                mean=tuple(mean), std=tuple(std), num_classes=int(deploy.get("num_classes", 2)))
