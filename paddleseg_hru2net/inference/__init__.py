"""The inference layer: one way to load a model, feed it whole images, and run it on a backend.

* :mod:`.source` - where a model comes from (config + weights, an exported folder, shipped weights);
* :mod:`.feed` - how to feed it (window, channels, normalisation, classes, training pixel size);
* :mod:`.windows` - blended sliding windows, used by val, predict, evaluation and analysis alike;
* :mod:`.backends` - a registry of runtimes (Paddle dynamic, Paddle Inference, ONNX Runtime);
* :mod:`.export_cache` - exports built once per weights for the backends that need them;
* :mod:`.segmenter` - :class:`Segmenter`, the one type for a model ready to run.
"""
from paddleseg_hru2net.inference.backends import (BACKENDS, backend_names, default_backend,
                                                  installed_backends, load_segmenter,
                                                  register_backend)
from paddleseg_hru2net.inference.feed import Feed, normalise
from paddleseg_hru2net.inference.segmenter import (Segmenter, centre_probability_of, interior_probability_of,
                                                  particle_probability_of)
from paddleseg_hru2net.inference.source import ModelSource, resolve_source, shipped_names, shipped_source
from paddleseg_hru2net.inference.windows import BatchRunner, image_probabilities, sliding_window_probabilities

__all__ = ["BACKENDS", "backend_names", "default_backend", "installed_backends", "load_segmenter",
           "register_backend", "Feed", "normalise", "Segmenter", "particle_probability_of",
           "interior_probability_of", "centre_probability_of",
           "ModelSource", "resolve_source", "shipped_names", "shipped_source", "BatchRunner",
           "image_probabilities", "sliding_window_probabilities"]
