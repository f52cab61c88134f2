"""ONNX export (paddle2onnx) of an exported static model, and an ONNX Runtime runner.

ONNX Runtime runs the exported U2-Net family on a CPU about ten times faster than Paddle
Inference with oneDNN off (the only way Paddle 3.3.1 runs these PIR programs on CPU).

paddle2onnx 2.1's default optimiser (Polygraphy) sets POLYGRAPHY_AUTOINSTALL_DEPS=1 and pip-installs
onnx_graphsurgeon at run time, which pulls ml-dtypes 0.6 (numpy>=2) into a numpy-1 environment;
we ask for onnxoptimizer instead, which is already a dependency.
"""
from __future__ import annotations

import os

import numpy as np

from paddleseg_hru2net.deploy.export import read_deploy_config
from paddleseg_hru2net.io import atomic_path, write_text

__all__ = ["export_onnx", "OnnxRuntimePredictor", "ONNX_FILE"]

ONNX_FILE = "model.onnx"


def export_onnx(deploy_dir: str, opset_version: int = 13) -> str:
    """Convert the static model of ``deploy_dir`` to ``deploy_dir/model.onnx``; returns its path."""
    import paddle2onnx
    import yaml

    deploy = read_deploy_config(deploy_dir)
    target = os.path.join(deploy_dir, ONNX_FILE)
    with atomic_path(target) as temporary:
        paddle2onnx.export(os.path.join(deploy_dir, deploy["model"]),
                           os.path.join(deploy_dir, deploy["params"]), str(temporary),
                           opset_version=opset_version, enable_onnx_checker=True,
                           optimize_tool="onnxoptimizer")
    deploy["onnx"] = ONNX_FILE
    write_text(os.path.join(deploy_dir, "deploy.yaml"), yaml.safe_dump({"Deploy": deploy}, sort_keys=False))
    return target


class OnnxRuntimePredictor:
    """ONNX Runtime (CPU) on ``deploy_dir/model.onnx``; same call as the Paddle predictors."""

    def __init__(self, deploy_dir: str, threads: int = 1):
        import onnxruntime

        self.deploy = read_deploy_config(deploy_dir)
        path = os.path.join(deploy_dir, self.deploy.get("onnx", ONNX_FILE))
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path} not found: export with hru2net-export --onnx")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        self._session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self._session.run(None, {self._input: np.ascontiguousarray(batch, np.float32)})[0]
