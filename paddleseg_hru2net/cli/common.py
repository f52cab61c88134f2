"""What every command shares: one-line errors, device choice, the model arguments.

The commands parse arguments and call the library; library errors that a user can fix
(:class:`~paddleseg_hru2net.errors.InputError` and its kinds) are printed on one line and the
command exits with 2. Nothing below ``cli/`` imports from here.
"""
from __future__ import annotations

import functools
import sys
from typing import Callable, List, Optional

from paddleseg_hru2net.errors import InputError

__all__ = ["UserError", "friendly_main", "doc_parser", "default_device", "set_device", "add_device_argument",
           "add_model_arguments", "add_opts_argument", "source_from_args", "network_from_args",
           "positive_pair"]

#: A bad invocation, raised by the commands themselves (the library raises :class:`InputError`).
UserError = InputError


def friendly_main(main: Callable[..., Optional[int]]) -> Callable[..., int]:
    """Run ``main``; turn :class:`InputError` into one line on stderr and exit code 2, and
    Ctrl-C into exit code 130 without a traceback."""

    @functools.wraps(main)
    def wrapper(argv: Optional[List[str]] = None) -> int:
        try:
            code = main(argv)
        except InputError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
        return int(code or 0)

    return wrapper


def doc_parser(prog: str, doc: str):
    """An argument parser whose description is the first line of ``doc`` (a command module's
    docstring) and whose epilog is the rest, kept as written (usage examples)."""
    import argparse
    lines = doc.splitlines()
    return argparse.ArgumentParser(prog=prog, description=lines[0],
                                   formatter_class=argparse.RawDescriptionHelpFormatter,
                                   epilog="\n".join(lines[1:]))


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


def add_model_arguments(parser) -> None:
    """``--config`` and ``--model_path``; both default to the shipped HRU2-Net† when omitted."""
    parser.add_argument("--config", default=None,
                        help="the config file (YAML); default: the shipped HRU2-Net†'s")
    parser.add_argument("--model_path", default=None,
                        help="trained weights (.pdparams); default: the shipped HRU2-Net† weights")


def add_opts_argument(parser) -> None:
    parser.add_argument("--opts", nargs="+", default=None,
                        help="override config keys: --opts key1=value1 key2=value2")


def add_augmentation_options(parser) -> None:
    """``--flips`` / ``--no-flips`` (``Feed.flips``) and ``--views`` (``Feed.views``), shared by
    the commands that run the analysis."""
    import argparse
    parser.add_argument("--flips", action=argparse.BooleanOptionalAction, default=None,
                        help="average the model over the image and its three flipped copies (four "
                             "times the model time) or not; default: as recorded with the model "
                             "(the generalist does, the TiO2 specialist does not)")
    parser.add_argument("--views", type=float, nargs="+", default=None, metavar="FACTOR",
                        help="average the model over the image resampled by each factor (1 is the "
                             "image as it is; 1.5 costs 2.25 times its model time); default: as "
                             "recorded with the model (the TiO2 specialist: 1 1.5, the generalist: 1)")


def positive_views(values: Optional[List[float]], option: str = "--views") -> Optional[List[float]]:
    """Check a views option (``--views``): one or more positive scale factors."""
    if values is not None and (not values or min(values) <= 0):
        raise UserError(f"{option} takes positive scale factors, got {' '.join(map(str, values)) or 'none'}")
    return values


def positive_pair(values: Optional[List[int]], option: str) -> Optional[List[int]]:
    """Check a two-number size option (a window, a stride): both at least 1."""
    if values is not None and (len(values) != 2 or min(values) < 1):
        raise UserError(f"{option} takes two positive pixel counts, got {' '.join(map(str, values))}")
    return values


def source_from_args(args, model: Optional[str] = None, exported: Optional[str] = None):
    """The :class:`~paddleseg_hru2net.inference.source.ModelSource` a command's arguments name."""
    from paddleseg_hru2net.inference.source import resolve_source
    return resolve_source(args.config, args.model_path, exported=exported, model=model)


def network_from_args(args):
    """The Paddle network (config with ``--opts``, weights) a command's arguments name."""
    from paddleseg_hru2net.inference.paddle_model import load_network
    return load_network(source_from_args(args), opts=getattr(args, "opts", None))
