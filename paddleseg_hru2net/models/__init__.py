"""Segmentation models this plugin registers in ``paddleseg.cvlibs.manager.MODELS`` (and
backbones in ``manager.BACKBONES``)."""
from paddleseg_hru2net.models.efficientformerv2 import (EfficientFormerSeg, EfficientFormerV2,
                                                        EfficientFormerV2_S0, EfficientFormerV2_S1)
from paddleseg_hru2net.models.hru2net import HRU2Net, HRU2Netp, RSU, UMSIF
from paddleseg_hru2net.models.swinunet import SwinUnet

__all__ = ["HRU2Net", "HRU2Netp", "RSU", "UMSIF", "EfficientFormerSeg", "EfficientFormerV2",
           "EfficientFormerV2_S0", "EfficientFormerV2_S1", "SwinUnet"]
