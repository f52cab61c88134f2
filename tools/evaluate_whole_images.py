"""Evaluate a trained model on whole TiO2 SEM images (data bar cut), by sliding window.

    python tools/evaluate_whole_images.py --config configs/cpu/hru2netp_tio2_160x160_550.yml \
        --model_path output/iter_550/model.pdparams \
        --release ../shared/data/tio2_sem_ruhle2021 --manifest data/tio2_512/manifest.json --split test

The window is the training crop size (train_meta.json beside the weights, else the config's
test_config), the stride 3/4 of it. With --backend onnxruntime (or paddle-inference) and
--deploy_dir, an exported model runs instead (hru2net-export --output_op none --onnx).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main() -> int:
    from paddleseg_hru2net.deploy.backends import BACKENDS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=None)
    parser.add_argument("--model_path", default=None)
    parser.add_argument("--backend", default="paddle", choices=BACKENDS)
    parser.add_argument("--deploy_dir", default=None)
    parser.add_argument("--release", required=True, help="TiO2 release folder")
    parser.add_argument("--manifest", required=True, help="manifest.json of the prepared split")
    parser.add_argument("--split", default="test", help="a split of the manifest, or all")
    parser.add_argument("--window", nargs=2, type=int, default=None, metavar=("H", "W"))
    parser.add_argument("--save_json", default=None)
    args = parser.parse_args()

    from paddleseg_hru2net.deploy.backends import make_segmenter
    from paddleseg_hru2net.evaluation import evaluate_whole_images, release_samples, split_image_ids
    from paddleseg_hru2net.files import write_json

    segmenter = make_segmenter(args.backend, args.config, args.model_path, args.deploy_dir, args.window)
    samples = release_samples(args.release, split_image_ids(args.manifest, args.split))
    result = evaluate_whole_images(segmenter.run, samples, segmenter)
    result.update(config=args.config, model_path=args.model_path, split=args.split,
                  backend=args.backend)
    if args.save_json:
        write_json(args.save_json, result)
    print(json.dumps({k: result[k] for k in ("mIoU", "accuracy", "kappa", "dice", "particle_iou",
                                             "window", "stride")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
