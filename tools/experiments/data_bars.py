"""The rows each image loses to its detected data bar, and on EMPS images how many annotated
particle pixels lie in them (a data bar is no sample: any is a sample row cut) (docs/results.md,
"The data bar told from a flat sample").

    python tools/experiments/data_bars.py --emps ../shared/data/emps_train
    python tools/experiments/data_bars.py "../shared/data/tio2_sem_ruhle2021/Electron Microscopy Images/SEM/"*.tif

One line per image with a data bar; the last line counts them, and on EMPS the images and
annotated particle pixels cut.
"""
import argparse
import glob
import os

from paddleseg_hru2net.datasets.generalist import read_emps_sample
from paddleseg_hru2net.microscopy.data_bar import DataBarError, detect_data_bar
from paddleseg_hru2net.microscopy.reading import read_microscope_image


def _bar_rows(grey) -> str:
    try:
        return str(detect_data_bar(grey))
    except DataBarError as error:
        return f"refused ({error})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", nargs="*")
    parser.add_argument("--emps", help="an EMPS folder: every image, with its instance map")
    args = parser.parse_args()
    with_bar = cut_images = cut_pixels = 0
    paths = sorted(glob.glob(os.path.join(args.emps, "images", "*.png"))) if args.emps else args.images
    for path in paths:
        stem = os.path.splitext(os.path.basename(path))[0]
        if args.emps:
            grey, instances = read_emps_sample(args.emps, stem)
        else:
            grey, instances = read_microscope_image(path)[0], None
        rows = _bar_rows(grey)
        if rows == "0":
            continue
        with_bar += 1
        cut = ""
        if instances is not None and rows.isdigit():
            pixels = int((instances[grey.shape[0] - int(rows):] > 0).sum())
            cut_images += pixels > 0
            cut_pixels += pixels
            cut = f", {pixels} annotated particle pixels in it"
        print(f"{stem}: data bar of {rows} rows of {grey.shape[0]}{cut}", flush=True)
    counts = f", {cut_images} of them cutting {cut_pixels} annotated particle pixels" if args.emps else ""
    print(f"{with_bar} of {len(paths)} images with a data bar{counts}")


if __name__ == "__main__":
    main()
