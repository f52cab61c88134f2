"""The three ways ``hru2net analyze`` can run a model: Paddle dynamic, Paddle Inference, ONNX Runtime.

Each gives a :class:`Segmenter`: a batch runner plus what feeding it needs (window, channels,
normalisation), so the analysis code does not care which backend runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from paddleseg_hru2net.inference import BatchRunner, WindowFeed, normalisation_from_transforms

__all__ = ["Segmenter", "BACKENDS", "make_segmenter"]

BACKENDS = ("paddle", "paddle-inference", "onnxruntime")


@dataclass(kw_only=True)
class Segmenter(WindowFeed):
    """A backend's batch runner and how to feed it (:class:`WindowFeed`)."""

    run: BatchRunner
    backend: str


def _from_deploy(deploy_dir: str, backend: str, window: Optional[List[int]]) -> Segmenter:
    from paddleseg_hru2net.deploy.export import read_deploy_config
    deploy = read_deploy_config(deploy_dir)
    if deploy.get("output_op") != "none":
        raise ValueError(f"{deploy_dir}: exported with output_op={deploy.get('output_op')}; "
                         f"analysis blends window scores and needs --output_op none")
    if backend == "onnxruntime":
        from paddleseg_hru2net.deploy.onnx import OnnxRuntimePredictor
        run = OnnxRuntimePredictor(deploy_dir)
    else:
        from paddleseg_hru2net.deploy.predictor import PaddleInferencePredictor
        run = PaddleInferencePredictor(deploy_dir)
    crop = deploy.get("train_crop_size") or [512, 512]
    mean, std = normalisation_from_transforms(deploy.get("transforms"))
    return Segmenter(window=list(window) if window else [int(crop[1]), int(crop[0])],
                     channels=int(deploy["input_shape"][1]), mean=mean, std=std, run=run,
                     backend=backend)


def make_segmenter(backend: str = "paddle", config: Optional[str] = None,
                   model_path: Optional[str] = None, deploy_dir: Optional[str] = None,
                   window: Optional[List[int]] = None) -> Segmenter:
    """Build the backend. ``paddle`` takes a config and weights (the shipped HRU2-Net† by
    default); ``paddle-inference`` and ``onnxruntime`` take an exported folder."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend != "paddle":
        if not deploy_dir:
            raise ValueError(f"backend {backend} needs --deploy_dir, a folder written by "
                             f"hru2net-export --output_op none{' --onnx' if backend == 'onnxruntime' else ''}")
        return _from_deploy(deploy_dir, backend, window)
    from paddleseg_hru2net.cli.common import resolve_model_paths
    from paddleseg_hru2net.inference import paddle_runner
    from paddleseg_hru2net.trained import load_trained
    config, model_path = resolve_model_paths(config, model_path)
    trained = load_trained(config, model_path, window)
    return Segmenter(window=trained.window, channels=trained.channels, mean=trained.mean,
                     std=trained.std, run=paddle_runner(trained.model), backend=backend)
