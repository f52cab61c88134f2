"""Datasets (registered in ``paddleseg.cvlibs.manager.DATASETS``) and data preparation."""
from paddleseg_hru2net.datasets.labels import LabelError, check_label_array
from paddleseg_hru2net.datasets.tio2 import TiO2SEM

__all__ = ["LabelError", "TiO2SEM", "check_label_array"]
