"""Label checks that make a silently wrong mask impossible.

PaddleSeg reads a label PNG's pixel values as class ids and treats 255 as "ignore". A particle
mask saved as 0/255 therefore trains on background only, without any error: every particle pixel
is ignored. :func:`check_label_array` refuses such masks, naming the file.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from paddleseg_hru2net.errors import InputError

__all__ = ["LabelError", "check_label_array", "is_edge_padding"]


class LabelError(InputError):
    """A label file holds something other than class ids (and edge padding marked ignore)."""


def is_edge_padding(ignored: np.ndarray) -> bool:
    """True if the ``ignored`` pixels are exactly whole trailing rows and/or trailing columns.

    That is how tiles are padded (bottom/right, labelled ignore); any other shape of ignored
    region is annotation, not padding.
    """
    rows = ignored.all(axis=1)
    cols = ignored.all(axis=0)
    bottom = len(rows) - np.argmin(rows[::-1]) if not rows.all() else len(rows)
    right = len(cols) - np.argmin(cols[::-1]) if not cols.all() else len(cols)
    padding = np.zeros_like(ignored)
    padding[bottom:, :] = True
    padding[:, right:] = True
    return bool(np.array_equal(padding, ignored))


def check_label_array(label: np.ndarray, num_classes: int, ignore_index: int = 255,
                      source: str = "<array>") -> np.ndarray:
    """Validate a label map and return the sorted values it holds.

    Raises:
        LabelError: values that are neither class ids ``0 .. num_classes-1`` nor ``ignore_index``;
            or an image that has ``ignore_index`` pixels but no foreground class outside edge
            padding, the signature of a raw 0/255 mask.
    """
    if label.ndim != 2:
        raise LabelError(f"{source}: a label must be a single-channel image, got shape {label.shape}")
    values = np.unique(label)
    allowed = set(range(num_classes)) | {ignore_index}
    bad = [int(v) for v in values if int(v) not in allowed]
    if bad:
        raise LabelError(
            f"{source}: label values {bad[:8]} are not class ids 0..{num_classes - 1} "
            f"(or {ignore_index} = ignore). Masks must hold class ids; convert a 0/255 particle "
            f"mask to 0/1 first (hru2net-prepare-tio2 does this).")
    has_foreground = any(0 < int(v) < num_classes for v in values)
    if ignore_index in values and not has_foreground and not is_edge_padding(label == ignore_index):
        raise LabelError(
            f"{source}: looks like a raw 0/{ignore_index} mask ({int((label == ignore_index).sum())} "
            f"pixels are {ignore_index}, none is a foreground class). PaddleSeg reads {ignore_index} "
            f"as 'ignore', so these particles would be dropped and the model would learn background "
            f"only. Convert the mask to class ids 0/1 (e.g. with hru2net-prepare-tio2).")
    return values


def check_any_foreground(values_per_file: Iterable[np.ndarray], num_classes: int, source: str) -> None:
    """Refuse a whole label set that holds no foreground class anywhere."""
    for values in values_per_file:
        if any(0 < int(v) < num_classes for v in values):
            return
    raise LabelError(f"{source}: no label file holds a foreground class (1..{num_classes - 1}); "
                     f"the model would learn background only. Check the masks' values.")
