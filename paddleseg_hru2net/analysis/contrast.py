"""Which way round an image's contrast is: bright particles on a dark background (secondary-
electron SEM) or dark ones on a bright background (TEM bright field, STEM BF, transmission SEM).

A model trained on one polarity only (``Feed.polarity == "bright"``) sees dark-on-bright images
inverted first. The test is the grey-level histogram: the background is the most common grey
level (the smoothed histogram's mode) where particles cover less than half of the image, and
the particles pull the mean away from it - above for bright particles, below for dark ones.
On the 366 EMPS images (SEM and TEM, half of each polarity, annotated) it decides 342 and is
right for 95 % of those whose particles cover less than half of the frame, 85 % of all; on
all 32 TiO2 SEM images the margin is at least 3 grey levels. Within :data:`UNDECIDED_GREY_LEVELS`
the image is left as it is. A model trained on both polarities (``polarity: both``) needs none
of this.

A model that records ``polarity_from: confidence``, ``shape`` or ``shape_and_frame`` decides by
itself instead: the image is segmented as recorded and inverted (at twice the cost), and the
segmentation kept is the one the model is surer of (:func:`mean_confidence`), the one whose
particles are the more convex (:func:`particle_solidity`), or the one whose particles are the
more convex and the less on the frame's edge (:func:`convex_and_inside_the_frame`). Taken the
wrong way round, an image's "particles" are the gaps between its particles: concave wedges
between packed spheres, or one network of background along the frame's edge; taken the right
way round they are compact. With the generalist of the ninth session, each image resampled by
the grey-value size estimate, the right way round was chosen by the histogram for 27 of the 37
EMPS val images, by confidence for 29 and by shape for 35; on 60 EMPS training images outside
the val carve (`tools/experiments/polarity_rules.py`), by confidence for 48 and by shape for 53.
With today's (int8, flips, as the analysis runs; twenty-third session): shape 36 of 37 val
images and 146 of 164 training images, shape and frame 37 and 152.
"""
from __future__ import annotations

from typing import Callable, Dict, NamedTuple, Optional

import numpy as np
from scipy import ndimage

__all__ = ["UNDECIDED_GREY_LEVELS", "particles_look_dark", "mean_confidence", "particle_solidity",
           "particles_on_frame_edge", "convex_and_inside_the_frame", "FRAME_EDGE_WEIGHT", "PolarityMeasure",
           "POLARITY_MEASURES"]

#: |mean - mode| below this many grey levels (of 255) decides nothing.
UNDECIDED_GREY_LEVELS = 2.0
_SMOOTHING = 4.0


def particles_look_dark(grey: np.ndarray) -> Optional[bool]:
    """True for dark particles on a bright background, False for bright on dark, None if the
    histogram does not tell (``grey`` uint8)."""
    histogram = np.bincount(np.asarray(grey, np.uint8).ravel(), minlength=256).astype(np.float64)
    mode = float(np.argmax(ndimage.gaussian_filter1d(histogram, _SMOOTHING)))
    difference = float(np.mean(grey)) - mode
    if abs(difference) < UNDECIDED_GREY_LEVELS:
        return None
    return difference < 0


def mean_confidence(probabilities: np.ndarray) -> float:
    """The mean over pixels of the most likely class's probability (``probabilities`` ``(K, H,
    W)``): how sure a model is of an image as a whole. A model trained on bright particles is
    surer of an image the right way round than of its inverse."""
    return float(np.max(probabilities, axis=0).mean())


#: Regions smaller than this (pixels) are specks, not particles, to the shape measure.
_SMALLEST_REGION = 4


def particle_solidity(probabilities: np.ndarray) -> float:
    """How convex the particles of a segmentation are (``probabilities`` ``(K, H, W)``): the mean
    solidity (area over convex hull area) of its particle regions, weighted by their areas; 0
    where it shows none. The regions are the particle interiors of a model with a contact class
    (more likely than not), which keeps touching particles apart, else the connected
    regions of the particle mask."""
    from skimage.measure import regionprops

    from paddleseg_hru2net.inference.segmenter import interior_probability_of, particle_probability_of
    interior = interior_probability_of(probabilities)
    regions = (interior if interior is not None else particle_probability_of(probabilities)) > 0.5
    labels, _ = ndimage.label(regions)
    props = [p for p in regionprops(labels) if p.area >= _SMALLEST_REGION]
    area = sum(p.area for p in props)
    return float(sum(p.solidity * p.area for p in props) / area) if area else 0.0


def particles_on_frame_edge(probabilities: np.ndarray) -> float:
    """The share of the image's outermost pixels (its frame edge) that are particle (more likely
    than not; ``probabilities`` ``(K, H, W)``). A micrograph is framed on its objects: the edge
    runs mostly through background, and the particles it cuts cover part of it; taken the wrong
    way round, the background network becomes the "particle" that runs along most of it."""
    from paddleseg_hru2net.inference.segmenter import particle_probability_of
    particle = particle_probability_of(probabilities) > 0.5
    if min(particle.shape) < 3:
        return float(particle.mean())
    edge = np.concatenate([particle[0], particle[-1], particle[1:-1, 0], particle[1:-1, -1]])
    return float(edge.mean())


#: What a frame edge all on particles costs in :func:`convex_and_inside_the_frame`, in units of
#: solidity. Chosen on 164 EMPS training images outside the val carve (the shipped generalist,
#: int8, flips, as the analysis runs): right way round for 146 with solidity alone, 151-152 for
#: weights 0.2-0.4, 149 at 0.5 and 0.1, 146 at 0.6; the val images, 36 of 37 by solidity, 37 at
#: 0.1-0.4 (twenty-third session).
FRAME_EDGE_WEIGHT = 0.3


def convex_and_inside_the_frame(probabilities: np.ndarray) -> float:
    """:func:`particle_solidity` less :data:`FRAME_EDGE_WEIGHT` times
    :func:`particles_on_frame_edge`: particles are compact and lie within the frame, the gaps
    between them are concave and run along it. The edge decides where solidity does not: one
    large particle or a few (both ways round look convex), or close-packed ones whose gaps are
    convex wedges."""
    return particle_solidity(probabilities) - FRAME_EDGE_WEIGHT * particles_on_frame_edge(probabilities)


class PolarityMeasure(NamedTuple):
    """What a model that segments an image both ways round keeps the larger of, and how the
    summary words it; ``near_tie``: where the two ways round score closer than this, the choice
    is no better than a guess and the summary warns (None: no such margin is known)."""

    score: Callable[[np.ndarray], float]
    name: str
    reason: str
    near_tie: Optional[float] = None


#: The measures by their ``Feed.polarity_from`` names.
POLARITY_MEASURES: Dict[str, PolarityMeasure] = {
    "confidence": PolarityMeasure(mean_confidence, "mean confidence", "the model is surer of it"),
    # near_tie chosen on EMPS val (the shipped generalist, float): of the 5 of 37 images whose
    # solidities lie within 0.05, 3 were taken the wrong way round, of the other 32, 1; on 60
    # EMPS training images 3 of 5 and 4 of 55 (tools/experiments/polarity_rules.py val|train
    # --backend onnxruntime).
    "shape": PolarityMeasure(particle_solidity, "particle solidity", "its particles are the more convex", 0.05),
    # the margin of "shape", kept: on the 164 EMPS training images of FRAME_EDGE_WEIGHT, 5 lie
    # within it (3 taken the wrong way round), 9 of the other 159; none of the val images does.
    "shape_and_frame": PolarityMeasure(convex_and_inside_the_frame, "solidity less 0.3 x frame edge on particles",
                                       "its particles are the more convex and the less on the frame edge", 0.05),
}
