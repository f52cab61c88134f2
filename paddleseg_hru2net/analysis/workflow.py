"""Whole SEM images in; masks, overlays and particle statistics out.

One function per step, so each can be used (and tested) alone:
:func:`load_sem_image` → :func:`particle_probability` → :func:`split_particles` /
:func:`measure_particles` → :func:`write_image_results`; :func:`analyze_folder` runs them over a folder, skipping (and
reporting) images that cannot be read.
"""
from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from paddleseg_hru2net.analysis.particles import (Particle, drop_small_particles, measure_particles,
                                                  split_particles)
from paddleseg_hru2net.datasets.sem_image import read_pixel_size_nm, sample_rows
from paddleseg_hru2net.inference import BatchRunner, WindowFeed, whole_image_probabilities
from paddleseg_hru2net.io import ImageReadError, read_grey, write_png, write_text

__all__ = ["SEMImage", "ImageResult", "Splitting", "load_sem_image", "particle_probability", "segment",
           "overlay", "analyze_image",
           "write_image_results", "analyze_folder", "IMAGE_SUFFIXES"]

IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp")
PARTICLE_FIELDS = ["label", "area", "equivalent_diameter", "feret_min", "feret_max",
                   "aspect_ratio", "circularity", "perimeter", "centroid_row", "centroid_col",
                   "touches_border", "unit"]


@dataclass
class SEMImage:
    """A grey SEM image with its data bar cut, and where its pixel size came from."""

    path: str
    grey: np.ndarray  # uint8 or uint16, data bar removed
    data_bar_rows: int
    pixel_size_nm: Optional[float]
    pixel_size_source: str  # "metadata", "option" or "none (pixels)"


@dataclass(frozen=True)
class Splitting:
    """How a probability map becomes particles (see :func:`split_particles`).

    ``threshold``, ``core_threshold`` and ``min_depth`` default to the values chosen on the
    validation images of the TiO2 split (never the test images) for the shipped HRU2-Net† by
    ``tools/validate_analysis.py --split val --tune``. ``min_area`` (pixels) leaves smaller
    particles out of the particle table (they stay in the mask): 0 keeps all, as ImageJ's
    "Analyze Particles" does by default.
    """

    threshold: float = 0.5
    core_threshold: float = 0.8
    min_depth: float = 0.5
    min_area: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= self.core_threshold <= 1.0:
            raise ValueError(f"need 0 <= threshold <= core threshold <= 1, got threshold "
                             f"{self.threshold} and core threshold {self.core_threshold}")
        if self.min_depth < 0:
            raise ValueError(f"min depth must not be negative, got {self.min_depth}")
        if self.min_area < 0:
            raise ValueError(f"min area must not be negative, got {self.min_area}")

    def labels(self, probability: np.ndarray) -> np.ndarray:
        labels = split_particles(probability, self.threshold, self.core_threshold, self.min_depth)
        return drop_small_particles(labels, self.min_area) if self.min_area > 0 else labels


@dataclass
class ImageResult:
    path: str
    mask: np.ndarray
    labels: np.ndarray
    particles: List[Particle]
    image: SEMImage
    outputs: Dict[str, str] = field(default_factory=dict)


def load_sem_image(path: str, pixel_size_nm: Optional[float] = None,
                   data_bar_rows: Optional[int] = None) -> SEMImage:
    """Read an SEM image (8- or 16-bit, grey, palette or RGB), cut its data bar, find its pixel size.

    The pixel size is, in order: the image's Zeiss metadata (TIFF tag 34118), ``pixel_size_nm``,
    none (lengths in pixels).
    """
    grey = read_grey(path)
    try:
        rows = sample_rows(grey, data_bar_rows)
    except ValueError as error:
        raise ImageReadError(f"{path}: {error}") from error
    size, source = read_pixel_size_nm(path)
    if size is None and pixel_size_nm is not None:
        size, source = float(pixel_size_nm), "option"
    elif size is None:
        source = "none (pixels)"
    return SEMImage(path, grey[:rows], grey.shape[0] - rows, size, source)


def particle_probability(image: SEMImage, run: BatchRunner, feed: WindowFeed) -> np.ndarray:
    """Particle probability (float32 ``(H, W)``) of the whole image by blended sliding windows.

    ``feed`` is how to feed ``run``: a :class:`~paddleseg_hru2net.deploy.backends.Segmenter` or a
    :class:`~paddleseg_hru2net.trained.TrainedModel` will do.
    """
    return whole_image_probabilities(image.grey, run, feed, num_classes=2)[1].astype(np.float32)


def segment(image: SEMImage, run: BatchRunner, feed: WindowFeed, threshold: float = 0.5) -> np.ndarray:
    """Particle mask (uint8 0/1) of the whole image: :func:`particle_probability` > threshold."""
    return (particle_probability(image, run, feed) > threshold).astype(np.uint8)


def overlay(grey: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """RGB overlay: each particle tinted with its own colour, outlines bright."""
    from skimage.segmentation import find_boundaries
    base = grey.astype(np.float32)
    base = base / 257.0 if grey.dtype == np.uint16 else base
    rgb = np.repeat(base[..., None], 3, axis=2)
    if labels.max() > 0:
        palette = np.random.default_rng(0).uniform(60, 255, size=(labels.max() + 1, 3))
        inside = labels > 0
        rgb[inside] = 0.6 * rgb[inside] + 0.4 * palette[labels[inside]]
        rgb[find_boundaries(labels, mode="inner")] = (255, 255, 0)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def analyze_image(image: SEMImage, probability: np.ndarray,
                  splitting: Splitting = Splitting()) -> ImageResult:
    """Particles of one image from its particle probability map (or a 0/1 mask, e.g. a manual one)."""
    mask = (np.asarray(probability) > splitting.threshold).astype(np.uint8)
    labels = splitting.labels(probability)
    return ImageResult(image.path, mask, labels, measure_particles(labels, image.pixel_size_nm),
                       image)


def _csv_text(rows: List[dict], fields: List[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_image_results(result: ImageResult, out_dir: str) -> Dict[str, str]:
    """``<stem>_mask.png`` (0/255), ``<stem>_overlay.png`` and ``<stem>_particles.csv``."""
    stem = os.path.splitext(os.path.basename(result.path))[0]
    paths = {"mask": os.path.join(out_dir, f"{stem}_mask.png"),
             "overlay": os.path.join(out_dir, f"{stem}_overlay.png"),
             "particles": os.path.join(out_dir, f"{stem}_particles.csv")}
    write_png(paths["mask"], result.mask * 255)
    write_png(paths["overlay"], overlay(result.image.grey, result.labels))
    write_text(paths["particles"], _csv_text([p.as_dict() for p in result.particles], PARTICLE_FIELDS))
    result.outputs = paths
    return paths


def summary_row(result: ImageResult) -> dict:
    """Per-image summary: counts and diameters of the particles not cut by the border."""
    whole = [p for p in result.particles if not p.touches_border]
    diameters = np.array([p.equivalent_diameter for p in whole])
    unit = result.particles[0].unit if result.particles else ("nm" if result.image.pixel_size_nm else "px")
    return {
        "image": os.path.basename(result.path),
        "particles": len(result.particles),
        "particles_not_at_border": len(whole),
        "median_equivalent_diameter": float(np.median(diameters)) if len(diameters) else "",
        "mean_equivalent_diameter": float(diameters.mean()) if len(diameters) else "",
        "particle_area_fraction": float(result.mask.mean()),
        "unit": unit,
        "pixel_size_nm": result.image.pixel_size_nm or "",
        "pixel_size_source": result.image.pixel_size_source,
        "data_bar_rows": result.image.data_bar_rows,
    }


def plot_size_histogram(results: Sequence[ImageResult], path: str) -> None:
    """Histogram of equivalent diameters of all particles not cut by the border."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from paddleseg_hru2net.io import atomic_path
    units = {p.unit for r in results for p in r.particles}
    diameters = [p.equivalent_diameter for r in results for p in r.particles if not p.touches_border]
    fig, ax = plt.subplots(figsize=(6, 4))
    if diameters:
        ax.hist(diameters, bins=min(40, max(5, len(diameters) // 5)), color="#4a7ebb", edgecolor="white")
        ax.axvline(np.median(diameters), color="black", ls="--", lw=1,
                   label=f"median {np.median(diameters):.1f}")
        ax.legend()
    unit = units.pop() if len(units) == 1 else "mixed units"
    ax.set_xlabel(f"equivalent circle diameter ({unit})")
    ax.set_ylabel("particles")
    ax.set_title(f"{len(diameters)} particles (border-cut ones left out), {len(results)} images")
    with atomic_path(path) as temporary:
        fig.savefig(temporary, dpi=110, bbox_inches="tight", format="png")
    plt.close(fig)


def list_sem_images(path: str) -> List[str]:
    if os.path.isdir(path):
        found = sorted(os.path.join(path, n) for n in os.listdir(path)
                       if n.lower().endswith(IMAGE_SUFFIXES) and not n.startswith("."))
        if not found:
            raise ImageReadError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
        return found
    if not os.path.isfile(path):
        raise ImageReadError(f"{path}: no such file or folder")
    return [path]


def analyze_folder(path: str, out_dir: str, probability_of: Callable[[SEMImage], np.ndarray],
                   pixel_size_nm: Optional[float] = None, data_bar_rows: Optional[int] = None,
                   splitting: Splitting = Splitting(), progress: bool = True) -> Dict[str, object]:
    """Analyse one image or every image of a folder; returns results and failures.

    ``probability_of`` maps an :class:`SEMImage` to its particle probability map (a 0/1 mask will
    do too).

    An image that cannot be read or analysed is reported in ``failures`` (and ``failures.csv``)
    and skipped; the others go on.
    """
    from tqdm import tqdm

    images = list_sem_images(path)
    os.makedirs(out_dir, exist_ok=True)
    results: List[ImageResult] = []
    failures: List[dict] = []
    for image_path in tqdm(images, desc="analysing", unit="image", disable=not progress):
        try:
            image = load_sem_image(image_path, pixel_size_nm, data_bar_rows)
            result = analyze_image(image, probability_of(image), splitting)
            write_image_results(result, out_dir)
            results.append(result)
        except (ImageReadError, ValueError, OSError) as error:
            failures.append({"image": image_path, "error": str(error)})
            tqdm.write(f"skipped {image_path}: {error}")
    rows = [summary_row(r) for r in results]
    if rows:
        write_text(os.path.join(out_dir, "summary.csv"), _csv_text(rows, list(rows[0])))
        plot_size_histogram(results, os.path.join(out_dir, "size_histogram.png"))
    if failures:
        write_text(os.path.join(out_dir, "failures.csv"), _csv_text(failures, ["image", "error"]))
    return {"results": results, "summary": rows, "failures": failures}
