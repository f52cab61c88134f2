"""Give HRU2-Net(†) weights one more class, a copy of an existing one, to start training a model
with a new class from a trained one (e.g. the four-class centre target from the three-class
contact specialist) instead of from re-initialised output layers.

The new class's side convolutions copy those of ``--copy``; in the fusion of the side outputs the
weight each side's ``--copy`` logit had is shared equally between that logit and the new
class's, so the widened model's fused logits of the old classes are the old model's exactly, and
the new class's logit equals ``--copy``'s (their probabilities split that class's).

usage: python tools/experiments/widen_classes.py OLD.pdparams NEW.pdparams [--copy 1]
"""
from __future__ import annotations

import argparse
import re
from typing import Dict, List, Optional

import numpy as np


def widened_weights(state: Dict[str, np.ndarray], copy: int) -> Dict[str, np.ndarray]:
    """The weights (numpy arrays by name) with one more class, a copy of class ``copy``."""
    classes = state["fuse_sides.bias"].shape[0]
    if not 0 <= copy < classes:
        raise ValueError(f"--copy must name one of the {classes} classes, got {copy}")
    out = dict(state)
    for name, value in state.items():
        if re.fullmatch(r"sides\.\d+\.(weight|bias)", name):
            out[name] = np.concatenate([value, value[copy:copy + 1]], axis=0)
    fuse = state["fuse_sides.weight"]  # (classes, sides * classes, 1, 1), side-major inputs
    sides = fuse.shape[1] // classes
    by_side = fuse.reshape(classes, sides, classes, *fuse.shape[2:])
    shared = by_side[:, :, copy:copy + 1] / 2.0
    by_side = np.concatenate([by_side[:, :, :copy], shared, by_side[:, :, copy + 1:], shared], axis=2)
    by_side = np.concatenate([by_side, by_side[copy:copy + 1]], axis=0)
    out["fuse_sides.weight"] = by_side.reshape(classes + 1, sides * (classes + 1), *fuse.shape[2:])
    out["fuse_sides.bias"] = np.concatenate([state["fuse_sides.bias"], state["fuse_sides.bias"][copy:copy + 1]])
    return out


def main(argv: Optional[List[str]] = None) -> int:
    import paddle
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--copy", type=int, default=1, help="the class the new one copies (default 1)")
    args = parser.parse_args(argv)
    state = {name: np.asarray(value) for name, value in paddle.load(args.old).items()}
    paddle.save({name: paddle.to_tensor(value) for name, value in widened_weights(state, args.copy).items()},
                args.new)
    print(f"{args.new}: {state['fuse_sides.bias'].shape[0] + 1} classes, class "
          f"{state['fuse_sides.bias'].shape[0]} a copy of class {args.copy}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
