"""Writing a dataset folder in PaddleSeg's layout (images/, labels/, train/val/test lists)."""
from __future__ import annotations

import os
from typing import Dict, List, Sequence, Tuple

import numpy as np

from paddleseg_hru2net.files import write_png, write_text

__all__ = ["write_sample", "write_lists", "SPLITS"]

SPLITS = ("train", "val", "test")
Pair = Tuple[str, str]


def write_sample(root: str, name: str, image: np.ndarray, label: np.ndarray) -> Pair:
    """Write ``images/<name>.png`` and ``labels/<name>.png``; return their paths relative to root."""
    image_rel = f"images/{name}.png"
    label_rel = f"labels/{name}.png"
    write_png(os.path.join(root, image_rel), image)
    write_png(os.path.join(root, label_rel), label.astype(np.uint8))
    return image_rel, label_rel


def write_lists(root: str, splits: Dict[str, Sequence[Pair]]) -> Dict[str, str]:
    """Write ``<split>.txt`` for every split (empty splits get an empty file)."""
    written = {}
    for split in SPLITS:
        pairs: List[Pair] = list(splits.get(split, []))
        path = os.path.join(root, f"{split}.txt")
        write_text(path, "".join(f"{image} {label}\n" for image, label in pairs))
        written[split] = path
    return written
