"""``hru2net finetune``: fine-tune a model on a few of your own images with masks.

    hru2net finetune --images my/images --masks my/masks --out my_model --iters 100
    hru2net analyze more/images --out results --config my_model/config.yml --model_path my_model/model.pdparams

Masks: 0/255 (or 0/1) particle masks, touching particles separated by background lines, or
instance maps (one value per particle); named like their image (``a.tif`` - ``a.png``,
``a_m.tif``, ``a_mask.png``). The folder ``--out`` receives the training tiles (``data/``), the
run (``run/``) and the fine-tuned model (``model.pdparams``, ``config.yml``, ``train_meta.json``)
ready for ``hru2net analyze``. Each image is given to the training as the analysis will give it
to the model: resampled to the model's scale (by pixel size where the model records one and the
file has one, else by the median diameter of its marked particles) and, for a model that knows
bright particles only, inverted where its particles are dark. On a 2-core CPU, 100 iterations
take a few minutes. It starts
from a shipped model (``--model``, default the default one) or from any trained one
(``--config`` and ``--model_path``, e.g. an earlier fine-tuned model).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from typing import List, Optional

import yaml

from paddleseg_hru2net.cli.common import UserError, doc_parser, friendly_main


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = doc_parser("hru2net finetune", __doc__)
    parser.add_argument("--images", required=True, help="folder of your images")
    parser.add_argument("--masks", required=True, help="folder of their masks")
    parser.add_argument("--out", required=True, help="new folder for the fine-tuned model")
    parser.add_argument("--model", default=None, help="the shipped model to start from (default: the default one)")
    parser.add_argument("--config", default=None, help="or: the config of trained weights to start from")
    parser.add_argument("--model_path", default=None, help="and those weights (model.pdparams)")
    parser.add_argument("--iters", type=int, default=100, help="training iterations (default 100)")
    parser.add_argument("--crop", type=int, default=256, help="training crop side in pixels (default 256)")
    parser.add_argument("--learning_rate", type=float, default=2e-4, help="Adam learning rate (default 2e-4)")
    parser.add_argument("--val_images", type=int, default=1,
                        help="images held out to report metrics on (default 1; 0 for none)")
    return parser.parse_args(argv)


def finetune_config(base_config: str, data_dir: str, weights: str, iters: int, crop: int,
                    learning_rate: float) -> dict:
    """The shipped model's config, retargeted: the user's data, start from the shipped weights,
    short Adam schedule, crops of ``crop`` (batch 2)."""
    with open(base_config) as handle:
        config = yaml.safe_load(handle)
    dataset = config["train_dataset"]["type"]
    mean_std = next((t for t in config["val_dataset"].get("transforms", []) if t["type"] == "Normalize"),
                    {"type": "Normalize", "mean": [0.5], "std": [0.5]})
    config.update(batch_size=2, iters=iters)
    config["train_dataset"] = {"type": dataset, "dataset_root": data_dir, "mode": "train", "transforms": [
        {"type": "ResizeStepScaling", "min_scale_factor": 0.8, "max_scale_factor": 1.25, "scale_step_size": 0.05},
        {"type": "RandomPaddingCrop", "crop_size": [crop, crop], "im_padding_value": 0, "label_padding_value": 255},
        {"type": "RandomHorizontalFlip"}, {"type": "RandomVerticalFlip"}, mean_std]}
    config["val_dataset"] = {"type": dataset, "dataset_root": data_dir, "mode": "val", "transforms": [mean_std]}
    config["model"]["pretrained"] = os.path.abspath(weights)
    config["optimizer"] = {"type": "Adam", "weight_decay": 1e-5}
    config["lr_scheduler"] = {"type": "PolynomialDecay", "learning_rate": learning_rate,
                              "end_lr": learning_rate / 20, "power": 0.9}
    return config


@friendly_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.iters < 1 or args.crop < 32:
        raise UserError("--iters must be at least 1 and --crop at least 32")
    if os.path.exists(args.out):
        raise UserError(f"--out {args.out} exists; give a new folder")
    from paddleseg_hru2net.cli.train import main as train
    from paddleseg_hru2net.datasets.user_images import pair_images_with_masks, write_training_folder
    from paddleseg_hru2net.files import write_json, write_text
    from paddleseg_hru2net.analysis.workflow import SPLITTING_RECORD_KEYS
    from paddleseg_hru2net.inference.feed import RECORDED_SETTINGS
    from paddleseg_hru2net.inference.source import resolve_source
    from paddleseg_hru2net.run_records import read_run_record

    if (args.config is None) != (args.model_path is None):
        raise UserError("give --config and --model_path together (or --model for a shipped model)")
    source = resolve_source(args.config, args.model_path, model=args.model)
    record = read_run_record(source.weights)
    pairs = pair_images_with_masks(args.images, args.masks)
    data_dir = os.path.join(args.out, "data")
    num_classes = int(record.get("num_classes", 2))
    counts = write_training_folder(pairs, data_dir, num_classes, val_images=args.val_images,
                                   contact_radius=int(record.get("contact_radius", 1)),
                                   narrow_contacts_below=float(record.get("narrow_contacts_below_px") or 0.0),
                                   bright_particles=record.get("polarity", "bright") == "bright",
                                   model_pixel_size_nm=record.get("pixel_size_nm"),
                                   model_particle_diameter_px=record.get("particle_diameter_px"))
    done = [f"{counts[key]} {what}" for key, what in (("resampled", "resampled to the model's scale"),
                                                      ("inverted", "with dark particles inverted")) if counts[key]]
    as_analysed = f" ({', '.join(done)}: as the analysis will give them to the model)" if done else ""
    print(f"{len(pairs)} image(s){as_analysed}: {counts['train']} training tiles, {counts['val']} validation tiles")
    config = finetune_config(source.config, os.path.abspath(data_dir), source.weights, args.iters,
                             args.crop, args.learning_rate)
    config_path = os.path.join(args.out, "finetune.yml")
    write_text(config_path, yaml.safe_dump(config, sort_keys=False))
    run_dir = os.path.join(args.out, "run")
    code = train(["--config", config_path, "--save_dir", run_dir, "--save_interval", str(args.iters),
                  "--log_iters", str(max(1, args.iters // 10)), "--seed", "0"])
    if code:
        return code
    final = os.path.join(run_dir, f"iter_{args.iters}")
    shutil.copyfile(os.path.join(final, "model.pdparams"), os.path.join(args.out, "model.pdparams"))
    shutil.copyfile(os.path.join(run_dir, "config.yml"), os.path.join(args.out, "config.yml"))
    meta = dict(read_run_record(os.path.join(final, "model.pdparams")))
    for key in (*RECORDED_SETTINGS, *SPLITTING_RECORD_KEYS, "window"):
        if key in record:
            meta[key] = record[key]
    meta["finetuned_from"] = source.describe()
    write_json(os.path.join(args.out, "train_meta.json"), meta)
    print(f"fine-tuned model in {args.out}; analyse with:\n  hru2net analyze IMAGES --out RESULTS "
          f"--config {args.out}/config.yml --model_path {args.out}/model.pdparams")
    return 0


if __name__ == "__main__":
    sys.exit(main())
