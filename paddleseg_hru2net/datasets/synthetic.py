"""Procedural SEM images of nanoparticles with exact masks: the plugin's built-in data.

Each image is drawn from a seed, so the same seed gives the same image and mask byte for byte.
What is modelled, and how:

* particles: irregular rounded outlines (a circle whose radius is perturbed by a few random
  low-order Fourier harmonics), radii log-normally distributed;
* agglomerates: particles are placed in clusters, each new one at a random angle from an existing
  one at a distance that makes them touch or overlap a little, so touching particles are common;
* SEM contrast: particles are domes lit from one side (shading from the height map's gradient)
  with the secondary-electron edge effect (a bright rim where the surface turns away); the
  substrate is darker with a low-frequency texture;
* detector: Gaussian blur (finite probe size) and shot noise (Poisson in the signal);
* an optional data bar at the bottom (dark band with bright text-like blocks and a scale bar),
  labelled background as in the real release.

Masks hold class ids: 0 background, 1 particle.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import cv2
import numpy as np

__all__ = ["SyntheticSEMConfig", "generate_sem_image"]


@dataclass(frozen=True)
class SyntheticSEMConfig:
    """Knobs of the generator; the defaults resemble 50 kX SEM images of TiO2 (~7 nm/px).

    Attributes:
        height, width: image size in pixels.
        median_radius: median particle radius in pixels (log-normal median).
        radius_sigma: log-normal shape parameter of the radii.
        coverage: target fraction of the image covered by particles.
        mean_cluster_size: mean number of particles per agglomerate (Poisson + 1).
        roughness: relative amplitude of the outline perturbation.
        blur_sigma: detector blur in pixels.
        photons: mean photon count of a mid-grey pixel (lower means noisier).
        data_bar_rows: height of the data bar at the bottom; 0 for none.
    """

    height: int = 512
    width: int = 512
    median_radius: float = 11.0
    radius_sigma: float = 0.3
    coverage: float = 0.15
    mean_cluster_size: float = 4.0
    roughness: float = 0.12
    blur_sigma: float = 1.0
    photons: float = 60.0
    data_bar_rows: int = 0


def _outline(rng: np.random.Generator, center: Tuple[float, float], radius: float,
             roughness: float, points: int = 48) -> np.ndarray:
    """Polygon of an irregular rounded particle: radius perturbed by harmonics 2-4."""
    angles = np.linspace(0.0, 2.0 * np.pi, points, endpoint=False)
    scale = np.ones_like(angles)
    for harmonic in (2, 3, 4):
        amplitude = rng.normal(0.0, roughness / harmonic)
        scale += amplitude * np.cos(harmonic * angles + rng.uniform(0.0, 2.0 * np.pi))
    stretch = rng.uniform(1.0, 1.35)  # mild elongation along a random axis
    tilt = rng.uniform(0.0, np.pi)
    r = radius * np.clip(scale, 0.6, 1.4)
    x = r * np.cos(angles) * stretch
    y = r * np.sin(angles) / stretch
    xr = x * np.cos(tilt) - y * np.sin(tilt) + center[0]
    yr = x * np.sin(tilt) + y * np.cos(tilt) + center[1]
    return np.stack([xr, yr], axis=1)


def _draw_particles(rng: np.random.Generator, cfg: SyntheticSEMConfig, rows: int) -> np.ndarray:
    """Label image (int32): 0 substrate, k > 0 the k-th particle drawn (later ones on top)."""
    labels = np.zeros((rows, cfg.width), np.int32)
    target = cfg.coverage * rows * cfg.width
    covered = 0.0
    index = 0
    while covered < target and index < 5000:
        cluster_size = 1 + rng.poisson(max(cfg.mean_cluster_size - 1.0, 0.0))
        center = np.array([rng.uniform(0, cfg.width), rng.uniform(0, rows)])
        previous_radius = None
        for _ in range(cluster_size):
            radius = float(cfg.median_radius * np.exp(rng.normal(0.0, cfg.radius_sigma)))
            radius = max(radius, 2.0)
            if previous_radius is not None:  # next to the previous particle: touching agglomerate
                angle = rng.uniform(0.0, 2.0 * np.pi)
                gap = (previous_radius + radius) * rng.uniform(0.8, 1.05)
                center = center + gap * np.array([np.cos(angle), np.sin(angle)])
            polygon = _outline(rng, (center[0], center[1]), radius, cfg.roughness)
            index += 1
            cv2.fillPoly(labels, [np.round(polygon * 4).astype(np.int32)], index, lineType=cv2.LINE_8,
                         shift=2)
            covered += np.pi * radius * radius
            previous_radius = radius
    return labels


def _instance_boundaries(labels: np.ndarray) -> np.ndarray:
    """True where a pixel's 4-neighbour belongs to another particle or to the substrate."""
    edge = np.zeros(labels.shape, bool)
    edge[:-1, :] |= labels[:-1, :] != labels[1:, :]
    edge[1:, :] |= labels[1:, :] != labels[:-1, :]
    edge[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    edge[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    return edge & (labels > 0)


def _substrate(rng: np.random.Generator, shape: Tuple[int, int]) -> np.ndarray:
    """Dark substrate with low-frequency texture and faint blotches, values around 0.2."""
    rows, cols = shape
    coarse = rng.normal(0.0, 1.0, ((rows + 31) // 32 + 1, (cols + 31) // 32 + 1)).astype(np.float32)
    texture = cv2.resize(coarse, (cols, rows), interpolation=cv2.INTER_CUBIC)
    fine = cv2.GaussianBlur(rng.standard_normal(shape, dtype=np.float32), (0, 0), 3.0)
    return 0.17 + 0.02 * texture + 0.05 * fine


def _render(rng: np.random.Generator, labels: np.ndarray) -> np.ndarray:
    """Grey levels in [0, 1] of substrate and particles (before blur and noise)."""
    inside = labels > 0
    boundary = _instance_boundaries(labels) | ~inside
    depth = cv2.distanceTransform((~boundary).astype(np.uint8), cv2.DIST_L2, 3)
    height = np.sqrt(depth)  # dome profile
    gy, gx = np.gradient(height)
    light = np.array([-0.6, -0.8])  # light from the upper left, as on an in-lens detector
    shading = np.clip(0.5 + 0.8 * (gx * light[0] + gy * light[1]), 0.0, 1.0)
    rim = np.exp(-depth / 1.8)  # secondary-electron edge effect

    brightness = np.zeros(labels.max() + 1, np.float32)
    brightness[1:] = rng.uniform(0.45, 0.7, labels.max())
    body = brightness[labels]
    image = _substrate(rng, labels.shape)
    particle = body * (0.75 + 0.35 * shading) + 0.3 * rim
    image[inside] = particle[inside]
    return image


def _add_data_bar(rng: np.random.Generator, image: np.ndarray, rows: int) -> None:
    """Paint a microscope-style data bar into the bottom ``rows`` rows of ``image`` (in place)."""
    top = image.shape[0] - rows
    image[top:] = 15
    cols = image.shape[1]
    for _ in range(int(cols / 40)):  # text-like bright blocks
        x = int(rng.integers(0, max(cols - 20, 1)))
        y = top + int(rng.integers(2, max(rows - 10, 3)))
        w, h = int(rng.integers(4, 18)), int(rng.integers(5, 9))
        image[y:y + h, x:x + w] = 230
    x0 = int(cols * 0.85)
    y0 = top + rows // 2
    image[y0:y0 + 2, x0:x0 + int(cols * 0.08)] = 255  # scale bar


def generate_sem_instances(seed: int, config: SyntheticSEMConfig = SyntheticSEMConfig()
                           ) -> Tuple[np.ndarray, np.ndarray]:
    """Draw one synthetic SEM image and its particle instance map.

    Args:
        seed: the image's seed; the same seed and config give identical arrays.
        config: generator settings (size, particle statistics, noise, data bar).

    Returns:
        ``(image, instances)``: ``image`` uint8 grey ``(H, W)``; ``instances`` int32 ``(H, W)``,
        0 background (the data bar, if any, too) and 1..N one id per particle.
    """
    rng = np.random.default_rng(seed)
    sample_rows = config.height - config.data_bar_rows
    if sample_rows <= 0:
        raise ValueError(f"data_bar_rows={config.data_bar_rows} leaves no image rows "
                         f"(height={config.height})")
    labels = _draw_particles(rng, config, sample_rows)
    signal = _render(rng, labels)
    if config.blur_sigma > 0:
        signal = cv2.GaussianBlur(signal, (0, 0), config.blur_sigma)
    # Shot noise: Poisson in the photon count, in its Gaussian form (variance = mean), which is
    # indistinguishable at these counts and several times faster than drawing Poisson variates.
    signal = np.clip(signal, 0.0, None)
    noise = rng.standard_normal(signal.shape, dtype=np.float32) * np.sqrt(signal / config.photons)
    grey = np.clip((signal + noise) * (255.0 / 1.1), 0, 255).astype(np.uint8)

    image = np.zeros((config.height, config.width), np.uint8)
    image[:sample_rows] = grey
    instances = np.zeros((config.height, config.width), np.int32)
    instances[:sample_rows] = labels
    if config.data_bar_rows:
        _add_data_bar(rng, image, config.data_bar_rows)
    return image, instances


def generate_sem_image(seed: int, config: SyntheticSEMConfig = SyntheticSEMConfig()
                       ) -> Tuple[np.ndarray, np.ndarray]:
    """:func:`generate_sem_instances` with the instance map reduced to class ids: ``(image,
    mask)``, ``mask`` uint8 0 background and 1 particle."""
    image, instances = generate_sem_instances(seed, config)
    return image, (instances > 0).astype(np.uint8)
