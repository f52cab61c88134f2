"""``hru2net-benchmark-analysis``: where ``hru2net analyze``'s time goes, and how it compares.

    hru2net-benchmark-analysis --image "../shared/data/tio2_sem_ruhle2021/Electron Microscopy Images/SEM/1908248.tif"

Side by side in one run, on one full frame (data bar kept, so the whole 1024 x 768 frame is
segmented): the default ``hru2net analyze``, the same with ``--flips`` (the image and its three
flipped copies averaged) and with ``--views 1`` (the image as it is only, where the model
records more views), the specialist alone where the default is the automatic choice (which
checks it against the generalist), the fastest float backend when the default is not one (int8),
and ``hru2net analyze --backend paddle`` as whole commands (separate processes,
model cache warm, median of --repeats), one raw forward pass of the whole frame by the default
backend's runtime, and the default pipeline's steps in-process (loading, model, window cutting
and blending, splitting, measuring, writing). The overhead is everything but the model.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence

from paddleseg_hru2net.cli.common import UserError, doc_parser, friendly_main, positive_views


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = doc_parser("hru2net-benchmark-analysis", __doc__)
    parser.add_argument("--image", required=True, help="a full microscope frame")
    parser.add_argument("--model", default=None, help="a shipped model by name (default: the default one)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each whole command")
    parser.add_argument("--paddle_repeats", type=int, default=1,
                        help="runs of the Paddle command (slow; 0 leaves it out and compares with the default)")
    parser.add_argument("--views_also", action="append", default=[], metavar="'F [F ...]'",
                        help="also time the command with --views F ... (repeatable; e.g. '1 1.5' to set "
                             "a model's recorded views against others)")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.paddle_repeats < 0:
        parser.error("--repeats must be at least 1 and --paddle_repeats at least 0")
    try:
        factors = [[float(f) for f in views.split()] for views in args.views_also]
    except ValueError:
        raise UserError(f"--views_also takes positive scale factors separated by spaces, got {args.views_also}")
    args.views_also = [[f"{f:g}" for f in positive_views(views, "--views_also")] for views in factors]
    return args


def _command(image: str, backend: Optional[str], model: Optional[str], out: str,
             extra: Sequence[str] = ()) -> List[str]:
    command = [sys.executable, "-m", "paddleseg_hru2net.cli.analyze", "analyze", image, "--out", out,
               "--data-bar-rows", "0", *extra]
    if backend:
        command += ["--backend", backend]
    if model:
        command += ["--model", model]
    return command


def time_command(command: List[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return elapsed


def pipeline_steps(image_path: str, model: Optional[str], out_dir: str) -> Dict[str, float]:
    """Seconds of each step of the default pipeline on one image, in this process."""
    import numpy as np

    from paddleseg_hru2net.analysis.particles import measure_particles
    from paddleseg_hru2net.analysis.workflow import (ImageResult, image_record, load_sem_image,
                                                     particle_maps, stored_splittings, write_image_results)
    from paddleseg_hru2net.inference import load_segmenter, normalise, resolve_source

    steps: Dict[str, float] = {}
    start = time.perf_counter()
    source = resolve_source(model=model, announce=False)
    segmenter = load_segmenter(source)
    steps["load model"] = time.perf_counter() - start
    start = time.perf_counter()
    image = load_sem_image(image_path, data_bar_rows=0)
    steps["read image"] = time.perf_counter() - start
    start = time.perf_counter()
    probabilities = segmenter.probabilities(image.grey)
    total = time.perf_counter() - start
    steps["model (windows)"] = segmenter.model_seconds
    steps["cut + blend windows"] = total - segmenter.model_seconds
    splitting = stored_splittings(source).native
    start = time.perf_counter()
    labels = splitting.labels(probabilities)
    steps["split particles"] = time.perf_counter() - start
    start = time.perf_counter()
    particles = measure_particles(labels, image.pixel_size_nm)
    steps["measure"] = time.perf_counter() - start
    start = time.perf_counter()
    image.annotations  # computed once per image, where the particles drawn over are left out
    steps["find drawn boxes, bars and text (OCR)"] = time.perf_counter() - start
    mask = (particle_maps(probabilities).particle > splitting.threshold).astype(np.uint8)
    result = ImageResult(image.path, mask, labels, particles, image)
    start = time.perf_counter()
    write_image_results(result, out_dir)
    image_record(result)
    steps["write outputs"] = time.perf_counter() - start
    start = time.perf_counter()
    segmenter.run(np.ascontiguousarray(normalise(image.grey, segmenter.feed)[None]))
    steps["raw forward, whole frame"] = time.perf_counter() - start
    steps["_backend"] = segmenter.backend  # type: ignore[assignment]
    steps["_window"] = list(segmenter.feed.window)  # type: ignore[assignment]
    steps["_shape"] = list(image.grey.shape)  # type: ignore[assignment]
    return steps


@friendly_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    work = tempfile.mkdtemp(prefix="hru2net-bench-")
    # warm the model cache (the first default run exports the model once)
    first = time_command(_command(args.image, None, args.model, os.path.join(work, "warm")))
    from paddleseg_hru2net.inference import default_backend
    float_backend = default_backend(announce=False, exact=True)
    compare_float = float_backend != default_backend(announce=False)
    if compare_float:  # warm its cache too
        time_command(_command(args.image, float_backend, args.model, os.path.join(work, "warm_float")))
    from paddleseg_hru2net.inference.source import DEFAULT_MODEL, auto_choice_available
    # the automatic choice checks the specialist against the generalist: what that costs
    alone = DEFAULT_MODEL if args.model is None and auto_choice_available() else None
    runs: Dict[str, List[float]] = {"default": [], "flips": [], "float": [], "paddle": [], "alone": []}
    # the image as it is only, then the views asked for
    view_sets = {" ".join(views): views for views in [["1"], *args.views_also]}
    runs.update({f"views {name}": [] for name in view_sets})
    for index in range(max(args.repeats, args.paddle_repeats)):
        if index < args.repeats:
            runs["default"].append(time_command(_command(args.image, None, args.model,
                                                         os.path.join(work, f"default{index}"))))
            runs["flips"].append(time_command(_command(args.image, None, args.model,
                                                       os.path.join(work, f"flips{index}"), ["--flips"])))
            for number, (name, views) in enumerate(view_sets.items()):
                runs[f"views {name}"].append(time_command(_command(
                    args.image, None, args.model, os.path.join(work, f"views{number}_{index}"), ["--views", *views])))
            if alone:
                runs["alone"].append(time_command(_command(args.image, None, alone,
                                                           os.path.join(work, f"alone{index}"))))
            if compare_float:
                runs["float"].append(time_command(_command(args.image, float_backend, args.model,
                                                           os.path.join(work, f"float{index}"))))
        if index < args.paddle_repeats:
            runs["paddle"].append(time_command(_command(args.image, "paddle", args.model,
                                                        os.path.join(work, f"paddle{index}"))))
    steps = pipeline_steps(args.image, args.model, os.path.join(work, "steps"))
    default = statistics.median(runs["default"])
    reference_name = "--backend paddle" if runs["paddle"] else "the default"
    reference = statistics.median(runs["paddle"]) if runs["paddle"] else default
    backend = steps.pop("_backend")
    window, shape = steps.pop("_window"), steps.pop("_shape")
    print(f"image {args.image}: {shape[1]} x {shape[0]} px, window {window}, {os.cpu_count()} cores")
    print(f"| whole command | median s | runs | speed-up vs {reference_name} |")
    print("|---|---|---|---|")

    def row(label: str, key: str) -> float:
        seconds = statistics.median(runs[key])
        print(f"| {label} | {seconds:.2f} | {len(runs[key])} | {reference / seconds:.2f}x |")
        return seconds

    row(f"hru2net analyze (default: {backend})", "default")
    flips = statistics.median(runs["flips"])
    row(f"hru2net analyze --flips ({backend}; {flips / default:.2f}x the default's time)", "flips")
    for name in view_sets:
        seconds = statistics.median(runs[f"views {name}"])
        row(f"hru2net analyze --views {name} ({backend}; the default takes {default / seconds:.2f}x its time)",
            f"views {name}")
    if runs["alone"]:
        by_itself = statistics.median(runs["alone"])
        row(f"hru2net analyze --model {alone} (no automatic choice; the default takes "
            f"{default / by_itself:.2f}x its time)", "alone")
    if runs["float"]:
        row(f"hru2net analyze --backend {float_backend}", "float")
    if runs["paddle"]:
        row("hru2net analyze --backend paddle", "paddle")
    print(f"(first default run, exporting the model to the cache: {first:.2f} s)")
    pipeline = sum(v for k, v in steps.items() if k != "raw forward, whole frame")
    model = steps["model (windows)"]
    print("\n| step of the default pipeline (in-process) | s | share |")
    print("|---|---|---|")
    for name, seconds in steps.items():
        share = f"{100 * seconds / pipeline:.1f} %" if name != "raw forward, whole frame" else "-"
        print(f"| {name} | {seconds:.2f} | {share} |")
    print(f"\noverhead (everything but the model): {pipeline - model:.2f} s = "
          f"{100 * (pipeline - model) / pipeline:.1f} % of {pipeline:.2f} s in-process; "
          f"whole command {default:.2f} s, of which model {100 * model / default:.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
