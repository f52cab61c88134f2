"""Evaluation on whole SEM images (data bar cut), as a microscopist would use the model."""
from __future__ import annotations

import json
import os
from typing import Dict, Iterable, Iterator, Sequence, Tuple, Union

import numpy as np

from paddleseg_hru2net.datasets.tio2_release import find_pairs, load_sample
from paddleseg_hru2net.errors import InputError
from paddleseg_hru2net.inference.segmenter import Segmenter, particle_probability_of
from paddleseg_hru2net.metrics import confusion_matrix, metrics_from_confusion

__all__ = ["split_image_ids", "release_samples", "list_samples", "predicted_classes",
           "evaluate_whole_images"]


def _read_manifest(manifest_path: str, prepared_by: str) -> dict:
    try:
        with open(manifest_path) as handle:
            return json.load(handle)
    except (OSError, ValueError) as error:
        raise InputError(f"{manifest_path}: cannot read the manifest ({error}); prepare the data "
                         f"with {prepared_by}") from error


def split_image_ids(manifest_path: str, split: str) -> list:
    """Source image ids of ``split`` (or ``all``) recorded in a prepared dataset's manifest.json."""
    manifest = _read_manifest(manifest_path, "hru2net-prepare-tio2")
    if manifest.get("leaks_between_splits"):
        raise InputError(f"{manifest_path}: the paper protocol's splits share source images; "
                         f"whole-image evaluation needs a split by image")
    if split == "all":
        return sorted({i for ids in manifest["source_images"].values() for i in ids})
    ids = manifest["source_images"].get(split)
    if not ids:
        raise InputError(f"{manifest_path}: no source images in split {split!r}")
    return list(ids)


def emps_val_ids(manifest_path: str) -> list:
    """The EMPS image ids a generalist's dataset (``hru2net-prepare-generalist --emps``) holds out
    for validation, from its manifest.json."""
    manifest = _read_manifest(manifest_path, "hru2net-prepare-generalist --emps")
    ids = manifest.get("sources", {}).get("emps", {}).get("val_ids")
    if not ids:
        raise InputError(f"{manifest_path}: no EMPS val images in this manifest; give the manifest.json "
                         f"of a dataset made by hru2net-prepare-generalist --emps")
    return list(ids)


def release_samples(release_root: str, image_ids: Iterable[str]) -> Iterator[Tuple[str, np.ndarray, np.ndarray]]:
    """``(image_id, grey image, 0/1 label)`` of release images, data bar cut."""
    wanted = set(image_ids)
    pairs = [p for p in find_pairs(release_root) if p.image_id in wanted]
    missing = wanted - {p.image_id for p in pairs}
    if missing:
        raise InputError(f"{release_root}: images {sorted(missing)} not found")
    for pair in pairs:
        sample = load_sample(pair)
        yield pair.image_id, sample.image, sample.label


def list_samples(pairs: Union[str, Sequence[Tuple[str, str]]]) -> Iterator[Tuple[str, np.ndarray, np.ndarray]]:
    """``(name, grey image, label)`` of image/label path pairs, or of each line "image label" of
    a PaddleSeg list file (paths relative to the list's folder)."""
    from paddleseg_hru2net.files import read_grey, read_label
    if isinstance(pairs, str):
        root = os.path.dirname(os.path.abspath(pairs))
        with open(pairs) as handle:
            pairs = [tuple(os.path.join(root, p) for p in line.split()) for line in handle if line.strip()]
    for image_path, label_path in pairs:
        yield (os.path.splitext(os.path.basename(image_path))[0], read_grey(image_path),
               read_label(label_path))


def predicted_classes(probabilities: np.ndarray, label_classes: int) -> np.ndarray:
    """Class ids to score against labels of ``label_classes`` classes: the most probable class,
    or, for 0/1 particle labels and a model with more classes (contacts), particle wherever the
    background probability is below one half - the particle mask of the analysis."""
    if label_classes == probabilities.shape[0]:
        return probabilities.argmax(axis=0).astype(np.uint8)
    if label_classes == 2:
        return (particle_probability_of(probabilities) > 0.5).astype(np.uint8)
    raise ValueError(f"cannot score a {probabilities.shape[0]}-class model against "
                     f"{label_classes}-class labels")


def evaluate_whole_images(segmenter: Segmenter, samples: Iterable[Tuple[str, np.ndarray, np.ndarray]],
                          label_classes: int = 2, progress: bool = True,
                          keep_predictions: bool = False) -> Dict[str, object]:
    """Slide ``segmenter`` over each whole image and score it against its label.

    Args:
        segmenter: the model, its window and backend.
        samples: ``(name, grey image, label)`` triples, e.g. :func:`release_samples` or
            :func:`list_samples`.
        label_classes: classes of the labels (2 for particle masks).

    Returns the paper's metrics over all pixels of all images, and per image the particle IoU
    (and, with ``keep_predictions``, the images, labels and predicted masks).
    """
    from tqdm import tqdm

    total = np.zeros((label_classes, label_classes), np.int64)
    per_image: Dict[str, float] = {}
    kept = {}
    for name, image, label in tqdm(list(samples) if progress else samples,
                                   desc="whole-image evaluation", unit="image", disable=not progress):
        prediction = predicted_classes(segmenter.probabilities(image), label_classes)
        confusion = confusion_matrix(prediction, label, label_classes)
        total += confusion
        per_image[name] = metrics_from_confusion(confusion).get("particle_iou", float("nan"))
        if keep_predictions:
            kept[name] = (image, label, prediction)
    result: Dict[str, object] = metrics_from_confusion(total)
    result["per_image_particle_iou"] = per_image
    result["images"] = sorted(per_image)
    result["window"] = list(segmenter.feed.window)
    result["stride"] = list(segmenter.feed.stride)
    result["backend"] = segmenter.backend
    if keep_predictions:
        result["predictions"] = kept
    return result
