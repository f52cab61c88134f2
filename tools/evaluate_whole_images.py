"""Evaluate a trained model on whole TiO2 SEM images (data bar cut), by sliding window.

    python tools/evaluate_whole_images.py --config configs/cpu/hru2netp_tio2_160x160_550.yml \
        --model_path output/iter_550/model.pdparams \
        --release ../shared/data/tio2_sem_ruhle2021 --manifest data/tio2_512/manifest.json --split test

The window is the training crop size (train_meta.json beside the weights, else the config's
test_config), the stride 3/4 of it, unless --window/--stride say otherwise.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--model_path", required=True)
    parser.add_argument("--release", required=True, help="TiO2 release folder")
    parser.add_argument("--manifest", required=True, help="manifest.json of the prepared split")
    parser.add_argument("--split", default="test")
    parser.add_argument("--window", nargs=2, type=int, default=None, metavar=("H", "W"))
    parser.add_argument("--stride", nargs=2, type=int, default=None, metavar=("H", "W"))
    parser.add_argument("--save_json", default=None)
    args = parser.parse_args()

    from paddleseg_hru2net.cli.common import build, load_config, load_weights
    from paddleseg_hru2net.evaluation import evaluate_whole_images, split_image_ids
    from paddleseg_hru2net.inference import normalisation_from_transforms, paddle_runner
    from paddleseg_hru2net.training import read_run_record
    from paddleseg.cvlibs import SegBuilder

    config = load_config(args.config)
    builder = SegBuilder(config)
    model = build(builder, "model", args.config)
    load_weights(model, args.model_path)
    channels = getattr(builder.val_dataset_class, "IMG_CHANNELS", 1)
    crop = read_run_record(args.model_path).get("train_crop_size") or \
        config.test_config.get("crop_size")
    window = args.window or ([crop[1], crop[0]] if crop else [512, 512])
    stride = args.stride or [max(1, window[0] * 3 // 4), max(1, window[1] * 3 // 4)]
    mean, std = normalisation_from_transforms(config.val_dataset_cfg.get("transforms"))
    ids = split_image_ids(args.manifest, args.split)
    result = evaluate_whole_images(paddle_runner(model), args.release, ids, window, stride,
                                   channels, mean, std)
    result.update(config=args.config, model_path=args.model_path, split=args.split)
    text = json.dumps(result, indent=2)
    if args.save_json:
        from paddleseg_hru2net.io import write_text
        write_text(args.save_json, text + "\n")
    print(json.dumps({k: result[k] for k in ("mIoU", "accuracy", "kappa", "dice", "particle_iou",
                                             "window", "stride")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
