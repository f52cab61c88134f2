"""Writing a dataset folder in PaddleSeg's layout (images/, labels/, train/val/test lists)."""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from typing import Iterator
from typing import Dict, List, Sequence, Tuple

import numpy as np

from paddleseg_hru2net.files import write_png, write_text

__all__ = ["write_sample", "write_lists", "staging_folder", "publish_folder", "staged_folder", "SPLITS"]

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


def staging_folder(out_dir: str, overwrite: bool, error: type = FileExistsError) -> str:
    """A fresh hidden folder beside ``out_dir`` to write a dataset into before publishing it.

    Raises ``error`` if ``out_dir`` exists and ``overwrite`` is false.
    """
    if os.path.exists(out_dir) and not overwrite:
        raise error(f"{out_dir} exists; pass --overwrite to replace it")
    parent = os.path.dirname(os.path.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    return tempfile.mkdtemp(prefix=f".{os.path.basename(out_dir)}.", dir=parent)


def publish_folder(staging: str, out_dir: str) -> None:
    """Put a complete staging folder in the place of ``out_dir`` (replacing an old one)."""
    if os.path.exists(out_dir):
        shutil.rmtree(out_dir)
    os.replace(staging, out_dir)


@contextmanager
def staged_folder(out_dir: str, overwrite: bool, error: type = FileExistsError) -> Iterator[str]:
    """Yield a staging folder for ``out_dir``; publish it when the block succeeds, remove it
    when it fails, so ``out_dir`` is either complete or untouched."""
    staging = staging_folder(out_dir, overwrite, error)
    try:
        yield staging
        publish_folder(staging, out_dir)
    finally:
        if os.path.exists(staging):
            shutil.rmtree(staging)
