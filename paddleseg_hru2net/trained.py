"""A trained model with what inference needs to use it: channels, window, normalisation."""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from paddleseg_hru2net.inference import WindowFeed

__all__ = ["TrainedModel", "load_trained"]


@dataclass(kw_only=True)
class TrainedModel(WindowFeed):
    """A dygraph model in eval mode, and how to feed it (:class:`WindowFeed`: window = the
    training crop size, the config's channels and normalisation).

    Attributes:
        model: the network (weights loaded, or random if no weights were given).
        name: the config's model type.
        num_classes: output classes.
    """

    model: object
    name: str
    num_classes: int


def load_trained(config_path: str, weights_path: Optional[str] = None,
                 window: Optional[List[int]] = None) -> TrainedModel:
    """Build the config's model, load ``weights_path`` and read the training crop size.

    The window is, in order: ``window``; ``train_crop_size`` of the run's train_meta.json;
    the config's ``test_config.crop_size``; the first crop size in its train transforms; 512.
    """
    from paddleseg.cvlibs import SegBuilder

    from paddleseg_hru2net.cli.common import build, load_config, load_weights
    from paddleseg_hru2net.inference import normalisation_from_transforms
    from paddleseg_hru2net.training import crop_size_of, read_run_record

    config = load_config(config_path)
    builder = SegBuilder(config)
    model = build(builder, "model", config_path)
    if weights_path is not None:
        load_weights(model, weights_path)
    model.eval()
    dataset_class = build(builder, "val_dataset_class", config_path)
    crop = (read_run_record(weights_path).get("train_crop_size") if weights_path else None) \
        or config.test_config.get("crop_size") \
        or crop_size_of(config.train_dataset_cfg.get("transforms")) or [512, 512]
    chosen = list(window) if window else [int(crop[1]), int(crop[0])]  # configs say [w, h]
    mean, std = normalisation_from_transforms(config.val_dataset_cfg.get("transforms"))
    return TrainedModel(model=model, name=config.model_cfg.get("type", "?"),
                        channels=int(getattr(dataset_class, "IMG_CHANNELS", 3)),
                        window=chosen, mean=mean, std=std,
                        num_classes=int(getattr(dataset_class, "NUM_CLASSES", 2)))
