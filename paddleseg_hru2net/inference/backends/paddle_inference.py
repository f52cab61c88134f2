"""Paddle Inference on an exported static model (oneDNN off: Paddle 3.3.1's PIR programs fail
with it on CPU, ``ConvertPirAttribute2RuntimeAttribute not support``)."""
from __future__ import annotations

import os
from importlib.util import find_spec

import numpy as np

from paddleseg_hru2net.errors import InputError
from paddleseg_hru2net.inference.backends import register_backend
from paddleseg_hru2net.inference.segmenter import Segmenter
from paddleseg_hru2net.inference.source import ModelSource

__all__ = ["PaddleInferenceBackend"]


@register_backend
class PaddleInferenceBackend:
    name = "paddle-inference"
    rank = 2
    install_hint = "pip install paddlepaddle (or paddlepaddle-gpu)"

    @staticmethod
    def installed() -> bool:
        return find_spec("paddle") is not None

    def load(self, source: ModelSource) -> Segmenter:
        from paddle import inference

        from paddleseg_hru2net.deploy.deploy_config import feed_from_deploy, read_deploy_config
        from paddleseg_hru2net.inference.export_cache import cached_export
        folder = cached_export(source, onnx=False)
        deploy = read_deploy_config(folder)
        config = inference.Config(os.path.join(folder, deploy["model"]),
                                  os.path.join(folder, deploy["params"]))
        config.disable_gpu()
        config.disable_mkldnn()
        config.set_cpu_math_library_num_threads(os.cpu_count() or 1)
        config.disable_glog_info()
        try:
            predictor = inference.create_predictor(config)
        except Exception as error:  # Paddle raises its own types for damaged programs
            raise InputError(f"{folder}: Paddle Inference cannot load this model "
                             f"({str(error).splitlines()[0][:200]}); export it again") from error
        inputs = predictor.get_input_handle(predictor.get_input_names()[0])
        outputs = predictor.get_output_handle(predictor.get_output_names()[0])

        def run(batch: np.ndarray) -> np.ndarray:
            inputs.reshape(list(batch.shape))
            inputs.copy_from_cpu(batch)
            predictor.run()
            return outputs.copy_to_cpu()

        return Segmenter(run, feed_from_deploy(deploy, folder), self.name, source)
