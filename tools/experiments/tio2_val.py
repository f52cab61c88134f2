"""What the TiO2 val probes of this folder share: the shipped specialist or the weights given,
segmenting the TiO2 val images as the default command does (whole images, no flips)."""
import argparse
from typing import Callable, List

from paddleseg_hru2net.cli import validate_analysis
from paddleseg_hru2net.cli.analyze import analysis_models, segmentation_function

SHIPPED_SPECIALIST = "hru2netp_contact_tio2"


def add_model_arguments(parser: argparse.ArgumentParser, required: bool = False) -> None:
    """``--config`` and ``--model_path`` (the shipped specialist where both are left out)."""
    parser.add_argument("--config", required=required, default=None)
    parser.add_argument("--model_path", required=required, default=None)


def val_options(args: argparse.Namespace, backend: str) -> argparse.Namespace:
    """``hru2net-validate-analysis`` options for the TiO2 val images with the model of ``args``."""
    model_args = [arg for name in ("config", "model_path") if getattr(args, name)
                  for arg in (f"--{name}", getattr(args, name))] or ["--model", SHIPPED_SPECIALIST]
    return validate_analysis.parse_args([
        "--release", "../shared/data/tio2_sem_ruhle2021", "--manifest", "data/tio2_contact_r2/manifest.json",
        "--split", "val", "--backend", backend, "--no-flips"] + model_args)


def val_segmenter(options: argparse.Namespace) -> Callable:
    """The default command's segmentation (at the model's scale) of ``options``' model."""
    return segmentation_function(analysis_models(options), native_scale=False)
