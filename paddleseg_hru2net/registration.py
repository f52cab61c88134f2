"""Putting our components into PaddleSeg's managers - when PaddleSeg is in use, and only then.

PaddleSeg has no plugin entry point: a component exists for ``Config``/``SegBuilder`` once its
module has run ``@manager.MODELS.add_component``. Importing those modules imports Paddle and
PaddleSeg, about 3 s on a laptop-class CPU, which the analysis command running on ONNX Runtime
never needs. So :mod:`paddleseg_hru2net` registers

* at once, when PaddleSeg is imported already, or
* the moment PaddleSeg's import completes, through :class:`RegisterAfterPaddleSeg` on
  ``sys.meta_path``,

and ``import paddleseg_hru2net`` followed by ``from paddleseg.cvlibs import Config`` finds
``HRU2Netp`` as it always did. :func:`register` does it explicitly and is safe to call again.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType
from typing import List, Optional

__all__ = ["COMPONENT_MODULES", "register", "register_when_paddleseg_loads"]

#: The modules whose import registers our components (and, first, PaddleSeg's Paddle 3 fixes).
COMPONENT_MODULES: List[str] = ["paddleseg_hru2net.datasets", "paddleseg_hru2net.losses",
                                "paddleseg_hru2net.models", "paddleseg_hru2net.transforms"]

_TRIGGER = "paddleseg"


def register() -> None:
    """Apply the Paddle 3 fixes to PaddleSeg and register every component (idempotent)."""
    from paddleseg_hru2net import compat
    compat.apply_all()
    for name in COMPONENT_MODULES:
        importlib.import_module(name)


class _RegisteringLoader(importlib.abc.Loader):
    """PaddleSeg's own loader, followed by :func:`register` once PaddleSeg has fully run."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec):  # noqa: D102 - the wrapped loader's
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:  # noqa: D102
        self._loader.exec_module(module)
        register()

    def __getattr__(self, name: str):
        return getattr(self._loader, name)


class RegisterAfterPaddleSeg(importlib.abc.MetaPathFinder):
    """Finds ``paddleseg`` as usual and wraps its loader so :func:`register` runs after it."""

    def find_spec(self, fullname: str, path, target=None) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname != _TRIGGER:
            return None
        sys.meta_path.remove(self)  # once is enough, and find_spec below must not find us
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _RegisteringLoader(spec.loader)
        return spec


def register_when_paddleseg_loads() -> None:
    """Register now if PaddleSeg is loaded, else as soon as it is (at most one hook installed)."""
    if _TRIGGER in sys.modules:
        register()
    elif not any(isinstance(finder, RegisterAfterPaddleSeg) for finder in sys.meta_path):
        sys.meta_path.insert(0, RegisterAfterPaddleSeg())
