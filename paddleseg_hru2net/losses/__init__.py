"""Losses registered in PaddleSeg's ``manager.LOSSES`` on import."""
from paddleseg_hru2net.losses.separation import SeparationWeightedCrossEntropyLoss, separation_gaps

__all__ = ["SeparationWeightedCrossEntropyLoss", "separation_gaps"]
