"""ONNX Runtime with the model quantised to int8: about 2x float32 on CPUs with VNNI.

The int8 model is built once per weights from the cached float export, calibrated on synthetic
SEM images (:mod:`paddleseg_hru2net.deploy.quantize`). It is the default only where the CPU has
int8 dot-product instructions (AVX-512 VNNI or AVX-VNNI); elsewhere int8 convolutions may be no
faster than float ones, and ``--backend onnxruntime-int8`` still chooses it.
"""
from __future__ import annotations

from importlib.util import find_spec

from paddleseg_hru2net.inference.backends import register_backend
from paddleseg_hru2net.inference.backends.onnx_runtime import (cpu_flags, onnx_runtime_installed,
                                                               onnx_segmenter)
from paddleseg_hru2net.inference.segmenter import Segmenter
from paddleseg_hru2net.inference.source import ModelSource

__all__ = ["OnnxRuntimeInt8Backend", "cpu_has_int8_dot_product"]

_INT8_DOT_PRODUCT_FLAGS = ("avx512_vnni", "avx_vnni")


def cpu_has_int8_dot_product(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether the CPU lists VNNI among its flags (Linux; False where that cannot be read)."""
    return any(flag in _INT8_DOT_PRODUCT_FLAGS for flag in cpu_flags(cpuinfo))


@register_backend
class OnnxRuntimeInt8Backend:
    name = "onnxruntime-int8"
    rank = 0
    exact = False  # metrics commands (hru2net-evaluate) default to a float backend
    install_hint = "pip install onnxruntime paddle2onnx onnx ml_dtypes (or this package's [onnx] extra)"

    @staticmethod
    def installed() -> bool:
        return onnx_runtime_installed() and find_spec("onnx") is not None and find_spec("ml_dtypes") is not None

    @staticmethod
    def fast_here() -> bool:
        return cpu_has_int8_dot_product()

    def load(self, source: ModelSource) -> Segmenter:
        import os

        from paddleseg_hru2net.inference.export_cache import cached_int8
        model_path = cached_int8(source)  # inside the cached float export, beside its deploy.yaml
        return onnx_segmenter(model_path, os.path.dirname(model_path), self.name, source, keep_optimized=True)
