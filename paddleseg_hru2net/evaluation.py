"""Evaluation on whole SEM images (data bar cut), as a microscopist would use the model."""
from __future__ import annotations

import json
import os
from typing import Dict, Iterable, Iterator, Tuple

import numpy as np

from paddleseg_hru2net.datasets.prepare import find_pairs, load_sample
from paddleseg_hru2net.inference import BatchRunner, WindowFeed, whole_image_probabilities
from paddleseg_hru2net.metrics import confusion_matrix, metrics_from_confusion

__all__ = ["split_image_ids", "release_samples", "list_samples", "evaluate_whole_images"]


def split_image_ids(manifest_path: str, split: str) -> list:
    """Source image ids of ``split`` (or ``all``) recorded in a prepared dataset's manifest.json."""
    with open(manifest_path) as handle:
        manifest = json.load(handle)
    if manifest.get("leaks_between_splits"):
        raise ValueError(f"{manifest_path}: the paper protocol's splits share source images; "
                         f"whole-image evaluation needs a split by image")
    if split == "all":
        return sorted({i for ids in manifest["source_images"].values() for i in ids})
    ids = manifest["source_images"].get(split)
    if not ids:
        raise ValueError(f"{manifest_path}: no source images in split {split!r}")
    return list(ids)


def release_samples(release_root: str, image_ids: Iterable[str]) -> Iterator[Tuple[str, np.ndarray, np.ndarray]]:
    """``(image_id, grey image, 0/1 label)`` of release images, data bar cut."""
    wanted = set(image_ids)
    pairs = [p for p in find_pairs(release_root) if p.image_id in wanted]
    missing = wanted - {p.image_id for p in pairs}
    if missing:
        raise ValueError(f"{release_root}: images {sorted(missing)} not found")
    for pair in pairs:
        sample = load_sample(pair)
        yield pair.image_id, sample.image, sample.label


def list_samples(list_path: str) -> Iterator[Tuple[str, np.ndarray, np.ndarray]]:
    """``(name, grey image, label)`` of each line "image label" of a PaddleSeg list file."""
    from paddleseg_hru2net.io import read_grey
    root = os.path.dirname(os.path.abspath(list_path))
    with open(list_path) as handle:
        lines = [line.split() for line in handle if line.strip()]
    for image_rel, label_rel in lines:
        image = read_grey(os.path.join(root, image_rel))
        label = read_grey(os.path.join(root, label_rel))
        yield os.path.splitext(os.path.basename(image_rel))[0], image, label


def evaluate_whole_images(run: BatchRunner, samples: Iterable[Tuple[str, np.ndarray, np.ndarray]],
                          feed: WindowFeed, num_classes: int = 2, progress: bool = True,
                          keep_predictions: bool = False) -> Dict[str, object]:
    """Slide ``run`` over each whole image and score it against its label.

    Args:
        samples: ``(name, grey image, label)`` triples, e.g. :func:`release_samples` or
            :func:`list_samples`.
        feed: window and input format of ``run`` (a ``Segmenter`` or ``TrainedModel``).

    Returns the paper's metrics over all pixels of all images, and per image the particle IoU
    (and, with ``keep_predictions``, the images, labels and predicted masks).
    """
    from tqdm import tqdm

    total = np.zeros((num_classes, num_classes), np.int64)
    per_image: Dict[str, float] = {}
    kept = {}
    for name, image, label in tqdm(list(samples) if progress else samples,
                                   desc="whole-image evaluation", unit="image", disable=not progress):
        probabilities = whole_image_probabilities(image, run, feed, num_classes)
        prediction = probabilities.argmax(axis=0).astype(np.uint8)
        confusion = confusion_matrix(prediction, label, num_classes)
        total += confusion
        per_image[name] = metrics_from_confusion(confusion).get("particle_iou", float("nan"))
        if keep_predictions:
            kept[name] = (image, label, prediction)
    result: Dict[str, object] = metrics_from_confusion(total)
    result["per_image_particle_iou"] = per_image
    result["images"] = sorted(per_image)
    result["window"] = list(feed.window)
    result["stride"] = list(feed.stride)
    if keep_predictions:
        result["predictions"] = kept
    return result
