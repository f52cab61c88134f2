"""Reading microscope images and writing files so that nothing is ever half-written."""
from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Union

import numpy as np
from PIL import Image, UnidentifiedImageError

__all__ = ["ImageReadError", "read_grey", "atomic_path", "write_png", "write_text", "write_json"]

PathLike = Union[str, os.PathLike]


class ImageReadError(ValueError):
    """An image file is missing, unreadable or of an unsupported kind."""


def read_grey(path: PathLike) -> np.ndarray:
    """Read an image as a 2-D grey array, keeping 16-bit depth (uint8 or uint16).

    Palette images are converted through their palette (the TiO2 release stores grey values in
    palette TIFFs); RGB(A) is converted to luminance.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"{path}: no such file")
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("I;16", "I;16B", "I;16L", "I"):
                array = np.asarray(image).astype(np.uint16 if image.mode != "I" else np.int64)
                if array.dtype == np.int64:
                    array = np.clip(array, 0, 65535).astype(np.uint16)
                return array
            if image.mode == "F":
                raise ImageReadError(f"{path}: floating-point images are not supported; save as 8- or 16-bit")
            return np.asarray(image.convert("L"))
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ImageReadError(f"{path}: cannot read image ({error})") from error


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, 0o666 & ~_current_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def write_png(path: PathLike, array: np.ndarray) -> None:
    """Write an image array as PNG atomically."""
    with atomic_path(path) as temporary:
        Image.fromarray(array).save(temporary, format="PNG")


def write_text(path: PathLike, text: str) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(text)


def write_json(path: PathLike, data: object) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
