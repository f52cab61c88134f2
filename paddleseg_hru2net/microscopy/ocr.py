"""Words printed in an image, read by Tesseract OCR.

Tesseract is called as a program (``tesseract``, an apt package that
``scripts/install_system_packages.sh`` installs), so no Python binding is needed; without it
no words are read and callers fall back (no pixel size from the scale bar, no text left out).
It runs with one OpenMP thread (``OMP_THREAD_LIMIT=1``, unless the environment sets another
limit): on this project's 2-core machines its default threads made it 2.1 times slower on 22
microscope images, the words read the same (``tools/experiments/ocr_threads.py``, twenty-eighth
session).
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import List

import numpy as np

__all__ = ["Word", "tesseract_available", "ocr_words"]

#: The OpenMP threads Tesseract runs with where the environment does not say.
OCR_THREADS = "1"

#: How Tesseract is called: the PNG on standard input, sparse text (words anywhere), TSV out.
TESSERACT_COMMAND = ("tesseract", "stdin", "stdout", "--psm", "11", "tsv")

#: Seconds Tesseract may take on one image; a page of texture can keep it busy far longer than
#: real text does (16.6 s for the slowest of the 366 EMPS training images, 0.78 s the median:
#: ``tools/experiments/text_words.py``).
OCR_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Word:
    """A word read by OCR, its box in the pixels of the image read, and Tesseract's confidence
    in it (0-100)."""

    text: str
    left: int
    top: int
    width: int
    height: int
    confidence: float = 100.0


def tesseract_available() -> bool:
    return shutil.which("tesseract") is not None


def _enlarged(grey: np.ndarray, enlarge: int, smooth: bool) -> np.ndarray:
    if enlarge <= 1:
        return np.asarray(grey, np.uint8)
    if smooth:
        import cv2
        return cv2.resize(np.asarray(grey, np.uint8), None, fx=enlarge, fy=enlarge, interpolation=cv2.INTER_CUBIC)
    return np.kron(grey, np.ones((enlarge, enlarge), np.uint8))


def ocr_words(grey: np.ndarray, enlarge: int = 1, smooth: bool = False) -> List[Word]:
    """The words of a grey image by Tesseract (sparse text: words anywhere, in any order), boxes
    in ``grey``'s pixels; ``enlarge`` > 1 reads the image enlarged that many times (small text,
    such as a data bar's), by repeating pixels or, if ``smooth``, by cubic interpolation (each
    reads some words the other misses). Empty without Tesseract, or where it fails or times out."""
    if not tesseract_available():
        return []
    from PIL import Image
    read = _enlarged(grey, enlarge, smooth)
    png = io.BytesIO()
    Image.fromarray(read).save(png, format="PNG")
    try:
        done = subprocess.run(list(TESSERACT_COMMAND), input=png.getvalue(),
                              capture_output=True, timeout=OCR_TIMEOUT_SECONDS,
                              env={"OMP_THREAD_LIMIT": OCR_THREADS, **os.environ})
    except subprocess.TimeoutExpired:
        return []
    if done.returncode != 0:
        return []
    return _words_of_tsv(done.stdout.decode("utf-8", "replace"), enlarge)


def _words_of_tsv(tsv: str, enlarge: int) -> List[Word]:
    words = []
    for line in tsv.splitlines()[1:]:
        fields = line.split("\t")
        if len(fields) == 12 and fields[11].strip():
            left, top, width, height = (int(value) // enlarge for value in fields[6:10])
            words.append(Word(fields[11].strip(), left, top, width, height, float(fields[10])))
    return words
