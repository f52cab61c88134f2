"""paddleseg-hru2net: HRU2-Net† and its TiO2 SEM workflow as a PaddleSeg plugin.

PaddleSeg has no plugin entry point, so components register when this package is imported:

    import paddleseg_hru2net  # registers HRU2Net, HRU2Netp, TiO2SEM, SeparationWeightedCrossEntropyLoss, ... in paddleseg's managers
    from paddleseg.cvlibs import Config, SegBuilder

Importing also applies the Paddle 3 compatibility fixes of :mod:`paddleseg_hru2net.compat`, each
only where the installed PaddleSeg has the defect.
"""
import warnings as _warnings

# Paddle warns at every import that ccache (a compiler cache for custom C++ ops) is missing.
_warnings.filterwarnings("ignore", message="No ccache found", category=UserWarning)

from paddleseg_hru2net import compat as _compat  # noqa: E402

_compat.apply_all()

from paddleseg_hru2net import datasets, losses, models, transforms  # noqa: E402  (registration)

__version__ = "0.2.0"
__all__ = ["datasets", "losses", "models", "transforms", "__version__"]
