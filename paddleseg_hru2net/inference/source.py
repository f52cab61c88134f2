"""Where a model comes from: a config and trained weights, an exported folder, or shipped weights.

Shipped weights live in ``paddleseg_hru2net/weights/<name>/`` (``model.pdparams``, the resolved
``config.yml`` it was trained with, ``train_meta.json`` and ``MODEL_CARD.md``).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import List, Optional

from paddleseg_hru2net.errors import InputError

__all__ = ["ModelSource", "WEIGHTS_DIR", "DEFAULT_MODEL", "PAPER_MODEL", "GENERALIST_MODEL",
           "AUTO_MODEL", "shipped_names", "shipped_source", "resolve_source", "auto_choice_available"]

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "weights")
#: The two-class HRU2-Net† of the paper, trained on TiO2 at 160 px crops.
PAPER_MODEL = "hru2netp_tio2"
#: What the commands use when no model is named: the instance-aware HRU2-Net† for TiO2 SEM.
DEFAULT_MODEL = "hru2netp_contact_tio2"
#: The instance-aware HRU2-Net† trained on TiO2 SEM, EMPS (SEM and TEM of many materials) and
#: synthetic images: for images unlike the specialist's.
GENERALIST_MODEL = "hru2netp_contact_generalist"
#: Not a model: the specialist where it is at home, else the generalist, per image
#: (:mod:`paddleseg_hru2net.analysis.model_choice`); ``hru2net analyze``'s default when both ship.
AUTO_MODEL = "auto"
_SHIPPED_FILES = {"config": "config.yml", "weights": "model.pdparams", "model_card": "MODEL_CARD.md"}


@dataclass(frozen=True)
class ModelSource:
    """A model's files: ``config`` + ``weights`` (a training run), or ``exported`` (a folder
    written by ``hru2net-export``); ``name`` is the shipped model's name, if it is one."""

    config: Optional[str] = None
    weights: Optional[str] = None
    exported: Optional[str] = None
    name: Optional[str] = None

    def describe(self) -> str:
        if self.name:
            return f"shipped model {self.name}"
        return self.weights or self.exported or "?"


def shipped_names() -> List[str]:
    """Names of the models shipped with this install."""
    if not os.path.isdir(WEIGHTS_DIR):
        return []
    return sorted(n for n in os.listdir(WEIGHTS_DIR)
                  if all(os.path.isfile(os.path.join(WEIGHTS_DIR, n, f)) for f in _SHIPPED_FILES.values()))


def auto_choice_available() -> bool:
    """Whether both models of the automatic choice ship with this install."""
    return {DEFAULT_MODEL, GENERALIST_MODEL} <= set(shipped_names())


def shipped_source(name: str = DEFAULT_MODEL) -> ModelSource:
    """The shipped model ``name``; :class:`InputError` listing the others if there is none."""
    if name not in shipped_names():
        raise InputError(f"no shipped model named {name!r}; this install has "
                         f"{', '.join(shipped_names()) or 'none'}")
    folder = os.path.join(WEIGHTS_DIR, name)
    return ModelSource(config=os.path.join(folder, _SHIPPED_FILES["config"]),
                       weights=os.path.join(folder, _SHIPPED_FILES["weights"]), name=name)


def resolve_source(config: Optional[str] = None, weights: Optional[str] = None,
                   exported: Optional[str] = None, model: Optional[str] = None,
                   announce: bool = True) -> ModelSource:
    """The model a command means: an exported folder, the given config + weights, or a shipped
    model (``model``, else the default) where no weights are given."""
    if exported is not None:
        if weights is not None or model is not None:
            raise InputError("give either an exported folder (--deploy_dir) or weights "
                             "(--model_path / --model), not both")
        return ModelSource(exported=exported)
    if weights is not None:
        if model is not None:
            raise InputError("give either --model (a shipped model) or --model_path, not both")
        if config is None:
            raise InputError(f"--model_path {weights} needs --config, the config it was trained with")
        return ModelSource(config=config, weights=weights)
    source = shipped_source(model or DEFAULT_MODEL)
    if config is not None:
        source = ModelSource(config=config, weights=source.weights, name=source.name)
    if announce:
        print(f"using the {source.describe()} ({source.weights})", file=sys.stderr)
    return source
