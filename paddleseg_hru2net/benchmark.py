"""Measuring what a model costs: parameters, FLOPs and CPU latency, side by side in one run."""
from __future__ import annotations

import contextlib
import io
import statistics
import time
from typing import Callable, Dict, List, Sequence

import numpy as np
import paddle

__all__ = ["count_parameters", "count_flops", "interleaved_timings", "markdown_table"]


def count_parameters(model: paddle.nn.Layer) -> int:
    """Trainable parameters (BatchNorm running statistics are not counted)."""
    return sum(int(np.prod(p.shape)) for p in model.parameters() if not p.stop_gradient)


def count_flops(model: paddle.nn.Layer, input_shape: Sequence[int]) -> int:
    """``paddle.flops`` of one forward pass (it counts multiply-accumulates of layers), quietly."""
    was_training = model.training
    model.eval()
    with contextlib.redirect_stdout(io.StringIO()):
        flops = paddle.flops(model, list(input_shape), print_detail=False)
    model.train(was_training)
    return int(flops)


def _forward(model, x):
    model.eval()
    with paddle.no_grad():
        model(x)


def _forward_backward(model, x):
    model.train()
    outputs = model(x)
    loss = sum(o.mean() for o in (outputs if isinstance(outputs, (list, tuple)) else [outputs]))
    loss.backward()
    model.clear_gradients()


MODES: Dict[str, Callable] = {"forward": _forward, "forward+backward": _forward_backward}


def interleaved_timings(models: Dict[str, paddle.nn.Layer], input_shape: Sequence[int],
                        repeats: int = 3, warmup: int = 1,
                        modes: Sequence[str] = tuple(MODES)) -> Dict[str, Dict[str, float]]:
    """Median seconds per call of each model and mode, the models taking turns in every round.

    Taking turns spreads any change in machine load over all models alike, so their ratios stay
    meaningful on a busy machine.
    """
    x = paddle.randn(list(input_shape))
    samples: Dict[str, Dict[str, List[float]]] = {n: {m: [] for m in modes} for n in models}
    for round_index in range(warmup + repeats):
        for mode in modes:
            run = MODES[mode]
            for name, model in models.items():
                start = time.perf_counter()
                run(model, x)
                elapsed = time.perf_counter() - start
                if round_index >= warmup:
                    samples[name][mode].append(elapsed)
    return {n: {m: statistics.median(v) for m, v in modes.items()} for n, modes in samples.items()}


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
