"""Analysis backends side by side on one full SEM image: Paddle dynamic, Paddle Inference, ONNX Runtime.

    python tools/benchmark_backends.py --image "../shared/data/tio2_sem_ruhle2021/Electron Microscopy Images/SEM/1908248.tif"

Uses the shipped HRU2-Net† unless --config/--model_path are given. Exports the model (output_op
none, plus ONNX) to a temporary folder, then runs each backend in its own process (so each
peak memory is its own): the median wall time of the whole-image segmentation over --repeats
runs, the peak resident memory, and the share of pixels whose mask agrees with Paddle dynamic.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from paddleseg_hru2net.deploy.backends import BACKENDS  # noqa: E402


def worker(args) -> int:
    import numpy as np

    from paddleseg_hru2net.analysis.workflow import load_sem_image, segment
    from paddleseg_hru2net.deploy.backends import make_segmenter

    segmenter = make_segmenter(args.worker, args.config, args.model_path, args.deploy_dir)
    image = load_sem_image(args.image, data_bar_rows=0 if args.keep_data_bar else None)
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        mask = segment(image, segmenter.run, segmenter)
        times.append(time.perf_counter() - start)
    np.save(args.mask_out, mask)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"backend": args.worker, "times": times, "peak_mib": peak_mib,
                      "shape": list(image.grey.shape), "window": segmenter.window}))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", required=True, help="a full SEM image (1024 x 768 for the issue)")
    parser.add_argument("--config", default=None)
    parser.add_argument("--model_path", default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep_data_bar", action="store_true",
                        help="segment all rows (the full 1024 x 768 frame)")
    parser.add_argument("--worker", choices=BACKENDS, help=argparse.SUPPRESS)
    parser.add_argument("--deploy_dir", help=argparse.SUPPRESS)
    parser.add_argument("--mask_out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)

    import numpy as np

    from paddleseg_hru2net.cli.common import resolve_model_paths
    config, model_path = resolve_model_paths(args.config, args.model_path)
    work = tempfile.mkdtemp(prefix="hru2net-backends-")
    deploy = os.path.join(work, "exported")
    from paddleseg_hru2net.cli.export import main as export_main
    if export_main(["--config", config, "--model_path", model_path, "--save_dir", deploy,
                    "--output_op", "none", "--onnx"]) != 0:
        return 1
    results, masks = {}, {}
    for backend in BACKENDS:
        mask_path = os.path.join(work, f"{backend}.npy")
        command = [sys.executable, os.path.abspath(__file__), "--image", args.image,
                   "--config", config, "--model_path", model_path, "--deploy_dir", deploy,
                   "--repeats", str(args.repeats), "--worker", backend, "--mask_out", mask_path]
        if args.keep_data_bar:
            command.append("--keep_data_bar")
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{backend} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
            continue
        results[backend] = json.loads(done.stdout.strip().splitlines()[-1])
        masks[backend] = np.load(mask_path)
    reference = results["paddle"]
    base = float(np.median(reference["times"]))
    print(f"image {args.image}: {reference['shape'][1]} x {reference['shape'][0]} px segmented, "
          f"window {reference['window']}, median of {args.repeats} runs, one process each")
    print("| backend | median s | speed-up vs Paddle dynamic | peak RSS MiB | mask agreement with Paddle dynamic |")
    print("|---|---|---|---|---|")
    for backend, result in results.items():
        median = float(np.median(result["times"]))
        agreement = float((masks[backend] == masks["paddle"]).mean())
        print(f"| {backend} | {median:.2f} | {base / median:.2f}x | {result['peak_mib']:.0f} | "
              f"{100 * agreement:.3f} % |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
