"""paddleseg-hru2net: HRU2-Net† and its TiO2 SEM workflow as a PaddleSeg plugin.

PaddleSeg has no plugin entry point, so our components (HRU2Net, HRU2Netp, TiO2SEM,
SeparationWeightedCrossEntropyLoss, ...) join its managers when this package is imported:

    import paddleseg_hru2net
    from paddleseg.cvlibs import Config, SegBuilder   # finds type: HRU2Netp

Registration (and the Paddle 3 fixes of :mod:`paddleseg_hru2net.compat`, each only where the
installed PaddleSeg has the defect) happens as soon as PaddleSeg is loaded - at once if it is
already, else when it is imported (:mod:`paddleseg_hru2net.registration`) - so the parts that
need no Paddle, such as analysis on ONNX Runtime, do not pay for importing it.
"""
import importlib as _importlib
import warnings as _warnings

from paddleseg_hru2net.registration import COMPONENT_MODULES, register, register_when_paddleseg_loads

# Paddle warns at every import that ccache (a compiler cache for custom C++ ops) is missing.
_warnings.filterwarnings("ignore", message="No ccache found", category=UserWarning)

register_when_paddleseg_loads()

__version__ = "0.2.0"
__all__ = [module.rpartition(".")[2] for module in COMPONENT_MODULES] + ["register", "__version__"]


def __getattr__(name: str):
    """``paddleseg_hru2net.models`` and its siblings load (and register) on first use."""
    if f"{__name__}.{name}" in COMPONENT_MODULES:
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
