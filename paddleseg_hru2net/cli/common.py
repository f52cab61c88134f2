"""What every command shares: friendly errors, config loading, device choice, weights loading."""
from __future__ import annotations

import difflib
import functools
import os
import sys
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional

__all__ = ["UserError", "friendly_main", "load_config", "default_device", "set_device",
           "load_weights", "add_device_argument", "add_model_arguments", "add_opts_argument",
           "LoadedModel", "load_model_from_args"]


class UserError(Exception):
    """A mistake the user can fix: printed as one clear message, exit code 2, no traceback."""


def friendly_main(main: Callable[..., Optional[int]]) -> Callable[..., int]:
    """Run ``main``; turn :class:`UserError` (and known input errors) into a message and exit 2."""

    @functools.wraps(main)
    def wrapper(argv: Optional[List[str]] = None) -> int:
        from paddleseg_hru2net.datasets.labels import LabelError
        from paddleseg_hru2net.datasets.tio2 import DatasetListError
        from paddleseg_hru2net.io import ImageReadError
        try:
            code = main(argv)
        except (UserError, LabelError, DatasetListError, ImageReadError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        return int(code or 0)

    return wrapper


def default_device() -> str:
    """``gpu`` where Paddle was built with CUDA, else ``cpu``."""
    import paddle
    return "gpu" if paddle.device.is_compiled_with_cuda() else "cpu"


def add_device_argument(parser) -> None:
    parser.add_argument("--device", default=None,
                        help="cpu, gpu, xpu, npu, mlu (default: gpu if Paddle has CUDA, else cpu)")


def set_device(device: Optional[str]) -> str:
    import paddle
    device = device or default_device()
    if device == "gpu" and not paddle.device.is_compiled_with_cuda():
        raise UserError("--device gpu, but this Paddle is a CPU build; install paddlepaddle-gpu "
                        "(see README) or use --device cpu")
    paddle.set_device(device)
    return device


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
    """Raise :class:`UserError` for a ``type:`` that no manager knows, listing where names come from."""
    sources = _component_sources()
    for where, type_name in _walk_types(config_dict):
        if where.split(".")[0].split("[")[0] in _NON_COMPONENT_KEYS:
            continue
        if type_name in sources:
            continue
        plugin = sorted(n for n, s in sources.items() if s == "paddleseg_hru2net")
        close = difflib.get_close_matches(type_name, list(sources), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UserError(
            f"{config_path}: '{where}' has type '{type_name}', which no component manager knows.{hint}\n"
            f"Components come from PaddleSeg itself (paddleseg.models, .models.backbones, "
            f".models.losses, .datasets, .transforms, .optimizers) and from this plugin "
            f"(paddleseg_hru2net, registered on import: {', '.join(plugin)}). A component of "
            f"another package is known only once that package is imported.")


def load_config(path: str, learning_rate: Optional[float] = None, batch_size: Optional[int] = None,
                iters: Optional[int] = None, opts: Optional[List[str]] = None):
    """Build a PaddleSeg ``Config`` with clear errors for a missing file or an unknown ``type``."""
    import paddleseg_hru2net  # noqa: F401  (registration)
    from paddleseg.cvlibs import Config
    if path is None:
        raise UserError("--config is required: a PaddleSeg YAML file, e.g. configs/hru2net_tio2.yml")
    if not os.path.isfile(path):
        raise UserError(f"config file {path} does not exist")
    if not path.endswith((".yml", ".yaml")):
        raise UserError(f"config file {path} must be YAML (.yml or .yaml)")
    try:
        config = Config(path, learning_rate=learning_rate, batch_size=batch_size, iters=iters,
                        opts=opts)
    except (AssertionError, ValueError, KeyError) as error:
        raise UserError(f"{path}: {error}") from error
    check_component_types(config.dic, path)
    return config


def build(builder, attribute: str, config_path: str):
    """``getattr(builder, attribute)``, re-raising our data errors and making the rest readable.

    PaddleSeg's builder wraps any constructor error in a RuntimeError; the original error (a
    missing file, a bad label) is its ``__context__`` and is what the user needs to see.
    """
    from paddleseg_hru2net.datasets.labels import LabelError
    from paddleseg_hru2net.datasets.tio2 import DatasetListError
    try:
        return getattr(builder, attribute)
    except (RuntimeError, AssertionError, FileNotFoundError, ValueError) as error:
        original = error.__context__ if isinstance(error, RuntimeError) else error
        if isinstance(original, (LabelError, DatasetListError)):
            raise original from None
        raise UserError(f"{config_path}: cannot build {attribute}: {original or error}") from error


def load_weights(model, path: Optional[str]) -> None:
    """Load a ``.pdparams`` file into ``model`` with a clear error if it is missing or does not fit."""
    import paddle
    if path is None:
        raise UserError("--model_path is required: the .pdparams file written by training "
                        "(e.g. output/best_model/model.pdparams)")
    if not os.path.isfile(path):
        raise UserError(f"model weights {path} do not exist")
    state = paddle.load(path)
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    mismatched = [k for k in own if k in state and list(state[k].shape) != list(own[k].shape)]
    if missing or mismatched:
        raise UserError(
            f"{path} does not fit the model of this config: {len(missing)} parameters missing "
            f"(e.g. {missing[:3]}), {len(mismatched)} with other shapes (e.g. {mismatched[:3]}). "
            f"Use the config the weights were trained with.")
    model.set_state_dict(state)


def add_model_arguments(parser) -> None:
    """``--config`` and ``--model_path``; both default to the shipped HRU2-Net† when omitted."""
    parser.add_argument("--config", default=None,
                        help="the config file (YAML); default: the shipped HRU2-Net†'s")
    parser.add_argument("--model_path", default=None,
                        help="trained weights (.pdparams); default: the shipped HRU2-Net† weights")


def add_opts_argument(parser) -> None:
    parser.add_argument("--opts", nargs="+", default=None,
                        help="override config keys: --opts key1=value1 key2=value2")


@dataclass
class LoadedModel:
    """A config, its builder, the model with weights loaded, and its input channels."""

    config: Any
    config_path: str
    builder: Any
    model: Any
    model_path: str
    channels: int


def resolve_model_paths(config_path: Optional[str], model_path: Optional[str]) -> tuple:
    """Fill in the shipped HRU2-Net† config and weights where the user gave none."""
    if model_path is not None:
        return config_path, model_path
    from paddleseg_hru2net.pretrained import shipped_model
    shipped = shipped_model()
    if shipped is None:
        raise UserError("--model_path is required: the .pdparams file written by training "
                        "(e.g. output/best_model/model.pdparams); this install ships no weights")
    if config_path is None:
        config_path = shipped.config
    print(f"using the shipped weights {shipped.weights}", file=sys.stderr)
    return config_path, shipped.weights


def load_model_from_args(args) -> LoadedModel:
    """Config (with ``--opts``), model and weights from a command's arguments."""
    from paddleseg.cvlibs import SegBuilder
    config_path, model_path = resolve_model_paths(args.config, args.model_path)
    config = load_config(config_path, opts=getattr(args, "opts", None))
    builder = SegBuilder(config)
    model = build(builder, "model", config_path)
    load_weights(model, model_path)
    channels = getattr(build(builder, "val_dataset_class", config_path), "IMG_CHANNELS", 3)
    return LoadedModel(config, config_path, builder, model, model_path, int(channels))
