"""Backends that run a model, registered like PaddleSeg's components.

A backend is one module with one class decorated by :func:`register_backend`: a ``name``, a
``rank`` (lower is faster on a CPU; the fastest installed backend is the default), an
``install_hint`` and two methods, ``installed()`` and ``load(source)`` returning a
:class:`~paddleseg_hru2net.inference.segmenter.Segmenter`; optionally ``fast_here()``, False when
this machine lacks what makes the backend fast (it is then never the default), and ``exact``,
False for a backend that trades accuracy for speed (int8), which commands that report metrics
do not pick by default. Backend modules import their runtime
inside ``load`` only, so listing the backends costs nothing.

    from paddleseg_hru2net.inference import load_segmenter
    segmenter = load_segmenter()                      # shipped model, fastest backend installed
    probabilities = segmenter.probabilities(grey)     # (K, H, W)
"""
from __future__ import annotations

import sys
from typing import Dict, List, Optional, Sequence

from paddleseg_hru2net.errors import InputError
from paddleseg_hru2net.inference.segmenter import Segmenter
from paddleseg_hru2net.inference.source import ModelSource

__all__ = ["BACKENDS", "register_backend", "backend_names", "installed_backends",
           "default_backend", "load_segmenter"]

BACKENDS: Dict[str, object] = {}


def register_backend(cls):
    """Class decorator: add a backend (an instance of ``cls``) to :data:`BACKENDS`."""
    instance = cls()
    if instance.name in BACKENDS:
        raise ValueError(f"a backend named {instance.name!r} is registered already")
    BACKENDS[instance.name] = instance
    return cls


def backend_names() -> List[str]:
    """Every registered backend, fastest first."""
    return sorted(BACKENDS, key=lambda name: BACKENDS[name].rank)


def installed_backends() -> List[str]:
    """The registered backends whose runtime is installed, fastest first."""
    return [name for name in backend_names() if BACKENDS[name].installed()]


def _fast_here(name: str) -> bool:
    fast_here = getattr(BACKENDS[name], "fast_here", None)
    return fast_here() if fast_here is not None else True


def _candidate(name: str, exact: bool) -> bool:
    return _fast_here(name) and (getattr(BACKENDS[name], "exact", True) or not exact)


def default_backend(announce: bool = True, exact: bool = False) -> str:
    """The fastest installed backend that is fast on this machine (and computes in float, if
    ``exact``); says once on stderr when it is not the fastest one registered."""
    installed = [name for name in installed_backends() if _candidate(name, exact)]
    if not installed:
        raise InputError("no backend is installed: pip install paddlepaddle (or onnxruntime)")
    fastest = [name for name in backend_names() if _candidate(name, exact)][0]
    if installed[0] != fastest and announce:
        print(f"note: {fastest} is not installed, so the model runs on {installed[0]} (slower); "
              f"{BACKENDS[fastest].install_hint}", file=sys.stderr)
    return installed[0]


def load_segmenter(source: Optional[ModelSource] = None, backend: Optional[str] = None,
                   window: Optional[Sequence[int]] = None, exact: bool = False) -> Segmenter:
    """The model of ``source`` (default: the shipped model) run by ``backend`` (default: the
    fastest installed; the fastest computing in float if ``exact``), sliding ``window``
    (default: the one stored with the weights)."""
    from paddleseg_hru2net.inference.source import resolve_source
    source = source or resolve_source(announce=False)
    name = backend or default_backend(exact=exact)
    if name not in BACKENDS:
        raise InputError(f"unknown backend {name!r}; registered: {', '.join(backend_names())}")
    chosen = BACKENDS[name]
    if not chosen.installed():
        raise InputError(f"backend {name} is not installed: {chosen.install_hint}")
    return chosen.load(source).with_window(window)


# The built-in backends register themselves on import.
from paddleseg_hru2net.inference.backends import (onnx_runtime, onnx_runtime_int8, paddle_dynamic,  # noqa: E402,F401
                                                  paddle_inference)
