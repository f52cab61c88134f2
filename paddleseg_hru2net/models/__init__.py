"""Segmentation models this plugin registers in ``paddleseg.cvlibs.manager.MODELS``."""
from paddleseg_hru2net.models.hru2net import HRU2Net, HRU2Netp, RSU, UMSIF

__all__ = ["HRU2Net", "HRU2Netp", "RSU", "UMSIF"]
