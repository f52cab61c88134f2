"""The ``TiO2SEM`` dataset: prepared SEM tiles (grey images, 0/1 particle labels) for PaddleSeg.

The folder layout is what ``hru2net-prepare-tio2`` and ``hru2net-synth`` write::

    dataset_root/
        images/...png        grey images
        labels/...png        class ids: 0 background, 1 particle, 255 ignore (edge padding)
        train.txt val.txt test.txt   "images/x.png labels/x.png" per line

Every label listed is checked when the dataset is built (see :mod:`.labels`), so a raw 0/255 mask
or a missing file stops training before it starts, with the file's name in the message.
"""
from __future__ import annotations

import os
from typing import List, Sequence

import numpy as np
from PIL import Image
from paddleseg.cvlibs import manager
from paddleseg.datasets import Dataset

from paddleseg_hru2net.errors import InputError
from paddleseg_hru2net.datasets.labels import LabelError, check_any_foreground, check_label_array

__all__ = ["TiO2SEM", "TiO2SEMRGB", "SEMParticleContacts", "SEMParticleCentres", "DatasetListError"]

LIST_FILES = {"train": "train.txt", "val": "val.txt", "test": "test.txt"}


class DatasetListError(InputError, FileNotFoundError):
    """A list file is missing or names a file that does not exist."""


def check_list_entries(file_list: Sequence[Sequence[str | None]], list_path: str) -> None:
    """Raise :class:`DatasetListError` naming the list, the line and the first missing file."""
    for line_number, (image_path, label_path) in enumerate(file_list, start=1):
        for path in (image_path, label_path):
            if path is not None and not os.path.isfile(path):
                raise DatasetListError(f"{list_path}, line {line_number}: {path} does not exist")


@manager.DATASETS.add_component
class TiO2SEM(Dataset):
    """Grey SEM tiles of nanoparticles with 0/1 particle labels (two classes).

    Args:
        dataset_root: folder with ``images/``, ``labels/`` and the list files.
        transforms: PaddleSeg transforms (``Normalize`` with one mean/std value for grey input).
        mode: ``train``, ``val`` or ``test``.
        list_path: a list file to use instead of ``dataset_root/<mode>.txt``.
        check_labels: read every label once and refuse values that are not class ids.
            Default True.
    """

    NUM_CLASSES = 2
    IGNORE_INDEX = 255
    IMG_CHANNELS = 1

    def __init__(self, dataset_root: str, transforms: list, mode: str = "train",
                 list_path: str | None = None, check_labels: bool = True):
        mode = mode.lower()
        if mode not in LIST_FILES:
            raise ValueError(f"mode must be one of {sorted(LIST_FILES)}, got {mode!r}")
        if not os.path.isdir(dataset_root):
            raise DatasetListError(f"dataset_root {dataset_root} is not a folder; prepare one with "
                                   f"hru2net-prepare-tio2 or hru2net-synth")
        list_path = list_path or os.path.join(dataset_root, LIST_FILES[mode])
        if not os.path.isfile(list_path):
            raise DatasetListError(f"{list_path}: list file not found")
        super().__init__(mode, dataset_root, transforms, num_classes=self.NUM_CLASSES,
                         img_channels=self.IMG_CHANNELS, ignore_index=self.IGNORE_INDEX,
                         **{f"{mode}_path": list_path})
        check_list_entries(self.file_list, list_path)
        if check_labels and mode != "test":
            self.label_values = self._check_labels(list_path)

    def _check_labels(self, list_path: str) -> List[np.ndarray]:
        values = []
        for _, label_path in self.file_list:
            with Image.open(label_path) as label:
                if label.mode not in ("L", "P", "1"):
                    raise LabelError(f"{label_path}: label mode {label.mode}; labels must be 8-bit "
                                     f"single-channel PNGs of class ids")
                array = np.asarray(label)
            values.append(check_label_array(array, self.NUM_CLASSES, self.IGNORE_INDEX, label_path))
        if self.mode == "train":
            check_any_foreground(values, self.NUM_CLASSES, list_path)
        return values


@manager.DATASETS.add_component
class TiO2SEMRGB(TiO2SEM):
    """:class:`TiO2SEM` read as 3-channel images (grey replicated), for models built for RGB."""

    IMG_CHANNELS = 3


@manager.DATASETS.add_component
class SEMParticleContacts(TiO2SEM):
    """Grey SEM/TEM images with the instance-aware three-class labels of
    :mod:`paddleseg_hru2net.datasets.instance_targets`: 0 background, 1 particle, 2 contact
    between touching particles (written by ``hru2net-prepare-tio2 --target contact`` and
    ``hru2net-prepare-generalist``)."""

    NUM_CLASSES = 3


@manager.DATASETS.add_component
class SEMParticleCentres(TiO2SEM):
    """:class:`SEMParticleContacts` with a fourth class, 3: each particle's centre (see
    :func:`~paddleseg_hru2net.datasets.instance_targets.centre_target`; written by
    ``hru2net-prepare-tio2 --target centre``)."""

    NUM_CLASSES = 4
