"""From the TiO2 SEM release of Rühle et al. (2021) to a PaddleSeg-ready folder of tiles.

The release (Zenodo 4563942) stores ``Electron Microscopy Images/SEM/<id>.tif`` (8-bit palette
TIFFs holding grey values, with the microscope's data bar at the bottom) and
``Electron Microscopy Image Masks/TiO2_Masks_Manual_4connected/<id>_m.tif`` (0/255 masks).
:func:`prepare_dataset` reads them, cuts the data bar, converts the masks to class ids 0/1, tiles
the images so that every sample pixel is covered, splits by source image (default) or by the
paper's protocol, and writes the tiles, list files and a JSON manifest. Everything is validated
before anything is written, and the output folder appears only when it is complete.
"""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from paddleseg_hru2net.errors import InputError
from paddleseg_hru2net.datasets.instance_targets import (CENTRE_CLASSES, CONTACT_CLASSES,
                                                         centre_target, contact_target,
                                                         instances_from_mask)
from paddleseg_hru2net.datasets.layout import SPLITS, write_lists, write_sample
from paddleseg_hru2net.microscopy.data_bar import sample_rows
from paddleseg_hru2net.files import ImageReadError, read_grey, staged_folder, write_json

__all__ = ["ReleaseError", "SourcePair", "Sample", "RELEASE_IMAGES", "RELEASE_MASKS",
           "find_pairs", "load_sample", "tile_positions", "tiles_of", "split_by_image",
           "paper_protocol_tiles", "prepare_dataset"]

RELEASE_IMAGES = os.path.join("Electron Microscopy Images", "SEM")
RELEASE_MASKS = os.path.join("Electron Microscopy Image Masks", "TiO2_Masks_Manual_4connected")
#: The file types of the TiO2 release (images and masks), not every format the analysis reads.
RELEASE_SUFFIXES = (".tif", ".tiff", ".png")
IGNORE = 255
PAPER_CROPS, PAPER_TOTAL, PAPER_TRAIN = 200, 2500, 2000


class ReleaseError(InputError):
    """The release folder or one of its files is not what preparation needs (the file is named)."""


@dataclass(frozen=True)
class SourcePair:
    image_id: str
    image_path: str
    mask_path: str


@dataclass
class Sample:
    """One source image with its data bar cut: grey ``image`` (uint8) and ``label`` (0/1)."""

    image_id: str
    image: np.ndarray
    label: np.ndarray
    data_bar_rows: int


def find_pairs(root: str, images_dir: Optional[str] = None, masks_dir: Optional[str] = None,
               mask_suffix: str = "_m") -> List[SourcePair]:
    """Pair every image of the release with its mask; raise on an image without a mask."""
    images_dir = images_dir or os.path.join(root, RELEASE_IMAGES)
    masks_dir = masks_dir or os.path.join(root, RELEASE_MASKS)
    for folder, what in ((images_dir, "image"), (masks_dir, "mask")):
        if not os.path.isdir(folder):
            raise ReleaseError(f"{folder}: {what} folder not found (expected the release layout "
                               f"'{RELEASE_IMAGES}' and '{RELEASE_MASKS}' under {root}, or pass "
                               f"--images/--masks)")
    names = sorted(n for n in os.listdir(images_dir)
                   if n.lower().endswith(RELEASE_SUFFIXES) and not n.startswith("."))
    if not names:
        raise ReleaseError(f"{images_dir}: no images ({', '.join(RELEASE_SUFFIXES)}) in this folder")
    masks = {os.path.splitext(n)[0]: n for n in os.listdir(masks_dir)}
    pairs = []
    for name in names:
        image_id = os.path.splitext(name)[0]
        mask_name = masks.get(image_id + mask_suffix)
        if mask_name is None:
            raise ReleaseError(f"{os.path.join(images_dir, name)}: no mask "
                               f"'{image_id}{mask_suffix}.*' in {masks_dir}")
        pairs.append(SourcePair(image_id, os.path.join(images_dir, name),
                                os.path.join(masks_dir, mask_name)))
    return pairs


def _to_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    return np.round(image.astype(np.float64) / 257.0).clip(0, 255).astype(np.uint8)


def load_sample(pair: SourcePair, data_bar_rows: Optional[int] = None) -> Sample:
    """Read one image and mask, check them, cut the data bar, convert the mask to 0/1."""
    try:
        image = read_grey(pair.image_path)
        mask = read_grey(pair.mask_path)
    except ImageReadError as error:
        raise ReleaseError(str(error)) from error
    if image.shape != mask.shape:
        raise ReleaseError(f"{pair.mask_path}: mask is {mask.shape[1]}x{mask.shape[0]} but its "
                           f"image {pair.image_path} is {image.shape[1]}x{image.shape[0]}")
    values = np.unique(mask)
    unexpected = [int(v) for v in values if v not in (0, 255)]
    if unexpected:
        raise ReleaseError(f"{pair.mask_path}: mask values {unexpected[:8]} are neither 0 "
                           f"(background) nor 255 (particle)")
    image = _to_uint8(image)
    try:
        rows = sample_rows(image, data_bar_rows)
    except ValueError as error:
        raise ReleaseError(f"{pair.image_path}: {error}") from error
    return Sample(pair.image_id, image[:rows].copy(), (mask[:rows] == 255).astype(np.uint8),
                  image.shape[0] - rows)


def with_contact_target(sample: Sample, radius: int = 1, narrow_below: float = 0.0) -> Sample:
    """The sample with its 0/1 label replaced by the three-class contact target."""
    instances = instances_from_mask(sample.label)
    return dataclasses.replace(sample, label=contact_target(instances, radius, narrow_below))


def with_centre_target(sample: Sample, radius: int = 1, narrow_below: float = 0.0) -> Sample:
    """The sample with its 0/1 label replaced by the four-class centre target."""
    instances = instances_from_mask(sample.label)
    return dataclasses.replace(sample, label=centre_target(instances, radius, narrow_below=narrow_below))


TARGETS = {"binary": lambda sample, radius, narrow_below: sample, "contact": with_contact_target,
           "centre": with_centre_target}
CLASS_NAMES = {"binary": {0: "background", 1: "particle"}, "contact": CONTACT_CLASSES,
               "centre": CENTRE_CLASSES}


def tile_positions(length: int, tile: int) -> List[int]:
    """Start offsets of tiles that cover ``[0, length)`` with as few tiles as possible.

    Tiles are spread evenly, overlapping where the length is not a multiple of the tile; a
    length shorter than a tile gets one tile at 0 (padded by the caller).
    """
    if length <= tile:
        return [0]
    count = math.ceil(length / tile)
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


def _pad_to(array: np.ndarray, tile: int, value: int) -> np.ndarray:
    rows, cols = array.shape
    if rows >= tile and cols >= tile:
        return array
    padded = np.full((max(rows, tile), max(cols, tile)), value, array.dtype)
    padded[:rows, :cols] = array
    return padded


def tiles_of(sample: Sample, tile: int) -> Iterator[Tuple[int, int, np.ndarray, np.ndarray]]:
    """``(row, col, image_tile, label_tile)`` covering the sample; padding is labelled 255."""
    image = _pad_to(sample.image, tile, 0)
    label = _pad_to(sample.label, tile, IGNORE)
    for row in tile_positions(sample.image.shape[0], tile):
        for col in tile_positions(sample.image.shape[1], tile):
            yield (row, col, image[row:row + tile, col:col + tile],
                   label[row:row + tile, col:col + tile])


def split_by_image(image_ids: Sequence[str], val_fraction: float, test_fraction: float,
                   seed: int) -> Dict[str, List[str]]:
    """Seeded split of source images: no image contributes to two splits."""
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError("val and test fractions must be in [0, 1) and sum below 1")
    ids = sorted(image_ids)
    order = np.random.default_rng(seed).permutation(len(ids))
    shuffled = [ids[i] for i in order]
    n_test = int(round(len(ids) * test_fraction))
    n_val = int(round(len(ids) * val_fraction))
    if len(ids) - n_test - n_val < 1:
        raise ValueError(f"{len(ids)} images leave none for training with these fractions")
    return {"test": sorted(shuffled[:n_test]), "val": sorted(shuffled[n_test:n_test + n_val]),
            "train": sorted(shuffled[n_test + n_val:])}


def _augment(image: np.ndarray, label: np.ndarray, variant: int, rng: np.random.Generator):
    """Offline augmentation of the paper's protocol: a dihedral transform, then from the second
    round on a random brightness/contrast change (image only)."""
    k, flip = variant % 4, (variant // 4) % 2
    image, label = np.rot90(image, k), np.rot90(label, k)
    if flip:
        image, label = image[:, ::-1], label[:, ::-1]
    if variant >= 8:
        gain, offset = rng.uniform(0.8, 1.2), rng.uniform(-20, 20)
        image = np.clip(image.astype(np.float32) * gain + offset, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(image), np.ascontiguousarray(label)


def paper_protocol_tiles(samples: Sequence[Sample], tile: int, seed: int,
                         crops: int = PAPER_CROPS, total: int = PAPER_TOTAL
                         ) -> List[Tuple[str, np.ndarray, np.ndarray]]:
    """The paper's data: ``crops`` random tile-size crops, augmented offline to ``total`` samples.

    Crops are drawn round-robin over the source images at seeded random positions; crop ``i``
    gets ``total // crops`` or one more augmented copies (the first copy is the crop itself).
    """
    rng = np.random.default_rng(seed)
    per_crop = [total // crops + (1 if i < total % crops else 0) for i in range(crops)]
    out = []
    for index in range(crops):
        sample = samples[index % len(samples)]
        image = _pad_to(sample.image, tile, 0)
        label = _pad_to(sample.label, tile, IGNORE)
        row = int(rng.integers(0, image.shape[0] - tile + 1))
        col = int(rng.integers(0, image.shape[1] - tile + 1))
        crop_image, crop_label = image[row:row + tile, col:col + tile], label[row:row + tile, col:col + tile]
        for variant in range(per_crop[index]):
            aug_image, aug_label = _augment(crop_image, crop_label, variant, rng)
            out.append((f"crop{index:03d}_{sample.image_id}_aug{variant:02d}", aug_image, aug_label))
    return out


def prepare_dataset(release_root: str, out_dir: str, tile: int = 512, protocol: str = "by-image",
                    val_fraction: float = 0.1, test_fraction: float = 0.2, seed: int = 0,
                    data_bar_rows: Optional[int] = None, images_dir: Optional[str] = None,
                    masks_dir: Optional[str] = None, mask_suffix: str = "_m",
                    overwrite: bool = False, progress: bool = True,
                    target: str = "binary", contact_radius: int = 1,
                    narrow_contacts_below: float = 0.0) -> Dict[str, object]:
    """Prepare the release as PaddleSeg tiles; returns the manifest (also written as JSON).

    Args:
        release_root: the release folder (its own layout) or any folder when ``images_dir`` and
            ``masks_dir`` are given.
        out_dir: dataset folder to create.
        tile: tile (and, for ``protocol="paper"``, crop) size in pixels.
        protocol: ``by-image`` (no source image in two splits) or ``paper`` (200 crops augmented
            to 2,500, split 2,000/500 at random: augmented copies of one crop land on both
            sides, so its test score is optimistic).
        val_fraction, test_fraction: shares of source images for ``by-image``.
        seed: seed of the split and of the paper protocol's crops.
        data_bar_rows: rows to cut at the bottom; None detects the bar in each image.
        overwrite: replace an existing ``out_dir``.
        target: ``binary`` (0 background, 1 particle: the paper's two classes) or ``contact``
            (adds class 2 where touching particles meet, derived from the whole mask before
            tiling: :mod:`paddleseg_hru2net.datasets.instance_targets`).
        contact_radius: with ``target="contact"``: a pixel is contact when the square of this
            radius around it holds two particles (1: the 1-px separation lines; 2: 3 px bands).
        narrow_contacts_below: particles of a smaller equivalent diameter (pixels) get only the
            1-px lines, so wider bands leave them an interior (0: the radius for all).
    """
    from tqdm import tqdm

    if protocol not in ("by-image", "paper"):
        raise ValueError(f"protocol must be 'by-image' or 'paper', got {protocol!r}")
    if tile < 16:
        raise ValueError(f"tile size {tile} is too small (>= 16)")
    if target not in TARGETS:
        raise ValueError(f"target must be one of {sorted(TARGETS)}, got {target!r}")
    if narrow_contacts_below < 0:
        raise ValueError(f"narrow contacts below {narrow_contacts_below} px: give a diameter of 0 (off) or more")
    pairs = find_pairs(release_root, images_dir, masks_dir, mask_suffix)
    samples = [TARGETS[target](load_sample(pair, data_bar_rows), contact_radius, narrow_contacts_below)
               for pair in tqdm(pairs, desc="reading", unit="image", disable=not progress)]

    with staged_folder(out_dir, overwrite, ReleaseError) as staging:
        lists: Dict[str, List[Tuple[str, str]]] = {split: [] for split in SPLITS}
        foreground = {split: [0, 0] for split in SPLITS}
        if protocol == "by-image":
            splits = split_by_image([s.image_id for s in samples], val_fraction, test_fraction, seed)
            split_of = {image_id: split for split, ids in splits.items() for image_id in ids}
            items = ((split_of[s.image_id], f"{s.image_id}_r{r:04d}_c{c:04d}", im, lb)
                     for s in samples for r, c, im, lb in tiles_of(s, tile))
            total = sum(len(tile_positions(s.image.shape[0], tile)) *
                        len(tile_positions(s.image.shape[1], tile)) for s in samples)
        else:
            augmented = paper_protocol_tiles(samples, tile, seed)
            order = np.random.default_rng(seed + 1).permutation(len(augmented))
            train_share = PAPER_TRAIN / PAPER_TOTAL
            n_train = int(round(len(augmented) * train_share))
            items = (("train" if rank < n_train else "test", *augmented[index])
                     for rank, index in enumerate(order))
            total = len(augmented)
            splits = {"train": sorted({s.image_id for s in samples}),
                      "test": sorted({s.image_id for s in samples}), "val": []}
        for split, name, image, label in tqdm(items, total=total, desc="writing tiles",
                                              unit="tile", disable=not progress):
            lists[split].append(write_sample(staging, name, image, label))
            valid = label != IGNORE
            foreground[split][0] += int(((label > 0) & valid).sum())
            foreground[split][1] += int(valid.sum())
        write_lists(staging, lists)
        manifest = {
            "source": os.path.abspath(release_root),
            "protocol": protocol,
            "leaks_between_splits": protocol == "paper",
            "source_images": {split: ids for split, ids in splits.items()},
            "tile_counts": {split: len(pairs_) for split, pairs_ in lists.items()},
            "foreground_fraction": {split: (fg / n if n else 0.0) for split, (fg, n) in foreground.items()},
            "data_bar_rows": {s.image_id: s.data_bar_rows for s in samples},
            "options": {"tile": tile, "val_fraction": val_fraction, "test_fraction": test_fraction,
                        "seed": seed, "data_bar_rows": data_bar_rows, "mask_suffix": mask_suffix},
            "target": target,
            "contact_radius": contact_radius if target == "contact" else None,
            "narrow_contacts_below_px": narrow_contacts_below if target == "contact" else None,
            "classes": {**{str(k): v for k, v in CLASS_NAMES[target].items()}, "255": "ignore (padding)"},
            "licence": "TiO2 images and masks: CC BY-NC-ND 4.0, Rühle, Krumrey, Hodoroaba (2021), "
                       "Zenodo 4563942. Do not redistribute tiles made from them.",
        }
        write_json(os.path.join(staging, "manifest.json"), manifest)
    return manifest
