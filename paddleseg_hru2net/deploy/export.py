"""Export a trained model to a static graph that Paddle Inference (and paddle2onnx) can load.

Two Paddle 3 behaviours that PaddleSeg 2.8's ``tools/export.py`` predates are handled here:

* ``paddle.jit.to_static`` ignores the input spec unless ``full_graph=True`` (so we pass it);
* ``paddle.jit.save`` writes ``model.json`` under the PIR program format, ``model.pdmodel`` under
  the old one; PaddleSeg's ``deploy.yaml`` always names ``model.pdmodel``. We name the file that
  was actually written.
"""
from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence

import paddle
import paddle.nn as nn
import yaml

from paddleseg_hru2net.files import write_text

__all__ = ["InferenceHead", "export_static", "export_for_inference", "OUTPUT_OPS"]

OUTPUT_OPS = ("argmax", "softmax", "none")
MODEL_PREFIX = "model"
PROGRAM_SUFFIXES = (".json", ".pdmodel")  # PIR first, then the legacy ProgramDesc


class InferenceHead(nn.Layer):
    """The model's main output turned into what deployment wants.

    ``argmax``: class ids, int32, shape ``(N, 1, H, W)``; ``softmax``: probabilities; ``none``:
    logits. PaddleSeg models return a list whose first element is the main logits.
    """

    def __init__(self, model: nn.Layer, output_op: str = "argmax"):
        super().__init__()
        if output_op not in OUTPUT_OPS:
            raise ValueError(f"output_op must be one of {OUTPUT_OPS}, got {output_op!r}")
        self.model = model
        self.output_op = output_op

    def forward(self, x):
        logits = self.model(x)
        if isinstance(logits, (list, tuple)):
            logits = logits[0]
        if self.output_op == "argmax":
            return paddle.argmax(logits, axis=1, keepdim=True).astype("int32")
        if self.output_op == "softmax":
            return paddle.nn.functional.softmax(logits, axis=1)
        return logits


def _written_program(save_dir: str) -> str:
    for suffix in PROGRAM_SUFFIXES:
        name = MODEL_PREFIX + suffix
        if os.path.isfile(os.path.join(save_dir, name)):
            return name
    raise FileNotFoundError(f"paddle.jit.save wrote no program file ({', '.join(PROGRAM_SUFFIXES)}) "
                            f"in {save_dir}")


def export_static(model: nn.Layer, save_dir: str, in_channels: int,
                  input_shape: Optional[Sequence[int]] = None, output_op: str = "argmax",
                  transforms: Optional[List[dict]] = None,
                  extra: Optional[Dict[str, object]] = None) -> Dict[str, str]:
    """Save ``model`` as a static graph plus a ``deploy.yaml`` that names its files.

    Args:
        model: a dygraph model (put in eval mode here).
        save_dir: output folder.
        in_channels: image channels, used when ``input_shape`` is not given.
        input_shape: fixed ``[N, C, H, W]``; default ``[-1, C, -1, -1]`` (any batch and size).
        output_op: ``argmax``, ``softmax`` or ``none``.
        transforms: the config's ``val_dataset.transforms``, recorded for preprocessing.
        extra: more keys for the ``Deploy`` section (e.g. the training crop size).

    Returns:
        Paths of the program, the parameters and ``deploy.yaml``.
    """
    model.eval()
    head = InferenceHead(model, output_op)
    head.eval()
    shape = list(input_shape) if input_shape else [None, in_channels, None, None]
    shape = [None if (v is None or int(v) < 0) else int(v) for v in shape]
    spec = [paddle.static.InputSpec(shape=shape, dtype="float32", name="x")]
    static_head = paddle.jit.to_static(head, input_spec=spec, full_graph=True)
    os.makedirs(save_dir, exist_ok=True)
    paddle.jit.save(static_head, os.path.join(save_dir, MODEL_PREFIX))

    program = _written_program(save_dir)
    deploy = {
        "model": program,
        "params": MODEL_PREFIX + ".pdiparams",
        "transforms": transforms or [],
        "input_shape": [-1 if v is None else v for v in shape],
        "output_op": output_op,
        "output_dtype": "int32" if output_op == "argmax" else "float32",
    }
    deploy.update(extra or {})
    deploy_path = os.path.join(save_dir, "deploy.yaml")
    write_text(deploy_path, yaml.safe_dump({"Deploy": deploy}, sort_keys=False))
    return {"program": os.path.join(save_dir, program),
            "params": os.path.join(save_dir, deploy["params"]), "deploy": deploy_path}


def export_for_inference(network, save_dir: str, onnx: bool = False) -> Dict[str, str]:
    """Export a :class:`~paddleseg_hru2net.inference.paddle_model.PaddleNetwork` for the
    backends: raw class scores (``output_op: none``, windows are blended as scores), any batch
    and size, and its :class:`~paddleseg_hru2net.inference.feed.Feed` in ``deploy.yaml``; with
    ``onnx`` also ``model.onnx``."""
    written = export_static(network.layer, save_dir, network.feed.channels, output_op="none",
                            transforms=network.config.val_dataset_cfg.get("transforms"),
                            extra={"feed": network.feed.as_dict(), "model_type": network.name,
                                   **({"train_crop_size": network.record["train_crop_size"]}
                                      if network.record.get("train_crop_size") else {})})
    if onnx:
        from paddleseg_hru2net.deploy.onnx import export_onnx
        written["onnx"] = export_onnx(save_dir)
    return written
