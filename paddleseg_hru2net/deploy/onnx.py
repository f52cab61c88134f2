"""ONNX export (paddle2onnx) of an exported static model (run by the ``onnxruntime`` backend).

ONNX Runtime runs the exported U2-Net family on a CPU about ten times faster than Paddle
Inference with oneDNN off (the only way Paddle 3.3.1 runs these PIR programs on CPU).

paddle2onnx 2.1's default optimiser (Polygraphy) sets POLYGRAPHY_AUTOINSTALL_DEPS=1 and pip-installs
onnx_graphsurgeon at run time, which pulls ml-dtypes 0.6 (numpy>=2) into a numpy-1 environment,
and its onnxoptimizer pass list names a pass onnxoptimizer does not know; so no optimiser runs
here (ONNX Runtime optimises the graph when it loads it). paddle2onnx's own printing (from C++)
is kept out of the user's terminal and shown only if the conversion fails.
"""
from __future__ import annotations

import os

from paddleseg_hru2net.deploy.deploy_config import read_deploy_config
from paddleseg_hru2net.files import atomic_path, captured_output, write_text

__all__ = ["export_onnx", "ONNX_FILE"]

ONNX_FILE = "model.onnx"


def export_onnx(deploy_dir: str, opset_version: int = 13) -> str:
    """Convert the static model of ``deploy_dir`` to ``deploy_dir/model.onnx``; returns its path."""
    import paddle2onnx
    import yaml

    deploy = read_deploy_config(deploy_dir)
    target = os.path.join(deploy_dir, ONNX_FILE)
    with atomic_path(target) as temporary:
        failure = None
        with captured_output() as log:
            try:
                paddle2onnx.export(os.path.join(deploy_dir, deploy["model"]),
                                   os.path.join(deploy_dir, deploy["params"]), str(temporary),
                                   opset_version=opset_version, enable_onnx_checker=True,
                                   optimize_tool="none")
            except Exception as error:  # paddle2onnx raises bare Exceptions
                failure = error
        if failure is not None:
            raise RuntimeError(f"paddle2onnx failed on {deploy_dir}: {failure}\n{log.read()[-2000:]}") from failure
    deploy["onnx"] = ONNX_FILE
    write_text(os.path.join(deploy_dir, "deploy.yaml"), yaml.safe_dump({"Deploy": deploy}, sort_keys=False))
    return target
