"""Reproduce the centre-class table of docs/results.md ("A centre class, a longer generalist"):
where the cores that seed the splitting come from, for a four-class model (background, particle,
contact, centre), on the TiO2 val images, the default command's path (int8).

    python tools/experiments/centre_cores.py --config C/config.yml --model_path C/model.pdparams

``C`` holds the weights and a ``train_meta.json`` (the shipped specialist's record with
``num_classes: 4``). Cores from: the interior (classes 1 + 3, as for a three-class model),
P(centre) above its own threshold t, or the centre's share of the interior above t. Each row is
the best F1 of a small grid of the other splitting settings. For choosing; never the test split.
"""
import argparse
import sys
from dataclasses import dataclass
from typing import List

import numpy as np

from paddleseg_hru2net.analysis.validation import score_splittings
from paddleseg_hru2net.analysis.workflow import ParticleMaps, Splitting
from paddleseg_hru2net.cli import validate_analysis
from tio2_val import add_model_arguments, val_options, val_segmenter

CORE_SOURCES = ("interior", "centre", "share")
CENTRE_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5)


@dataclass(frozen=True)
class CentreCoreSplitting(Splitting):
    """A :class:`Splitting` whose cores come from ``core_source`` at ``centre_threshold``."""

    core_source: str = "interior"
    centre_threshold: float = 0.5

    def labels_of_maps(self, maps: ParticleMaps) -> np.ndarray:
        if self.core_source == "interior" or maps.centre is None:
            centres = None
        else:
            centres = maps.centre if self.core_source == "centre" else maps.centre / np.maximum(maps.interior, 1e-6)
            # the splitting compares the centres with core_threshold: put t there
            centres = np.clip(centres * (self.core_threshold / self.centre_threshold), 0.0, 1.0)
        return super().labels_of_maps(maps._replace(centre=centres))


def grid(core_source: str, centre_threshold: float) -> List[CentreCoreSplitting]:
    core_thresholds = (0.5, 0.6, 0.7) if core_source == "interior" else (0.5,)
    return [CentreCoreSplitting(0.5, core, depth, 0, area, core_source, centre_threshold)
            for core in core_thresholds for depth in (0.5, 1.0, 2.0, 100.0) for area in (0, 10)]


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_arguments(parser, required=True)
    options = val_options(parser.parse_args(argv), backend="onnxruntime-int8")
    segment = val_segmenter(options)
    samples = [(image, manual, segment(image), None) for image, manual in validate_analysis.manual_samples(options)]
    rows = [("interior", 0.0)] + [(source, t) for source in CORE_SOURCES[1:] for t in CENTRE_THRESHOLDS]
    for source, t in rows:
        best, total = score_splittings(samples, grid(source, t))[0]
        print(f"{source:8s} t={t}: F1 {total['f1']:.3f}, particles {total['count_model']} "
              f"(manual {total['count_manual']}), median {total['median_model']:.1f} nm, particle IoU "
              f"{total['particle_iou']:.3f}; core {best.core_threshold}, depth {best.min_depth}, "
              f"core area {best.min_core_area}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
