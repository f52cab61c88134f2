"""Weights shipped inside the package (``paddleseg_hru2net/weights/<name>/``).

Each folder holds ``model.pdparams``, the resolved ``config.yml`` it was trained with,
``train_meta.json`` (with the training crop size inference slides at) and ``MODEL_CARD.md``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

__all__ = ["ShippedModel", "shipped_model", "WEIGHTS_DIR", "DEFAULT_MODEL"]

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")
DEFAULT_MODEL = "hru2netp_tio2"


@dataclass(frozen=True)
class ShippedModel:
    name: str
    config: str
    weights: str
    model_card: str


def shipped_model(name: str = DEFAULT_MODEL) -> Optional[ShippedModel]:
    """The shipped model ``name``, or None if this install has no such weights."""
    folder = os.path.join(WEIGHTS_DIR, name)
    paths = {key: os.path.join(folder, file) for key, file in
             (("config", "config.yml"), ("weights", "model.pdparams"), ("model_card", "MODEL_CARD.md"))}
    if not all(os.path.isfile(path) for path in paths.values()):
        return None
    return ShippedModel(name=name, **paths)
