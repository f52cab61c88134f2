"""Exported models built once per weights and kept in a user cache folder.

``hru2net analyze`` runs the fastest installed backend; ONNX Runtime and Paddle Inference need an
exported model, which is built here from the config and weights the first time they are used
and then reused. The cache key is a hash of the weights' bytes, the config's text, the run
record, this package's version and the exporter versions, so new weights (or a new exporter)
never meet a stale export. An export is written into a temporary folder and renamed into place
only when it is complete; the int8 model (:func:`cached_int8`) is added to the same folder the
first time it is asked for, under a name that carries its calibration recipe.

The folder is ``$HRU2NET_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/paddleseg_hru2net``, else
``~/.cache/paddleseg_hru2net``.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from importlib import metadata
from paddleseg_hru2net.errors import InputError
from paddleseg_hru2net.inference.source import ModelSource

__all__ = ["cache_root", "export_key", "cached_export", "cached_int8"]

CACHE_ENV = "HRU2NET_CACHE_DIR"


def cache_root() -> str:
    """The cache folder (see the module docstring)."""
    if os.environ.get(CACHE_ENV):
        return os.path.abspath(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "paddleseg_hru2net")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "-"


def export_key(source: ModelSource, onnx: bool) -> str:
    """Hash of everything an export depends on."""
    from paddleseg_hru2net.run_records import record_path
    digest = hashlib.sha256()
    for path in (source.weights, source.config, record_path(source.weights)):
        if path and os.path.isfile(path):
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        digest.update(b"\0")
    for package in ("paddleseg-hru2net", "paddlepaddle", "paddlepaddle-gpu", "paddle2onnx", "onnxruntime"):
        digest.update(f"{package}={_version(package)};".encode())
    digest.update(b"onnx" if onnx else b"static")
    return digest.hexdigest()[:20]


def _complete(folder: str, onnx: bool) -> bool:
    from paddleseg_hru2net.deploy.deploy_config import read_deploy_config
    try:
        deploy = read_deploy_config(folder)
    except (FileNotFoundError, ValueError, OSError):
        return False
    return not onnx or os.path.isfile(os.path.join(folder, deploy.get("onnx", "model.onnx")))


def cached_export(source: ModelSource, onnx: bool = True, announce: bool = True) -> str:
    """The exported folder of ``source`` (config + weights), building it on first use."""
    if source.exported is not None:
        return source.exported
    if source.weights is None or not os.path.isfile(source.weights):
        raise InputError(f"model weights {source.weights} do not exist")
    root = os.path.join(cache_root(), "exported")
    folder = os.path.join(root, export_key(source, onnx))
    if _complete(folder, onnx):
        return folder
    try:
        os.makedirs(root, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=".export-", dir=root)
    except OSError as error:
        raise InputError(f"cannot write the model cache {root} ({error.strerror}); set "
                         f"{CACHE_ENV} to a writable folder") from error
    try:
        if announce:
            print(f"exporting {source.describe()} for the fast backend once (cached in {root})",
                  file=sys.stderr)
        from paddleseg_hru2net.files import captured_output
        from paddleseg_hru2net.inference.paddle_model import load_network
        failure = None
        with captured_output() as log:  # PaddleSeg's, Paddle's and paddle2onnx's chatter
            try:
                network = load_network(source)
                from paddleseg_hru2net.deploy.export import export_for_inference
                export_for_inference(network, staging, onnx=onnx)
            except Exception as error:  # shown with the exporters' output below
                failure = error
        if isinstance(failure, InputError):  # a bad config or weights: the user's to fix
            raise failure
        if failure is not None:
            raise RuntimeError(f"exporting {source.describe()} failed: {failure}\n{log.read()[-3000:]}") from failure
        if os.path.isdir(folder):  # a broken earlier export, or another process was faster
            if _complete(folder, onnx):
                return folder
            shutil.rmtree(folder, ignore_errors=True)
        os.replace(staging, folder)
    finally:
        if os.path.isdir(staging):
            shutil.rmtree(staging, ignore_errors=True)
    return folder


def cached_int8(source: ModelSource, announce: bool = True) -> str:
    """The int8 ONNX model of ``source``, quantised from its cached float export on first use."""
    from paddleseg_hru2net.deploy.deploy_config import feed_from_deploy, read_deploy_config
    from paddleseg_hru2net.deploy.quantize import CALIBRATION_RECIPE, quantize_int8
    folder = cached_export(source, onnx=True, announce=announce)
    recipe = hashlib.sha256(CALIBRATION_RECIPE.encode()).hexdigest()[:8]
    int8_path = os.path.join(folder, f"model_int8_{recipe}.onnx")
    if os.path.isfile(int8_path):
        return int8_path
    deploy = read_deploy_config(folder)
    if announce:
        print(f"quantising {source.describe()} to int8 once (calibrated on synthetic SEM images)",
              file=sys.stderr)
    try:
        quantize_int8(os.path.join(folder, deploy.get("onnx", "model.onnx")), int8_path,
                      feed_from_deploy(deploy, folder))
    except OSError as error:
        raise InputError(f"cannot write the model cache {folder} ({error.strerror}); set "
                         f"{CACHE_ENV} to a writable folder") from error
    return int8_path
