"""The output folder of an analysis run: unambiguous names, no stale results, resumable.

Every image's outputs are named by a stem unique in the run (:func:`output_stems`); a run
refuses a folder holding an earlier run unless asked to ``--overwrite`` it or ``--resume`` it;
an image counts as done only when its ``<stem>_summary.json`` (written last) is there.
"""
from __future__ import annotations

import json
import os
import tempfile
from typing import Dict, Optional, Sequence

from paddleseg_hru2net.errors import InputError

__all__ = ["IMAGE_OUTPUTS", "RUN_OUTPUTS", "OutputFolderError", "output_stems",
           "prepare_output_folder", "done_record", "check_same_settings"]


def output_stems(paths: Sequence[str]) -> Dict[str, str]:
    """The stem each image's outputs are named by: its file name without the extension, or with
    the extension folded in where two images share a stem (``a.png`` and ``a.tif`` give
    ``a_png`` and ``a_tif``), so no image's outputs overwrite another's."""
    stems = {p: os.path.splitext(os.path.basename(p))[0] for p in paths}
    counts: Dict[str, int] = {}
    for stem in stems.values():
        counts[stem] = counts.get(stem, 0) + 1
    return {p: (stem if counts[stem] == 1 else
                f"{stem}_{os.path.splitext(p)[1].lstrip('.').lower()}")
            for p, stem in stems.items()}


#: Files an analysis run writes: per image (suffixes) and per run.
IMAGE_OUTPUTS = ("_mask.png", "_labels.tif", "_overlay.png", "_particles.csv", "_summary.json")
RUN_OUTPUTS = ("summary.csv", "failures.csv", "size_histogram.png", "run.json")


def is_run_output(name: str) -> bool:
    return name in RUN_OUTPUTS or name.endswith(IMAGE_OUTPUTS)


class OutputFolderError(InputError):
    """The output folder cannot be used as asked (exists as a file, holds an old run, ...)."""


def prepare_output_folder(out_dir: str, input_path: str, overwrite: bool = False,
                          resume: bool = False) -> None:
    """Check (before any model is loaded) that ``out_dir`` can take this run's results.

    Refuses a file, a folder inside the input folder (the next run would analyse its outputs),
    an unwritable folder, and a folder holding an earlier run unless ``overwrite`` (its old
    outputs are removed) or ``resume`` (images already done are kept and skipped).
    """
    if overwrite and resume:
        raise OutputFolderError("--overwrite and --resume exclude each other: start afresh or finish the old run")
    out_abs = os.path.realpath(out_dir)
    in_abs = os.path.realpath(input_path)
    in_folder = in_abs if os.path.isdir(in_abs) else os.path.dirname(in_abs)
    if os.path.exists(out_abs) and not os.path.isdir(out_abs):
        raise OutputFolderError(f"--out {out_dir} is a file; give a folder for the results")
    if out_abs == in_folder or (os.path.isdir(in_abs) and out_abs.startswith(in_folder + os.sep)):
        raise OutputFolderError(f"--out {out_dir} is inside the input folder {input_path}; the next run "
                                f"would analyse its own outputs - choose a folder outside it")
    try:
        os.makedirs(out_abs, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=out_abs, prefix=".write-test-", delete=True)
        probe.write(b"x" * 4096)
        probe.flush()
        probe.close()
    except OSError as error:
        raise OutputFolderError(f"--out {out_dir} cannot be written ({error.strerror}); choose "
                                f"another folder") from error
    old = [n for n in os.listdir(out_abs) if is_run_output(n)]
    if old and not (overwrite or resume):
        raise OutputFolderError(f"--out {out_dir} holds the results of an earlier run ({len(old)} files); "
                                f"pass --resume to finish it or --overwrite to replace it")
    others = [n for n in os.listdir(out_abs) if not is_run_output(n) and not n.startswith(".")]
    if others and not resume and not old:
        raise OutputFolderError(f"--out {out_dir} is not empty ({others[0]}, ...); give a new or empty folder")
    if overwrite:
        for name in old:
            os.remove(os.path.join(out_abs, name))


def done_record(out_dir: str, stem: str) -> Optional[dict]:
    """The record of an image a previous run finished (all its files there), else None."""
    if not all(os.path.isfile(os.path.join(out_dir, stem + suffix)) for suffix in IMAGE_OUTPUTS):
        return None
    try:
        with open(os.path.join(out_dir, f"{stem}_summary.json")) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def check_same_settings(out_dir: str, settings: dict) -> None:
    path = os.path.join(out_dir, "run.json")
    if not os.path.isfile(path):
        return
    with open(path) as handle:
        old = json.load(handle)
    changed = sorted(k for k in set(old) | set(settings) if old.get(k) != settings.get(k))
    if changed:
        raise OutputFolderError(f"--resume: {path} was made with other settings ({', '.join(changed)}); "
                                f"use the same options, or --overwrite to start afresh")


