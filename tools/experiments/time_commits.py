"""Time ``hru2net analyze`` as two commits of this repository run it, side by side in one run.

    python tools/experiments/time_commits.py --image "../shared/data/tio2_sem_ruhle2021/Electron Microscopy Images/SEM/1908256.tif" --before beb45e4 --repeats 3

Each commit is checked out into a temporary git worktree; the two commands (the same arguments,
``python -m paddleseg_hru2net.cli.analyze analyze IMAGE --out ...`` with the worktree first on
``PYTHONPATH``) run alternately, after one warm-up run each (the model cache), and the medians
and their ratio are printed. ``--after`` defaults to the working tree itself. Extra arguments
after ``--`` go to both commands.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def worktree(commit: str, folder: str) -> str:
    path = os.path.join(folder, commit)
    subprocess.run(["git", "-C", REPO, "worktree", "add", "--detach", "-f", path, commit],
                   check=True, capture_output=True)
    return path


def timed_run(tree: str, image: str, out: str, extra: List[str]) -> float:
    env = dict(os.environ, PYTHONPATH=tree)
    command = [sys.executable, "-m", "paddleseg_hru2net.cli.analyze", "analyze", image, "--out", out, *extra]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} in {tree} failed:\n{done.stderr[-2000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", required=True)
    parser.add_argument("--before", required=True, help="a commit")
    parser.add_argument("--after", default="", help="a commit (default: the working tree)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("extra", nargs="*", help="arguments for both commands, after --")
    args = parser.parse_args()
    image = os.path.abspath(args.image)
    with tempfile.TemporaryDirectory(prefix="hru2net-time-") as folder:
        trees = {args.before: worktree(args.before, folder),
                 args.after or "working tree": worktree(args.after, folder) if args.after else REPO}
        try:
            runs: Dict[str, List[float]] = {name: [] for name in trees}
            for repeat in range(args.repeats + 1):
                for index, (name, tree) in enumerate(trees.items()):
                    seconds = timed_run(tree, image, os.path.join(folder, f"out{repeat}_{index}"), args.extra)
                    if repeat:  # the first run of each warms the model cache
                        runs[name].append(seconds)
            medians = {name: statistics.median(values) for name, values in runs.items()}
            for name, values in runs.items():
                print(f"{name}: median {medians[name]:.2f} s of {len(values)} runs "
                      f"({', '.join(f'{v:.2f}' for v in values)})")
            before, after = medians.values()
            print(f"{args.after or 'the working tree'} takes {after / before:.2f}x the time of {args.before} "
                  f"({before / after:.2f}x as fast)")
        finally:
            for tree in trees.values():
                if tree != REPO:
                    subprocess.run(["git", "-C", REPO, "worktree", "remove", "--force", tree], capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
