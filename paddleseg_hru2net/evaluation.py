"""Evaluation on whole SEM images (data bar cut), as a microscopist would use the model."""
from __future__ import annotations

import json
from typing import Dict, Iterable, Optional, Sequence

import numpy as np

from paddleseg_hru2net.datasets.prepare import find_pairs, load_sample
from paddleseg_hru2net.inference import BatchRunner, normalise, sliding_window_probabilities
from paddleseg_hru2net.metrics import confusion_matrix, metrics_from_confusion

__all__ = ["split_image_ids", "evaluate_whole_images"]


def split_image_ids(manifest_path: str, split: str) -> list:
    """Source image ids of ``split`` recorded in a prepared dataset's manifest.json."""
    with open(manifest_path) as handle:
        manifest = json.load(handle)
    if manifest.get("leaks_between_splits"):
        raise ValueError(f"{manifest_path}: the paper protocol's splits share source images; "
                         f"whole-image evaluation needs a split by image")
    ids = manifest["source_images"].get(split)
    if not ids:
        raise ValueError(f"{manifest_path}: no source images in split {split!r}")
    return list(ids)


def evaluate_whole_images(run: BatchRunner, release_root: str, image_ids: Iterable[str],
                          window: Sequence[int], stride: Sequence[int], channels: int,
                          mean: Sequence[float], std: Sequence[float], num_classes: int = 2,
                          progress: bool = True, keep_predictions: bool = False
                          ) -> Dict[str, object]:
    """Slide ``run`` over each whole image of ``image_ids`` and score it against its manual mask.

    Returns the paper's metrics over all pixels of all images, and per image the particle IoU
    (and, with ``keep_predictions``, the images, labels and predicted masks).
    """
    from tqdm import tqdm

    wanted = set(image_ids)
    pairs = [p for p in find_pairs(release_root) if p.image_id in wanted]
    missing = wanted - {p.image_id for p in pairs}
    if missing:
        raise ValueError(f"{release_root}: images {sorted(missing)} not found")
    total = np.zeros((num_classes, num_classes), np.int64)
    per_image: Dict[str, float] = {}
    kept = {}
    for pair in tqdm(pairs, desc="whole-image evaluation", unit="image", disable=not progress):
        sample = load_sample(pair)
        x = normalise(sample.image, channels, mean, std)
        probabilities = sliding_window_probabilities(x, run, window, stride, num_classes)
        prediction = probabilities.argmax(axis=0).astype(np.uint8)
        confusion = confusion_matrix(prediction, sample.label, num_classes)
        total += confusion
        per_image[pair.image_id] = metrics_from_confusion(confusion).get("particle_iou", float("nan"))
        if keep_predictions:
            kept[pair.image_id] = (sample.image, sample.label, prediction)
    result: Dict[str, object] = metrics_from_confusion(total)
    result["per_image_particle_iou"] = per_image
    result["images"] = sorted(per_image)
    result["window"] = list(window)
    result["stride"] = list(stride)
    if keep_predictions:
        result["predictions"] = kept
    return result
