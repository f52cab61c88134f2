"""Particle statistics of the manual masks against those of the model's, per image.

    python tools/validate_analysis.py --release ../shared/data/tio2_sem_ruhle2021 \
        --manifest data/tio2_512/manifest.json --split test [--backend onnxruntime --deploy_dir D]
    python tools/validate_analysis.py ... --split val --tune     # choose the splitting settings

For each image: particle count and median equivalent circle diameter (nm, from the image's own
metadata) of the particles not cut by the border, from the manual mask and from the model, both
through the same splitting and measurement; and how many particles match one-to-one (IoU > 0.5).
``--tune`` scores a grid of splitting settings; it refuses the test split.
"""
import argparse
import itertools
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_args():
    from paddleseg_hru2net.analysis.workflow import Splitting
    from paddleseg_hru2net.deploy.backends import BACKENDS
    default = Splitting()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", required=True)
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--config", default=None)
    parser.add_argument("--model_path", default=None)
    parser.add_argument("--backend", default="paddle", choices=BACKENDS)
    parser.add_argument("--deploy_dir", default=None, help="exported model, for the other backends")
    parser.add_argument("--core-threshold", dest="core_threshold", type=float, default=default.core_threshold)
    parser.add_argument("--min-depth", dest="min_depth", type=float, default=default.min_depth)
    parser.add_argument("--min-area", dest="min_area", type=int, default=default.min_area,
                        help="leave particles under this many pixels out, on both sides")
    parser.add_argument("--tune", action="store_true", help="score a grid of splitting settings")
    parser.add_argument("--csv", default=None, help="also write the per-image table as CSV")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if args.tune and args.split == "test":
        print("--tune chooses settings: run it on --split val, never on the test images", file=sys.stderr)
        return 2
    from tqdm import tqdm

    from paddleseg_hru2net.analysis.validation import comparison_table, compare_with_manual, score_splittings
    from paddleseg_hru2net.analysis.workflow import Splitting, load_sem_image, particle_probability
    from paddleseg_hru2net.datasets.tio2_release import find_pairs, load_sample
    from paddleseg_hru2net.deploy.backends import make_segmenter
    from paddleseg_hru2net.evaluation import split_image_ids
    from paddleseg_hru2net.files import write_text

    segmenter = make_segmenter(args.backend, args.config, args.model_path, args.deploy_dir)
    wanted = set(split_image_ids(args.manifest, args.split))
    samples = []
    for pair in tqdm([p for p in find_pairs(args.release) if p.image_id in wanted], desc="segmenting"):
        image = load_sem_image(pair.image_path)
        probability = particle_probability(image, segmenter.run, segmenter)
        samples.append((image, load_sample(pair).label, probability))
    if args.tune:
        grid = [Splitting(core_threshold=c, min_depth=h, min_area=args.min_area)
                for c, h in itertools.product([0.5, 0.6, 0.7, 0.8, 0.85, 0.9], [0.5, 1.0, 1.5])]
        print("| core threshold | min depth | count manual | count model | matched | F1 |\n|---|---|---|---|---|---|")
        for splitting, match, manual, model in score_splittings(samples, grid):
            print(f"| {splitting.core_threshold} | {splitting.min_depth} | {manual} | {model} | "
                  f"{match.matched} | {match.f1:.3f} |")
        return 0
    splitting = Splitting(core_threshold=args.core_threshold, min_depth=args.min_depth,
                          min_area=args.min_area)
    rows = [compare_with_manual(image, manual, probability, splitting) for image, manual, probability in samples]
    print(f"splitting: {splitting}")
    print("\n".join(comparison_table(rows)))
    if args.csv:
        lines = ["image,count_manual,count_model,median_ecd_manual,median_ecd_model,matched,f1"]
        lines += [f"{r.image},{r.count_manual},{r.count_model},{r.median_diameter_manual:.2f},"
                  f"{r.median_diameter_model:.2f},{r.match.matched},{r.match.f1:.4f}" for r in rows]
        write_text(args.csv, "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
