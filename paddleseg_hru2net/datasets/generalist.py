"""Training data for the generalist HRU2-Net†: TiO2 SEM + EMPS (SEM/TEM, many materials) + synthetic.

:func:`prepare_generalist` writes one PaddleSeg folder with three-class contact labels
(:mod:`paddleseg_hru2net.datasets.instance_targets`) from

* the tiles of a TiO2 folder prepared with ``hru2net-prepare-tio2 --target contact`` (its train
  and val splits; its test images are never read),
* the EMPS release of Yildirim & Cole (2021; ``images/<id>.png`` grey content stored as RGB,
  ``segmaps/<id>.png`` 16-bit instance maps, MIT licence), split by image with a seed,
* synthetic SEM images of :mod:`paddleseg_hru2net.datasets.synthetic` at varied particle sizes and
  densities.

Dark-on-bright images come from the ``RandomInvert`` training transform, not from here; with
``bright_particles=True`` the EMPS images whose particles are darker than their background (TEM
bright field) are stored inverted instead, so that every training image shows bright particles
and a model trained on them relies on :mod:`paddleseg_hru2net.analysis.contrast` at inference.
With ``particle_diameter`` each EMPS image (and its instance map) is resampled so that the median
equivalent diameter of its annotated particles is that many pixels (the TiO2 tiles' scale, for a
model that is then run at an estimated scale, :mod:`paddleseg_hru2net.analysis.scale`).
"""
from __future__ import annotations

import csv
import os
import shutil
from dataclasses import replace
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from paddleseg_hru2net.datasets.instance_targets import CONTACT_CLASSES, contact_target
from paddleseg_hru2net.datasets.layout import SPLITS, write_lists, write_sample
from paddleseg_hru2net.datasets.tio2_release import split_by_image
from paddleseg_hru2net.datasets.synthetic import SyntheticSEMConfig, generate_sem_instances
from paddleseg_hru2net.errors import InputError
from paddleseg_hru2net.files import ImageReadError, read_grey, staged_folder, write_json

__all__ = ["GeneralistDataError", "emps_ids", "read_emps_sample", "particles_are_darker",
           "resampled_sample", "to_particle_diameter", "prepare_generalist"]

#: The most an EMPS image is shrunk or enlarged by ``particle_diameter``.
MIN_FACTOR, MAX_FACTOR = 0.2, 4.0

Pair = Tuple[str, str]


class GeneralistDataError(InputError):
    """An input folder of the generalist data is missing or malformed."""


def emps_ids(emps_root: str) -> List[str]:
    """Image ids of an EMPS folder (``train.csv``, else every ``images/*.png``)."""
    listing = os.path.join(emps_root, "train.csv")
    if os.path.isfile(listing):
        with open(listing) as handle:
            return [row[0].strip() for row in csv.reader(handle) if row and row[0].strip()]
    images = os.path.join(emps_root, "images")
    if not os.path.isdir(images):
        raise GeneralistDataError(f"{emps_root}: no train.csv and no images/ folder; give the "
                                  f"EMPS folder (images/, segmaps/)")
    return sorted(os.path.splitext(n)[0] for n in os.listdir(images) if n.endswith(".png"))


def read_emps_sample(emps_root: str, image_id: str) -> Tuple[np.ndarray, np.ndarray]:
    """``(grey uint8 image, int32 instance map)`` of one EMPS image."""
    image_path = os.path.join(emps_root, "images", f"{image_id}.png")
    segmap_path = os.path.join(emps_root, "segmaps", f"{image_id}.png")
    try:
        grey = read_grey(image_path)
        instances = read_grey(segmap_path).astype(np.int32)
    except ImageReadError as error:
        raise GeneralistDataError(str(error)) from error
    if grey.shape != instances.shape:
        raise GeneralistDataError(f"{segmap_path}: {instances.shape} does not match its image "
                                  f"{image_path} {grey.shape}")
    if grey.dtype != np.uint8:
        grey = np.round(grey / 257.0).astype(np.uint8)
    return grey, instances


def particles_are_darker(grey: np.ndarray, instances: np.ndarray) -> bool:
    """Whether the annotated particles are darker on average than the rest of the image."""
    inside = instances > 0
    if inside.all() or not inside.any():
        return False
    return float(grey[inside].mean()) < float(grey[~inside].mean())


def resampled_sample(grey: np.ndarray, instances: np.ndarray, factor: float
                     ) -> Tuple[np.ndarray, np.ndarray, float]:
    """``(grey, instances, factor)`` resampled by ``factor`` clamped to
    ``MIN_FACTOR``-``MAX_FACTOR`` (area averaging when shrinking, bilinear when enlarging;
    nearest neighbour for the instance ids)."""
    from paddleseg_hru2net.microscopy.resampling import resample, resample_labels
    factor = float(min(max(factor, MIN_FACTOR), MAX_FACTOR))
    return resample(grey, factor), resample_labels(instances, factor).astype(np.int32), factor


def to_particle_diameter(grey: np.ndarray, instances: np.ndarray, diameter: float
                         ) -> Tuple[np.ndarray, np.ndarray, float]:
    """``(grey, instances, factor)`` resampled (:func:`resampled_sample`) so that the median
    equivalent diameter of the instances is ``diameter`` px."""
    from paddleseg_hru2net.microscopy.particle_diameters import median_equivalent_diameter
    median = median_equivalent_diameter(instances, leave_out_border_cut=False)
    if median is None:
        return grey, instances, 1.0
    return resampled_sample(grey, instances, diameter / median)


def _tio2_contact_radius(tio2_dir: str) -> int:
    """The contact radius a TiO2 folder was prepared with (refusing one prepared without contacts)."""
    import json
    manifest = os.path.join(tio2_dir, "manifest.json")
    if not os.path.isfile(manifest):
        raise GeneralistDataError(f"{tio2_dir}: no manifest.json; prepare it with "
                                  f"hru2net-prepare-tio2 RELEASE --out DIR --target contact")
    with open(manifest) as handle:
        content = json.load(handle)
    if content.get("target") != "contact":
        raise GeneralistDataError(f"{tio2_dir}: prepared without --target contact")
    return int(content.get("contact_radius") or 1)


def _copy_tio2(tio2_dir: str, staging: str) -> Dict[str, List[Pair]]:
    """The train and val tiles of a prepared TiO2 contact folder, copied under ``tio2/``."""
    copied: Dict[str, List[Pair]] = {}
    for split in ("train", "val"):
        with open(os.path.join(tio2_dir, f"{split}.txt")) as handle:
            pairs = [tuple(line.split()) for line in handle if line.strip()]
        copied[split] = []
        for image_rel, label_rel in pairs:
            new = (f"tio2/{image_rel}", f"tio2/{label_rel}")
            for source, target in zip((image_rel, label_rel), new):
                os.makedirs(os.path.dirname(os.path.join(staging, target)), exist_ok=True)
                shutil.copyfile(os.path.join(tio2_dir, source), os.path.join(staging, target))
            copied[split].append(new)
    return copied


def _synthetic_config(rng: np.random.Generator) -> SyntheticSEMConfig:
    """A synthetic image's settings: particle radius 4-24 px, sparse to dense, more or less noise."""
    return replace(SyntheticSEMConfig(), median_radius=float(rng.uniform(4, 24)),
                   coverage=float(rng.uniform(0.08, 0.4)),
                   mean_cluster_size=float(rng.uniform(1, 8)),
                   photons=float(rng.uniform(20, 120)))


def prepare_generalist(out_dir: str, tio2_dir: Optional[str], emps_root: Optional[str],
                       synthetic: int = 60, val_fraction: float = 0.1, seed: int = 0,
                       overwrite: bool = False, progress: bool = True,
                       contact_radius: Optional[int] = None,
                       bright_particles: bool = False,
                       particle_diameter: Optional[float] = None,
                       tio2_repeats: int = 1) -> Dict[str, object]:
    """Write the generalist training folder; returns its manifest (also ``manifest.json``).

    Args:
        out_dir: folder to create.
        tio2_dir: a TiO2 folder prepared with ``--target contact`` (None to leave TiO2 out).
        emps_root: the EMPS folder (None to leave EMPS out).
        synthetic: number of synthetic images (a ``val_fraction`` share goes to val).
        val_fraction: share of EMPS and synthetic images held out for validation, by image.
        seed: seed of the EMPS split and of the synthetic images.
        contact_radius: half-width of the contact bands drawn on EMPS and synthetic images
            (see :func:`contact_target`); by default the TiO2 folder's, else 1. Must equal the TiO2
            folder's, so that one class means one thing.
        bright_particles: store EMPS images with dark particles inverted (see the module).
        particle_diameter: resample each EMPS image so its particles' median equivalent
            diameter is this many pixels (:func:`to_particle_diameter`); None keeps them as they are.
        tio2_repeats: how many times each TiO2 training tile is listed in ``train.txt``: a
            sampler drawing uniformly over the list then sees TiO2 that many times as often
            (val lists each tile once).
    """
    from tqdm import tqdm

    if synthetic < 0:
        raise GeneralistDataError(f"synthetic image count must not be negative, got {synthetic}")
    if particle_diameter is not None and not particle_diameter > 0:
        raise GeneralistDataError(f"particle diameter must be a positive number of pixels, got {particle_diameter}")
    if tio2_repeats < 1:
        raise GeneralistDataError(f"TiO2 repeats must be at least 1, got {tio2_repeats}")
    if tio2_dir is None and emps_root is None and synthetic == 0:
        raise GeneralistDataError("nothing to prepare: give a TiO2 folder, an EMPS folder or "
                                  "synthetic images")
    tio2_radius = _tio2_contact_radius(tio2_dir) if tio2_dir is not None else None
    if contact_radius is None:
        contact_radius = tio2_radius or 1
    if contact_radius < 1:
        raise GeneralistDataError(f"contact radius must be at least 1, got {contact_radius}")
    if tio2_radius is not None and tio2_radius != contact_radius:
        raise GeneralistDataError(f"{tio2_dir} was prepared with contact radius {tio2_radius}, not "
                                  f"{contact_radius}; prepare it again or give --contact_radius "
                                  f"{tio2_radius}")
    with staged_folder(out_dir, overwrite, GeneralistDataError) as staging:
        lists: Dict[str, List[Pair]] = {split: [] for split in SPLITS}
        sources: Dict[str, Dict[str, object]] = {}
        if tio2_dir is not None:
            for split, pairs in _copy_tio2(tio2_dir, staging).items():
                lists[split] += pairs * (tio2_repeats if split == "train" else 1)
            sources["tio2"] = {"folder": os.path.abspath(tio2_dir),
                               "tiles": {s: sum(p[0].startswith("tio2/") for p in lists[s])
                                         for s in ("train", "val")},
                               "train_repeats": tio2_repeats}
        if emps_root is not None:
            ids = emps_ids(emps_root)
            split = split_by_image(ids, val_fraction, 0.0, seed)
            val_ids = set(split["val"])
            inverted, factors = [], {}
            for image_id in tqdm(ids, desc="EMPS", unit="image", disable=not progress):
                grey, instances = read_emps_sample(emps_root, image_id)
                if particle_diameter is not None:
                    grey, instances, factors[image_id] = to_particle_diameter(grey, instances,
                                                                              particle_diameter)
                if bright_particles and particles_are_darker(grey, instances):
                    grey = 255 - grey
                    inverted.append(image_id)
                part = "val" if image_id in val_ids else "train"
                lists[part].append(write_sample(staging, f"emps/{image_id}", grey,
                                                contact_target(instances, contact_radius)))
            sources["emps"] = {"folder": os.path.abspath(emps_root), "val_ids": split["val"],
                               "images": {k: len(v) for k, v in split.items()},
                               "stored_inverted": inverted, "resampled_by": factors}
        if synthetic:
            rng = np.random.default_rng(seed)
            n_val = int(round(synthetic * val_fraction))
            for index in tqdm(range(synthetic), desc="synthetic", unit="image", disable=not progress):
                image, instances = generate_sem_instances(seed * 100_000 + index, _synthetic_config(rng))
                part = "val" if index < n_val else "train"
                lists[part].append(write_sample(staging, f"synthetic/{index:04d}", image,
                                                contact_target(instances, contact_radius)))
            sources["synthetic"] = {"images": {"train": synthetic - n_val, "val": n_val}}
        write_lists(staging, lists)
        manifest = {"sources": sources, "counts": {k: len(v) for k, v in lists.items()},
                    "classes": {**{str(k): v for k, v in CONTACT_CLASSES.items()}, "255": "ignore"},
                    "options": {"val_fraction": val_fraction, "seed": seed, "synthetic": synthetic,
                                "bright_particles": bright_particles,
                                "particle_diameter": particle_diameter,
                                "tio2_repeats": tio2_repeats},
                    "target": "contact", "contact_radius": contact_radius}
        write_json(os.path.join(staging, "manifest.json"), manifest)
    return manifest
