"""Run an exported model with Paddle Inference."""
from __future__ import annotations

import os

import numpy as np

from paddleseg_hru2net.deploy.export import read_deploy_config

__all__ = ["PaddleInferencePredictor"]


class PaddleInferencePredictor:
    """Paddle Inference on an exported folder (``deploy.yaml`` + program + parameters).

    oneDNN is switched off on CPU: with Paddle 3.3.1's PIR programs it fails
    (``ConvertPirAttribute2RuntimeAttribute not support``).
    """

    def __init__(self, deploy_dir: str, use_gpu: bool = False, cpu_threads: int = 1):
        from paddle import inference
        deploy = read_deploy_config(deploy_dir)
        config = inference.Config(os.path.join(deploy_dir, deploy["model"]),
                                  os.path.join(deploy_dir, deploy["params"]))
        if use_gpu:
            config.enable_use_gpu(256, 0)
        else:
            config.disable_gpu()
            config.disable_mkldnn()
            config.set_cpu_math_library_num_threads(cpu_threads)
        config.disable_glog_info()
        self.deploy = deploy
        self._predictor = inference.create_predictor(config)
        self._input = self._predictor.get_input_handle(self._predictor.get_input_names()[0])
        self._output = self._predictor.get_output_handle(self._predictor.get_output_names()[0])

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """Run on a float32 ``(N, C, H, W)`` batch; returns the exported output op's result."""
        self._input.reshape(list(batch.shape))
        self._input.copy_from_cpu(np.ascontiguousarray(batch, dtype=np.float32))
        self._predictor.run()
        return self._output.copy_to_cpu()
