"""Tesseract with one OpenMP thread against its default, side by side on the same images.

    python tools/experiments/ocr_threads.py --emps ../shared/data/emps_train --count 20 \
        --images "../shared/data/tio2_sem_ruhle2021/Electron Microscopy Images/SEM/1908256.tif"

Each image is read as the analysis reads it and given to ``tesseract`` (sparse text, TSV) as
``microscopy.ocr.ocr_words`` calls it, alternately with ``OMP_THREAD_LIMIT=1`` and without the
variable (Tesseract then starts as many threads as cores); prints each image's seconds both
ways, whether the words read are the same, and the ratio of the summed times.
"""
from __future__ import annotations

import argparse
import glob
import io
import os
import subprocess
import time
from typing import Dict, List, Optional

from PIL import Image

from paddleseg_hru2net.microscopy.ocr import TESSERACT_COMMAND
from paddleseg_hru2net.microscopy.reading import read_microscope_image


def tesseract_seconds(png: bytes, thread_limit: Optional[str]) -> tuple:
    env = {k: v for k, v in os.environ.items() if k != "OMP_THREAD_LIMIT"}
    if thread_limit:
        env["OMP_THREAD_LIMIT"] = thread_limit
    start = time.perf_counter()
    done = subprocess.run(list(TESSERACT_COMMAND), input=png,
                          capture_output=True, env=env, check=True)
    return time.perf_counter() - start, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", nargs="*", default=[])
    parser.add_argument("--emps", default="", help="an EMPS folder; its first --count images are added")
    parser.add_argument("--count", type=int, default=20)
    args = parser.parse_args()
    paths: List[str] = list(args.images)
    if args.emps:
        paths += sorted(glob.glob(os.path.join(args.emps, "images", "*.png")))[:args.count]
    totals: Dict[str, float] = {"default": 0.0, "one thread": 0.0}
    same = 0
    for path in paths:
        grey, _ = read_microscope_image(path)
        png = io.BytesIO()
        Image.fromarray(grey).save(png, format="PNG")
        default, words_default = tesseract_seconds(png.getvalue(), None)
        single, words_single = tesseract_seconds(png.getvalue(), "1")
        totals["default"] += default
        totals["one thread"] += single
        same += words_default == words_single
        print(f"{os.path.basename(path)} {grey.shape[1]} x {grey.shape[0]}: default {default:.2f} s, "
              f"one thread {single:.2f} s, same words: {words_default == words_single}", flush=True)
    print(f"{len(paths)} images, {os.cpu_count()} cores: default {totals['default']:.1f} s, one thread "
          f"{totals['one thread']:.1f} s - one thread {totals['default'] / totals['one thread']:.2f}x as fast; "
          f"the same words on {same} of {len(paths)}")


if __name__ == "__main__":
    main()
