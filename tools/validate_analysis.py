"""Particle statistics of the manual masks against those of the predicted masks, per image.

    python tools/validate_analysis.py --release ../shared/data/tio2_sem_ruhle2021 \
        --manifest data/tio2_512/manifest.json --split test [--config C --model_path W]

For each image: particle count and median equivalent circle diameter (nm, from the image's own
metadata) of the particles not cut by the border, from the manual mask and from the model's
mask, both through the same instance splitting and measurement.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", required=True)
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--config", default=None)
    parser.add_argument("--model_path", default=None)
    parser.add_argument("--backend", default="paddle", choices=["paddle", "paddle-inference", "onnxruntime"])
    parser.add_argument("--deploy_dir", default=None, help="exported model, for the other backends")
    parser.add_argument("--csv", default=None, help="also write the table as CSV")
    args = parser.parse_args()

    import numpy as np

    from paddleseg_hru2net.analysis.workflow import analyze_image, load_sem_image, segment, summary_row
    from paddleseg_hru2net.datasets.prepare import find_pairs, load_sample
    from paddleseg_hru2net.deploy.backends import make_segmenter
    from paddleseg_hru2net.evaluation import split_image_ids

    segmenter = make_segmenter(args.backend, args.config, args.model_path, args.deploy_dir)
    wanted = set(split_image_ids(args.manifest, args.split))
    rows = []
    for pair in [p for p in find_pairs(args.release) if p.image_id in wanted]:
        image = load_sem_image(pair.image_path)
        manual = load_sample(pair).label
        assert manual.shape == image.grey.shape, pair.image_id
        predicted = segment(image, segmenter.run, segmenter.window, segmenter.stride,
                            segmenter.channels, segmenter.mean, segmenter.std)
        truth, model = summary_row(analyze_image(image, manual)), summary_row(analyze_image(image, predicted))
        rows.append([pair.image_id, truth["particles_not_at_border"], model["particles_not_at_border"],
                     truth["median_equivalent_diameter"], model["median_equivalent_diameter"]])
    header = ["image", "count manual", "count model", "median ECD manual (nm)", "median ECD model (nm)"]
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for row in rows:
        print(f"| {row[0]} | {row[1]} | {row[2]} | {row[3]:.1f} | {row[4]:.1f} |")
    counts = np.array([[r[1], r[2]] for r in rows], float)
    sizes = np.array([[r[3], r[4]] for r in rows], float)
    print(f"| all | {int(counts[:, 0].sum())} | {int(counts[:, 1].sum())} | "
          f"{np.median(sizes[:, 0]):.1f} (median of images) | {np.median(sizes[:, 1]):.1f} |")
    if args.csv:
        import csv
        with open(args.csv, "w", newline="") as handle:
            csv.writer(handle).writerows([header] + rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
