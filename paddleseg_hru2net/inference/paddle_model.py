"""A Paddle network built from a PaddleSeg config, with its weights and how to feed it.

Config loading lives here (not in the commands) so that every layer that needs a model - the
backends, evaluation, the benchmark - loads it the same way, with the same one-line errors.
"""
from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Sequence

from paddleseg_hru2net.errors import InputError
from paddleseg_hru2net.inference.feed import Feed, normalisation_from_transforms, recorded_settings
from paddleseg_hru2net.inference.source import ModelSource

__all__ = ["load_config", "check_component_types", "build", "load_weights", "PaddleNetwork",
           "load_network", "feed_of"]

DEFAULT_WINDOW = (512, 512)


def _walk_types(node: Any, where: str = "") -> Iterator[tuple]:
    if isinstance(node, dict):
        if "type" in node and isinstance(node["type"], str):
            yield where or "<root>", node["type"]
        for key, value in node.items():
            yield from _walk_types(value, f"{where}.{key}" if where else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk_types(value, f"{where}[{index}]")


def _component_sources() -> Dict[str, str]:
    """Every registered component name and the package it comes from."""
    from paddleseg.cvlibs import manager
    sources = {}
    for registry in (manager.MODELS, manager.BACKBONES, manager.DATASETS, manager.TRANSFORMS,
                     manager.LOSSES, manager.OPTIMIZERS):
        for name, component in registry.components_dict.items():
            sources[name] = component.__module__.split(".")[0]
    return sources


# Config keys whose "type" is not a component (optimizer and scheduler names map elsewhere).
_NON_COMPONENT_KEYS = ("lr_scheduler", "optimizer")


def check_component_types(config_dict: dict, config_path: str) -> None:
    """Raise :class:`InputError` for a ``type:`` that no manager knows, listing where names come from."""
    sources = _component_sources()
    for where, type_name in _walk_types(config_dict):
        if where.split(".")[0].split("[")[0] in _NON_COMPONENT_KEYS or type_name in sources:
            continue
        plugin = sorted(n for n, s in sources.items() if s == "paddleseg_hru2net")
        close = difflib.get_close_matches(type_name, list(sources), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise InputError(
            f"{config_path}: '{where}' has type '{type_name}', which no component manager knows.{hint}\n"
            f"Components come from PaddleSeg itself (paddleseg.models, .models.backbones, "
            f".models.losses, .datasets, .transforms, .optimizers) and from this plugin "
            f"(paddleseg_hru2net, registered on import: {', '.join(plugin)}). A component of "
            f"another package is known only once that package is imported.")


def _check_yaml(path: str) -> None:
    """A YAML syntax error as one line naming the file and the line."""
    import yaml
    try:
        with open(path) as handle:
            yaml.safe_load(handle)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise InputError(f"{path}{where}: not valid YAML ({problem}); fix the file") from error


def load_config(path: Optional[str], learning_rate: Optional[float] = None,
                batch_size: Optional[int] = None, iters: Optional[int] = None,
                opts: Optional[List[str]] = None):
    """Build a PaddleSeg ``Config`` with clear errors for a missing file, bad YAML or an unknown ``type``."""
    import paddleseg_hru2net  # noqa: F401  (registration)
    from paddleseg.cvlibs import Config
    if path is None:
        raise InputError("--config is required: a PaddleSeg YAML file, e.g. configs/hru2net_tio2.yml")
    if not os.path.isfile(path):
        raise InputError(f"config file {path} does not exist")
    if not path.endswith((".yml", ".yaml")):
        raise InputError(f"config file {path} must be YAML (.yml or .yaml)")
    _check_yaml(path)
    try:
        config = Config(path, learning_rate=learning_rate, batch_size=batch_size, iters=iters,
                        opts=opts)
    except (AssertionError, ValueError, KeyError, TypeError, FileNotFoundError) as error:
        raise InputError(f"{path}: {error}") from error
    check_component_types(config.dic, path)
    return config


def build(builder, attribute: str, config_path: str):
    """``getattr(builder, attribute)``, re-raising our input errors and making the rest readable.

    PaddleSeg's builder wraps any constructor error in a RuntimeError; the original error (a
    missing file, a bad label) is its ``__context__`` and is what the user needs to see.
    """
    try:
        return getattr(builder, attribute)
    except (RuntimeError, AssertionError, FileNotFoundError, ValueError) as error:
        original = error.__context__ if isinstance(error, RuntimeError) else error
        if isinstance(original, InputError):
            raise original from None
        raise InputError(f"{config_path}: cannot build {attribute}: {original or error}") from error


def load_weights(model, path: Optional[str]) -> None:
    """Load a ``.pdparams`` file into ``model`` with a clear error if it is missing, corrupt or
    does not fit."""
    from paddleseg_hru2net.checkpoints import read_state_dict
    if path is None:
        raise InputError("--model_path is required: the .pdparams file written by training "
                         "(e.g. output/best_model/model.pdparams)")
    state = read_state_dict(path)
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    mismatched = [k for k in own if k in state and list(state[k].shape) != list(own[k].shape)]
    if missing or mismatched:
        raise InputError(
            f"{path} does not fit the model of this config: {len(missing)} parameters missing "
            f"(e.g. {missing[:3]}), {len(mismatched)} with other shapes (e.g. {mismatched[:3]}). "
            f"Use the config the weights were trained with.")
    model.set_state_dict(state)


def _window_hw(size: Optional[Sequence[int]]) -> Optional[tuple]:
    """A PaddleSeg ``[width, height]`` size as ``(height, width)``."""
    return (int(size[1]), int(size[0])) if size else None


def feed_of(config, dataset_class, record: Dict[str, Any]) -> Feed:
    """How to feed the model of ``config`` trained in the run described by ``record``.

    The window is, in order: the run's recorded inference window; its training crop size; the
    config's ``test_config.crop_size``; the first crop size in its train transforms; 512.
    """
    from paddleseg_hru2net.run_records import crop_size_of
    window = (tuple(record["window"]) if record.get("window") else None) \
        or _window_hw(record.get("train_crop_size")) \
        or _window_hw(config.test_config.get("crop_size")) \
        or _window_hw(crop_size_of(config.train_dataset_cfg.get("transforms"))) or DEFAULT_WINDOW
    mean, std = normalisation_from_transforms(config.val_dataset_cfg.get("transforms"))
    num_classes = config.model_cfg.get("num_classes") or getattr(dataset_class, "NUM_CLASSES", 2)
    return Feed(window=window, channels=int(getattr(dataset_class, "IMG_CHANNELS", 3)),
                mean=tuple(mean), std=tuple(std), num_classes=int(num_classes),
                **recorded_settings(record))


@dataclass
class PaddleNetwork:
    """A dygraph network in eval mode built from a config, its weights, and how to feed it."""

    config: Any
    config_path: str
    builder: Any
    layer: Any
    source: ModelSource
    feed: Feed
    record: Dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.config.model_cfg.get("type", "?"))


def load_network(source: ModelSource, opts: Optional[List[str]] = None,
                 weights_required: bool = True) -> PaddleNetwork:
    """Build the config's model, load the weights and read how to feed it."""
    from paddleseg.cvlibs import SegBuilder

    from paddleseg_hru2net.run_records import read_run_record
    if source.exported is not None:
        raise InputError(f"{source.exported} is an exported model; this needs a config and "
                         f".pdparams weights (--config, --model_path)")
    if source.weights is not None:
        # The weights are loaded below. A config saved by a training run names the weights that
        # run started from (model.pretrained), often a path on another machine: not needed.
        opts = [*(opts or []), "model.pretrained=None"]
    config = load_config(source.config, opts=opts)
    builder = SegBuilder(config)
    layer = build(builder, "model", source.config)
    if source.weights is not None or weights_required:
        load_weights(layer, source.weights)
    layer.eval()
    record = read_run_record(source.weights) if source.weights else {}
    dataset_class = build(builder, "val_dataset_class", source.config)
    return PaddleNetwork(config, source.config, builder, layer, source,
                         feed_of(config, dataset_class, record), record)
