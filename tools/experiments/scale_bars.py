"""What the data bar's scale bar gives each image: the rows of its data bar, the label read and
its length, the pixel size (docs/results.md, "The scale bar read again").

    python tools/experiments/scale_bars.py ../shared/data/emps_train/images/*.png
    python tools/experiments/scale_bars.py "../shared/data/tio2_sem_ruhle2021/Electron Microscopy Images/SEM/"*.tif

Images without a data bar are skipped; the last line counts the images with one and those whose
pixel size was read.
"""
import argparse
import os

from paddleseg_hru2net.microscopy.data_bar import DataBarError, sample_rows
from paddleseg_hru2net.microscopy.reading import read_microscope_image
from paddleseg_hru2net.microscopy.scale_bar import read_scale_bar


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", nargs="+")
    args = parser.parse_args()
    with_bar = read = 0
    for path in args.images:
        grey, _ = read_microscope_image(path)
        try:
            rows = sample_rows(grey, None)
        except DataBarError:  # a blank or saturated image
            continue
        if rows >= grey.shape[0]:
            continue
        with_bar += 1
        bar = read_scale_bar(grey[rows:])
        read += bar is not None
        found = f"'{bar.label}' over {bar.length_px:g} px: {bar.pixel_size_nm:.4g} nm/px" if bar else "no scale bar read"
        print(f"{os.path.basename(path)}: data bar of {grey.shape[0] - rows} rows, {found}", flush=True)
    print(f"{with_bar} of {len(args.images)} images with a data bar, a pixel size read on {read}")


if __name__ == "__main__":
    main()
