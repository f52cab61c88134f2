"""A user's own images with masks, made into a training folder for fine-tuning.

Masks pair with images by name: ``<stem>.<ext>`` with ``<stem>``, ``<stem>_m``, ``<stem>_mask``
or ``<stem>_label`` in the mask folder. A mask may be a 0/255 (or 0/1) particle mask, whose
touching particles are told apart by background lines as in the TiO2 release (4-connected
regions), or an instance map (one value per particle, 8- or 16-bit). Labels are written as the
model's classes: 0/1 for two-class models, with contacts (class 2) for instance-aware ones.
"""
from __future__ import annotations

import os
from typing import Dict, List, Optional, Tuple

import numpy as np

from paddleseg_hru2net.datasets.generalist import particles_are_darker, resampled_sample, to_particle_diameter
from paddleseg_hru2net.datasets.instance_targets import instances_from_mask, target_of_instances
from paddleseg_hru2net.datasets.layout import write_lists, write_sample
from paddleseg_hru2net.datasets.tio2_release import tile_positions
from paddleseg_hru2net.errors import InputError
from paddleseg_hru2net.files import ImageReadError, read_label
from paddleseg_hru2net.microscopy.data_bar import sample_rows
from paddleseg_hru2net.microscopy.pixel_size import read_pixel_size_nm
from paddleseg_hru2net.microscopy.conditioning import condition_for_model
from paddleseg_hru2net.microscopy.reading import IMAGE_SUFFIXES, read_microscope_image

__all__ = ["pair_images_with_masks", "instances_of_mask", "at_model_scale", "write_training_folder",
           "MASK_SUFFIXES"]

MASK_SUFFIXES = ("", "_m", "_mask", "_label", "_labels")
IGNORE = 255


def pair_images_with_masks(images_dir: str, masks_dir: str) -> List[Tuple[str, str]]:
    """``(image, mask)`` path pairs; :class:`InputError` naming an image without a mask."""
    for folder in (images_dir, masks_dir):
        if not os.path.isdir(folder):
            raise InputError(f"{folder}: no such folder")
    masks: Dict[str, str] = {}
    for name in sorted(os.listdir(masks_dir)):
        stem, ext = os.path.splitext(name)
        if ext.lower() in IMAGE_SUFFIXES:
            masks[stem] = os.path.join(masks_dir, name)
    pairs = []
    for name in sorted(os.listdir(images_dir)):
        stem, ext = os.path.splitext(name)
        if ext.lower() not in IMAGE_SUFFIXES or name.startswith("."):
            continue
        match = next((masks[stem + s] for s in MASK_SUFFIXES if stem + s in masks), None)
        if match is None:
            raise InputError(f"{os.path.join(images_dir, name)}: no mask named {stem}.png (or "
                             f"{stem}_m, {stem}_mask, {stem}_label) in {masks_dir}")
        pairs.append((os.path.join(images_dir, name), match))
    if not pairs:
        raise InputError(f"{images_dir}: no images ({', '.join(IMAGE_SUFFIXES)})")
    return pairs


def instances_of_mask(mask: np.ndarray, path: str) -> np.ndarray:
    """An instance map from a particle mask (0/255 or 0/1: 4-connected regions) or an instance
    map (kept as it is)."""
    if mask.ndim != 2:
        raise InputError(f"{path}: a mask must be single-channel (grey or 16-bit), got {mask.shape}")
    values = np.unique(mask)
    if len(values) == 1:
        raise InputError(f"{path}: the mask holds one value only ({values[0]}); no particles marked")
    if set(values.tolist()) <= {0, 1} or set(values.tolist()) <= {0, 255}:
        return instances_from_mask(mask > 0)
    return mask.astype(np.int32)


def at_model_scale(image_path: str, grey: np.ndarray, instances: np.ndarray,
                   model_pixel_size_nm: Optional[float], model_particle_diameter_px: Optional[float]
                   ) -> Tuple[np.ndarray, np.ndarray, float]:
    """``(grey, instances, factor)`` resampled as the analysis will resample the image for the
    model: by pixel size where the model records one and the image's metadata gives one, else so
    that the annotated particles' median diameter is the model's; unchanged where the model
    records neither. Factors are kept within the generalist data's range
    (:func:`~paddleseg_hru2net.datasets.generalist.resampled_sample`)."""
    pixel_size_nm = read_pixel_size_nm(image_path)[0] if model_pixel_size_nm else None
    if pixel_size_nm:
        return resampled_sample(grey, instances, pixel_size_nm / model_pixel_size_nm)
    if model_particle_diameter_px:
        return to_particle_diameter(grey, instances, model_particle_diameter_px)
    return grey, instances, 1.0


def write_training_folder(pairs: List[Tuple[str, str]], out_dir: str, num_classes: int,
                          tile: int = 512, val_images: int = 1, contact_radius: int = 1,
                          bright_particles: bool = False, model_pixel_size_nm: Optional[float] = None,
                          model_particle_diameter_px: Optional[float] = None,
                          narrow_contacts_below: float = 0.0) -> Dict[str, int]:
    """Tiles of every pair (data bar cut, labels as ``num_classes`` classes, contacts of
    ``contact_radius``, 1 px on particles smaller than ``narrow_contacts_below`` pixels:
    :func:`~paddleseg_hru2net.datasets.instance_targets.target_of_instances`)
    in PaddleSeg's layout; the last ``val_images`` images (if more than that many are given) go
    to val. ``bright_particles`` (for a model that knows bright particles only, which the
    analysis feeds dark-particle images inverted): images whose marked particles are darker than
    the rest are written inverted, so the model learns them as it will see them. With the
    model's scale (``model_pixel_size_nm``, ``model_particle_diameter_px``) each image is first
    resampled to it (:func:`at_model_scale`), for the same reason. Returns the tiles per split,
    the ``inverted`` images and the ``resampled`` ones."""
    lists: Dict[str, list] = {"train": [], "val": [], "test": []}
    inverted = resampled = 0
    holdout = val_images if len(pairs) > val_images else 0
    for index, (image_path, mask_path) in enumerate(pairs):
        grey, _ = read_microscope_image(image_path)
        try:
            mask = read_label(mask_path)
        except ImageReadError as error:
            raise InputError(str(error)) from error
        if mask.shape != grey.shape:
            raise InputError(f"{mask_path}: mask is {mask.shape[1]} x {mask.shape[0]} but its image "
                             f"{image_path} is {grey.shape[1]} x {grey.shape[0]}")
        rows = sample_rows(grey)
        above_bar, _ = condition_for_model(grey[:rows])  # as the analysis will see it
        grey, instances, factor = at_model_scale(image_path, above_bar, instances_of_mask(mask[:rows], mask_path),
                                                 model_pixel_size_nm, model_particle_diameter_px)
        resampled += factor != 1.0
        label = target_of_instances(instances, num_classes, contact_radius, narrow_contacts_below)
        if bright_particles and particles_are_darker(grey, instances):
            grey = 255 - grey
            inverted += 1
        split = "val" if index >= len(pairs) - holdout else "train"
        stem = os.path.splitext(os.path.basename(image_path))[0]
        padded_image = np.pad(grey, ((0, max(tile - grey.shape[0], 0)), (0, max(tile - grey.shape[1], 0))))
        padded_label = np.pad(label, ((0, max(tile - label.shape[0], 0)), (0, max(tile - label.shape[1], 0))),
                              constant_values=IGNORE)
        for top in tile_positions(grey.shape[0], tile):
            for left in tile_positions(grey.shape[1], tile):
                lists[split].append(write_sample(
                    out_dir, f"{stem}_r{top:04d}_c{left:04d}",
                    padded_image[top:top + tile, left:left + tile],
                    padded_label[top:top + tile, left:left + tile]))
    write_lists(out_dir, lists)
    return {**{split: len(items) for split, items in lists.items()}, "inverted": inverted,
            "resampled": int(resampled)}
