"""Weights files (``.pdparams``): reading them with one-line errors, and averaging several.

Averaging the weights of models fine-tuned from one parent (a "model soup", Wortsman et al.,
ICML 2022, arXiv:2203.05482) gives one network that is often better than each of them, at the
cost of one: no ensemble at analysis time. It only makes sense for runs that start from the same
weights and train the same architecture; this module checks the second (the same parameters,
the same shapes), the user answers for the first.
"""
from __future__ import annotations

import os
from typing import Dict, List, Sequence

import numpy as np

from paddleseg_hru2net.errors import InputError

__all__ = ["read_state_dict", "average_state_dicts", "average_weights_files"]


def read_state_dict(path: str) -> dict:
    """The state dict in ``path``; an :class:`InputError` naming the file if it is missing,
    damaged or not a state dict."""
    import paddle
    if not os.path.isfile(path):
        raise InputError(f"model weights {path} do not exist")
    try:
        state = paddle.load(path)
    except Exception as error:  # Paddle raises many types for a damaged file
        raise InputError(f"{path}: cannot read these weights ({type(error).__name__}); the file is "
                         f"damaged or not a .pdparams file - use another checkpoint") from error
    if not isinstance(state, dict):
        raise InputError(f"{path}: not a .pdparams state dict")
    return state


def _as_array(value) -> np.ndarray:
    return value.numpy() if hasattr(value, "numpy") else np.asarray(value)


def _check_same_parameters(first: Dict[str, np.ndarray], other: Dict[str, np.ndarray], name: str,
                           first_name: str) -> None:
    missing = sorted(set(first) ^ set(other))
    reshaped = sorted(key for key in set(first) & set(other) if first[key].shape != other[key].shape)
    if missing or reshaped:
        raise InputError(
            f"{name} does not fit {first_name}: {len(missing)} parameters in only one of them "
            f"(e.g. {missing[:3]}), {len(reshaped)} with other shapes (e.g. {reshaped[:3]}); "
            f"average only weights of the same model")


def average_state_dicts(states: Sequence[Dict[str, np.ndarray]],
                        names: Sequence[str]) -> Dict[str, np.ndarray]:
    """The uniform average of ``states`` (arrays by parameter name), parameter by parameter.

    Floating-point entries (weights, biases, batch-norm statistics) are averaged in float64 and
    kept in their own dtype; other entries (counters) must agree and are kept. ``names`` name
    the states in errors.
    """
    if len(states) < 2:
        raise InputError(f"averaging needs at least two weights files, got {len(states)}")
    first = states[0]
    for state, name in zip(states[1:], names[1:]):
        _check_same_parameters(first, state, name, names[0])
    averaged = {}
    for key, value in first.items():
        if np.issubdtype(value.dtype, np.floating):
            total = sum(state[key].astype(np.float64) for state in states)
            averaged[key] = (total / len(states)).astype(value.dtype)
        else:
            differing = [name for state, name in zip(states, names) if not np.array_equal(state[key], value)]
            if differing:
                raise InputError(f"{differing[0]}: its {key} differs from {names[0]}'s and cannot be "
                                 f"averaged; average only weights of the same model")
            averaged[key] = value
    return averaged


def average_weights_files(paths: Sequence[str], out_path: str) -> List[str]:
    """Write the uniform average of the weights files ``paths`` to ``out_path`` (atomically);
    returns the parameter names."""
    import paddle

    from paddleseg_hru2net.files import atomic_path
    states = [{key: _as_array(value) for key, value in read_state_dict(path).items()} for path in paths]
    averaged = average_state_dicts(states, list(paths))
    with atomic_path(out_path) as temporary:
        paddle.save({key: paddle.to_tensor(value) for key, value in averaged.items()}, str(temporary))
    return list(averaged)
