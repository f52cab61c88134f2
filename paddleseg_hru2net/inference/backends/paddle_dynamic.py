"""Paddle's dynamic graph: the model as trained, on any device Paddle has (GPU where built with
CUDA). The slowest on a CPU, and the only backend that needs no export."""
from __future__ import annotations

from importlib.util import find_spec

import numpy as np

from paddleseg_hru2net.inference.backends import register_backend
from paddleseg_hru2net.inference.segmenter import Segmenter
from paddleseg_hru2net.inference.source import ModelSource

__all__ = ["PaddleDynamicBackend", "paddle_runner"]


def paddle_runner(layer):
    """A dygraph network as a batch function (eval mode, no gradients, first output)."""
    import paddle

    layer.eval()

    def run(batch: np.ndarray) -> np.ndarray:
        with paddle.no_grad():
            output = layer(paddle.to_tensor(batch))
        if isinstance(output, (list, tuple)):
            output = output[0]
        return output.numpy()

    return run


@register_backend
class PaddleDynamicBackend:
    name = "paddle"
    rank = 3
    install_hint = "pip install paddlepaddle (or paddlepaddle-gpu)"

    @staticmethod
    def installed() -> bool:
        return find_spec("paddle") is not None

    def load(self, source: ModelSource) -> Segmenter:
        from paddleseg_hru2net.inference.paddle_model import load_network
        network = load_network(source)
        return Segmenter(paddle_runner(network.layer), network.feed, self.name, source)
