"""ONNX Runtime on the CPU, float32: about 6x Paddle dynamic on HRU2-Net† here."""
from __future__ import annotations

import os
from importlib.util import find_spec
from typing import List, Optional

import numpy as np

from paddleseg_hru2net.errors import InputError
from paddleseg_hru2net.inference.backends import register_backend
from paddleseg_hru2net.inference.segmenter import Segmenter
from paddleseg_hru2net.inference.source import ModelSource

__all__ = ["OnnxRuntimeBackend", "onnx_session", "onnx_segmenter", "onnx_runtime_installed", "cpu_flags",
           "machine_tag"]

#: ONNX Runtime's log level for errors only: its graph optimiser otherwise prints a warning per
#: initializer it folds ("Removing initializer ...", about 112 for HRU2-Net†).
_ERRORS_ONLY = 3


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> List[str]:
    """The CPU's instruction-set flags as Linux lists them ([] where that cannot be read)."""
    try:
        with open(cpuinfo) as handle:
            line = next((line for line in handle if line.startswith("flags")), "")
    except OSError:
        return []
    return line.partition(":")[2].split()


def machine_tag() -> str:
    """A short tag of this CPU (architecture and instruction-set flags): a graph ONNX Runtime
    optimised here may use kernels (NCHWc layouts) that only this kind of CPU runs."""
    import hashlib
    import platform
    flags = " ".join(cpu_flags())
    return hashlib.sha256(f"{platform.machine()}|{platform.processor()}|{flags}".encode()).hexdigest()[:8]


def onnx_session(path: str, threads: int = 0, optimized_path: Optional[str] = None):
    """A quiet CPU inference session on ``path`` using ``threads`` cores (0: all).

    With ``optimized_path`` (a file in the model cache), the graph optimised for this CPU is
    saved there the first time and loaded as it is afterwards (0.04 s instead of 0.2 s for the
    int8 HRU2-Net†)."""
    import onnxruntime
    onnxruntime.set_default_logger_severity(_ERRORS_ONLY)
    if optimized_path and os.path.isfile(optimized_path):
        try:
            return _session(onnxruntime, optimized_path, threads, optimize=False)
        except Exception:  # a damaged saved graph: optimise the model again below
            pass
    if not optimized_path:
        return _session(onnxruntime, path, threads, optimize=True)
    staging = f"{optimized_path}.{os.getpid()}.tmp"
    session = _session(onnxruntime, path, threads, optimize=True, save_to=staging)
    try:
        os.replace(staging, optimized_path)
    except OSError:  # a read-only cache: the session works all the same
        pass
    return session


def _session(onnxruntime, path: str, threads: int, optimize: bool, save_to: Optional[str] = None):
    options = onnxruntime.SessionOptions()
    options.log_severity_level = _ERRORS_ONLY
    options.intra_op_num_threads = threads or (os.cpu_count() or 1)
    options.graph_optimization_level = (onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL if optimize
                                        else onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL)
    if save_to:
        options.optimized_model_filepath = save_to
    try:
        return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own exception types for bad files
        raise InputError(f"{path}: ONNX Runtime cannot load this model ({str(error).splitlines()[0][:200]}); "
                         f"export it again or delete the cached copy") from error


def onnx_runtime_installed() -> bool:
    """ONNX Runtime to run, paddle2onnx to export our weights for it."""
    return find_spec("onnxruntime") is not None and find_spec("paddle2onnx") is not None


def onnx_segmenter(model_path: str, folder: str, backend: str, source: ModelSource,
                   keep_optimized: bool = False) -> Segmenter:
    """A :class:`Segmenter` running the ONNX model ``model_path``, fed as ``folder``'s
    ``deploy.yaml`` says; ``keep_optimized`` (for models in the cache) saves the graph optimised
    for this CPU beside the model."""
    from paddleseg_hru2net.deploy.deploy_config import feed_from_deploy, read_deploy_config
    if not os.path.isfile(model_path):
        raise InputError(f"{model_path} not found: export with hru2net-export --output_op none --onnx")
    optimized = f"{os.path.splitext(model_path)[0]}.optimized-{machine_tag()}.ort.onnx" if keep_optimized else None
    session = onnx_session(model_path, optimized_path=optimized)
    input_name = session.get_inputs()[0].name

    def run(batch: np.ndarray) -> np.ndarray:
        return session.run(None, {input_name: batch})[0]

    return Segmenter(run, feed_from_deploy(read_deploy_config(folder), folder), backend, source)


@register_backend
class OnnxRuntimeBackend:
    name = "onnxruntime"
    rank = 1
    install_hint = "pip install onnxruntime paddle2onnx (or this package's [onnx] extra)"

    @staticmethod
    def installed() -> bool:
        return onnx_runtime_installed()

    def load(self, source: ModelSource) -> Segmenter:
        from paddleseg_hru2net.deploy.deploy_config import read_deploy_config
        from paddleseg_hru2net.inference.export_cache import cached_export
        folder = cached_export(source, onnx=True)
        model_path = os.path.join(folder, read_deploy_config(folder).get("onnx", "model.onnx"))
        return onnx_segmenter(model_path, folder, self.name, source, keep_optimized=source.exported is None)
