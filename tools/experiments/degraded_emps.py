"""Copy an EMPS folder with its images degraded as other microscopes and conditions record them,
to measure what each condition costs the analysis (docs/results.md, "Low contrast and noise").

    python tools/experiments/degraded_emps.py OUT --tilt 80                # uneven illumination
    python tools/experiments/degraded_emps.py OUT --tilt 50 --bowl 50      # tilt and vignette
    python tools/experiments/degraded_emps.py OUT --noise 20               # Gaussian, sigma 20
    python tools/experiments/degraded_emps.py OUT --gamma 0.5
    python tools/experiments/degraded_emps.py OUT --levels 80              # grey values squeezed into 80 levels
    python tools/experiments/degraded_emps.py OUT --dose 20                # shot noise: 20 counts at white
    python tools/experiments/degraded_emps.py OUT --blur 1.5               # out of focus: Gaussian of 1.5 px
    python tools/experiments/degraded_emps.py OUT --jpeg 50                # saved as JPEG of quality 50
    python tools/experiments/degraded_emps.py OUT --frame 20               # a 20-px frame in the particles' tone
    hru2net-validate-analysis --emps OUT --manifest data/generalist_r2/manifest.json --split val

Only the images named by the manifest's EMPS val ids are written (``--ids all``: every image);
``segmaps/``, ``train.csv`` and ``metadata.csv`` are linked to the originals (with ``--frame``
the instance maps are written too, framed by background). Each image draws
its own tilt direction and bowl centre from ``--seed`` and its id, so a run is repeatable.
"""
import argparse
import io
import json
import os
import zlib

import cv2
import numpy as np
from PIL import Image

from paddleseg_hru2net.datasets.generalist import emps_ids, particles_are_darker, read_emps_sample
from paddleseg_hru2net.transforms import background_field


def degrade(grey: np.ndarray, rng: np.random.Generator, args: argparse.Namespace) -> np.ndarray:
    image = grey.astype(np.float32)
    if args.blur:
        image = cv2.GaussianBlur(image, (0, 0), args.blur)
    if args.levels:
        image = (255 - args.levels) / 2 + image * (args.levels / 255)
    if args.gamma != 1.0:
        image = 255 * (image / 255) ** args.gamma
    if args.tilt or args.bowl:
        image += background_field(*image.shape, tilt_angle=rng.uniform(0, 2 * np.pi), tilt=args.tilt,
                                  bowl=args.bowl, bowl_centre=tuple(rng.uniform(0, 1, 2)))
    if args.noise:
        image += rng.normal(0, args.noise, image.shape)
    if args.dose:
        image = rng.poisson(np.clip(image, 0, 255) * (args.dose / 255)) * (255 / args.dose)
    degraded = np.clip(np.round(image), 0, 255).astype(np.uint8)
    if args.jpeg:
        buffer = io.BytesIO()
        Image.fromarray(degraded).save(buffer, format="JPEG", quality=args.jpeg)
        degraded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("L"))
    return degraded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("--emps", default="../shared/data/emps_train")
    parser.add_argument("--ids", default="data/generalist_r2/manifest.json",
                        help="a generalist manifest (its EMPS val ids) or 'all'")
    parser.add_argument("--tilt", type=float, default=0.0, help="grey levels from one side to the other")
    parser.add_argument("--bowl", type=float, default=0.0, help="grey levels at the farthest corner")
    parser.add_argument("--noise", type=float, default=0.0, help="Gaussian sigma in grey levels")
    parser.add_argument("--gamma", type=float, default=1.0)
    parser.add_argument("--levels", type=int, default=0, help="squeeze the grey values into this many levels")
    parser.add_argument("--dose", type=float, default=0.0,
                        help="shot noise: Poisson counts with this mean at white (255)")
    parser.add_argument("--blur", type=float, default=0.0, help="Gaussian sigma in pixels, applied first")
    parser.add_argument("--jpeg", type=int, default=0, help="JPEG quality (1-95) the image is saved with last")
    parser.add_argument("--frame", type=int, default=0,
                        help="a frame this many px wide around each image, white where its particles are "
                             "bright, black where they are dark (a figure's margin in the particles' tone)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.ids == "all":
        ids = emps_ids(args.emps)
    else:
        with open(args.ids) as handle:
            ids = json.load(handle)["sources"]["emps"]["val_ids"]
    os.makedirs(os.path.join(args.out, "images"), exist_ok=False)
    linked = ("train.csv", "metadata.csv") if args.frame else ("segmaps", "train.csv", "metadata.csv")
    for name in linked:
        os.symlink(os.path.abspath(os.path.join(args.emps, name)), os.path.join(args.out, name))
    if args.frame:
        os.makedirs(os.path.join(args.out, "segmaps"))
    for image_id in ids:
        grey, instances = read_emps_sample(args.emps, image_id)
        rng = np.random.default_rng([args.seed, zlib.crc32(image_id.encode())])
        degraded = degrade(grey, rng, args)
        if args.frame:
            tone = 0 if particles_are_darker(grey, instances) else 255
            degraded = np.pad(degraded, args.frame, constant_values=tone)
            Image.fromarray(np.pad(instances, args.frame).astype(np.uint16)).save(
                os.path.join(args.out, "segmaps", f"{image_id}.png"))
        Image.fromarray(degraded).save(os.path.join(args.out, "images", f"{image_id}.png"))
    print(f"{len(ids)} images written to {args.out}")


if __name__ == "__main__":
    main()
