"""Reproduce the figures of "Text printed over the image" (docs/results.md): the words
``microscopy.annotations.find_text`` takes for text on images whose particles are annotated,
and how many annotated particles would be left out under them (at least half inside a word's
box, as the analysis leaves them out):

* the 366 EMPS training images (``emps``),
* the TiO2 training and val images, the annotators' particles (``tio2``; never the test images),
* synthetic images, as generated and inverted (``synthetic``).

    python tools/experiments/text_words.py emps tio2 synthetic
"""
import argparse
import os
import sys
import time
from typing import Iterable, List, Tuple

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from drawn_marks import emps_annotated, synthetic, tio2  # noqa: E402  (the same image sets)

from paddleseg_hru2net.microscopy.annotations import (annotation_mask, find_text,  # noqa: E402
                                                      labels_mostly_inside)


def count(name: str, pairs: Iterable[Tuple[np.ndarray, np.ndarray, object]]) -> None:
    """``pairs`` of (grey, annotated labels, unused); prints one line."""
    images = with_text = words = covered = particles = 0
    seconds: List[float] = []
    for grey, labels, _ in pairs:
        images += 1
        particles += int(len(np.unique(labels)) - (labels == 0).any())
        start = time.perf_counter()
        found = find_text(grey)
        seconds.append(time.perf_counter() - start)
        if not found:
            continue
        with_text += 1
        words += len(found)
        covered += len(labels_mostly_inside(labels, annotation_mask(grey, found)))
    print(f"{name}: {images} images, {particles} annotated particles; {words} words of text in "
          f"{with_text} images; {covered} annotated particles at least half under a word; OCR "
          f"{np.median(seconds):.2f} s an image (median), {max(seconds):.1f} s the slowest", flush=True)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", choices=("emps", "tio2", "synthetic"))
    for name in parser.parse_args(argv).sets:
        pairs = {"emps": emps_annotated, "synthetic": synthetic}.get(name, lambda: tio2("manual"))()
        count(name, pairs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
