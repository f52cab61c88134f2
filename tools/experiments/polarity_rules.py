"""Reproduce the polarity counts of docs/results.md ("Polarity by particle shape"): how often each
rule takes an EMPS image the right way round for the shipped generalist, each image resampled by
the grey-value size estimate as the analysis does.

    python tools/experiments/polarity_rules.py val           # the 37 val images
    python tools/experiments/polarity_rules.py train 60      # 60 EMPS images outside the val carve
    python tools/experiments/polarity_rules.py val --backend onnxruntime   # float
    python tools/experiments/polarity_rules.py train 120 --backend onnxruntime --flips   # as the analysis runs it
    python tools/experiments/polarity_rules.py train 164 --flips     # all 164 (int8, as the analysis runs here)
    python tools/experiments/polarity_rules.py train 164 --flips --save runs/polarity   # and keep both ways' maps

``--save DIR`` writes each image's class probabilities both ways round at the segmentation scale
(uint8, ``<id>.npz``: ``recorded``, ``inverted``, ``dark`` - the annotated way round), for trying
other rules on them without segmenting again.

The right way round is the annotated one (particles brighter or darker than the rest of the image,
by the instance map). Rules: the grey-level histogram, the model's mean confidence, and the
solidity of its particle interiors (``polarity_from`` histogram, confidence, shape). The figures
of docs/results.md were printed with the generalist shipped at the time (1500 and 2500
iterations); today's shipped weights give their own. For a rule with a near-tie margin
(``PolarityMeasure.near_tie``), it also counts the images whose two scores lie within it, and how
many of those and of the others were taken the wrong way round (fifteenth session, float: val 3
of 5 and 1 of 32, train 3 of 5 and 4 of 55). Each image is conditioned for the model as the
analysis conditions it (stretched if of low contrast, denoised if noisy; since the twenty-third
session, when ``shape_and_frame`` was chosen on ``train 164 --flips``).
"""
import argparse
import json
import os
from collections import Counter

import numpy as np

from paddleseg_hru2net.analysis.contrast import (POLARITY_MEASURES, particle_solidity, particles_look_dark,
                                                 particles_on_frame_edge)
from paddleseg_hru2net.analysis.scale import choose_scale, probabilities_at
from paddleseg_hru2net.datasets.generalist import emps_ids, particles_are_darker, read_emps_sample
from paddleseg_hru2net.inference import load_segmenter, shipped_source
from paddleseg_hru2net.microscopy.conditioning import condition_for_model

EMPS, MANIFEST = "../shared/data/emps_train", "data/generalist_r2/manifest.json"


def image_ids(which: str, count: int) -> list:
    with open(MANIFEST) as handle:
        val = json.load(handle)["sources"]["emps"]["val_ids"]
    if which == "val":
        return val
    return [i for i in emps_ids(EMPS) if i not in set(val)][1::2][:count]


#: The weights of the frame edge against solidity tried for ``shape_and_frame``
#: (``contrast.FRAME_EDGE_WEIGHT``).
FRAME_EDGE_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)


def save_ways(folder: str, image_id: str, ways: dict, dark: bool) -> None:
    os.makedirs(folder, exist_ok=True)
    as_uint8 = {name: np.round(np.clip(p, 0, 1) * 255).astype(np.uint8) for name, p in ways.items()}
    partial = os.path.join(folder, f".{image_id}.npz")
    np.savez_compressed(partial, dark=dark, **as_uint8)
    os.replace(partial, os.path.join(folder, f"{image_id}.npz"))


def main(which: str, count: int, backend: str, flips: bool, save: str = "") -> None:
    segmenter = load_segmenter(shipped_source("hru2netp_contact_generalist"), backend, None
                               ).with_flips(flips)  # off: as the fifteenth session's figures were measured
    right = {"histogram": 0, **{name: 0 for name in POLARITY_MEASURES}}
    ties: Counter = Counter()
    right_at_weight: Counter = Counter()
    images = 0
    for image_id in image_ids(which, count):
        grey, instances = read_emps_sample(EMPS, image_id)
        if not (instances > 0).any() or (instances > 0).all():
            continue
        images += 1
        dark = bool(particles_are_darker(grey, instances))
        grey = condition_for_model(grey)[0]
        right["histogram"] += bool(particles_look_dark(grey)) == dark
        choice, _ = choose_scale(grey, None, segmenter)
        ways = {}
        for name, way in (("recorded", grey), ("inverted", 255 - grey)):
            probabilities, scaled = probabilities_at(segmenter, way, choice.factor)
            ways[name] = scaled if scaled is not None else probabilities
        if save:
            save_ways(save, image_id, ways, dark)
        for rule, measure in POLARITY_MEASURES.items():
            inverted, recorded = measure.score(ways["inverted"]), measure.score(ways["recorded"])
            is_right = (inverted > recorded) == dark
            right[rule] += is_right
            if measure.near_tie is not None:
                side = "near tie" if abs(inverted - recorded) < measure.near_tie else "apart"
                ties[(rule, side, is_right)] += 1
        shape = {name: (particle_solidity(p), particles_on_frame_edge(p)) for name, p in ways.items()}
        for weight in FRAME_EDGE_WEIGHTS:
            inverted, recorded = (shape[name][0] - weight * shape[name][1] for name in ("inverted", "recorded"))
            right_at_weight[weight] += (inverted > recorded) == dark
        print(f"{images}: {image_id} {'dark' if dark else 'bright'}", flush=True)
    for rule, count_right in right.items():
        print(f"{rule}: right way round for {count_right} of {images} images")
    for weight in FRAME_EDGE_WEIGHTS:
        print(f"solidity less {weight} x frame edge on particles: right way round for {right_at_weight[weight]} "
              f"of {images} images")
    for rule, measure in POLARITY_MEASURES.items():
        for side in ("near tie", "apart") if measure.near_tie is not None else ():
            wrong, total = ties[(rule, side, False)], ties[(rule, side, False)] + ties[(rule, side, True)]
            print(f"{rule}, scores {'within' if side == 'near tie' else 'beyond'} {measure.near_tie}: "
                  f"wrong way round for {wrong} of {total} images")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", choices=("val", "train"))
    parser.add_argument("count", type=int, nargs="?", default=60)
    parser.add_argument("--backend", default="onnxruntime-int8")
    parser.add_argument("--flips", action="store_true", help="the four flipped copies, as the analysis segments")
    parser.add_argument("--save", default="", help="a folder for each image's probabilities both ways round")
    options = parser.parse_args()
    main(options.which, options.count, options.backend, options.flips, options.save)
