"""``hru2net-train`` / ``tools/train.py``: PaddleSeg 2.8's training command, working on Paddle 3.

Flags are those of PaddleSeg's ``tools/train.py``. In addition the run's save_dir receives
``config.yml`` (the resolved config), ``train_meta.json`` (model, input channels, crop size: what
inference needs to slide at the training scale) and ``train.log`` (a copy of the log).
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

from paddleseg_hru2net.cli.common import UserError, add_device_argument, friendly_main, set_device
from paddleseg_hru2net.inference.paddle_model import build, load_config
from paddleseg_hru2net.run_records import TeeStream, training_metadata, write_run_record


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="hru2net-train", description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="the config file (YAML)")
    add_device_argument(parser)
    parser.add_argument("--save_dir", default="./output", help="where checkpoints and logs go")
    parser.add_argument("--num_workers", type=int, default=0, help="data loader workers")
    parser.add_argument("--do_eval", action="store_true", help="evaluate on val_dataset at each save")
    parser.add_argument("--use_vdl", action="store_true", help="log to VisualDL")
    parser.add_argument("--use_ema", action="store_true", help="keep an EMA copy of the weights")
    parser.add_argument("--resume_model", default=None, help="a checkpoint folder (iter_N) to resume")
    parser.add_argument("--iters", type=int, default=None, help="overrides the config's iters")
    parser.add_argument("--batch_size", type=int, default=None, help="per-device batch size")
    parser.add_argument("--learning_rate", type=float, default=None, help="overrides the config's")
    parser.add_argument("--save_interval", type=int, default=1000, help="iterations between saves")
    parser.add_argument("--log_iters", type=int, default=10, help="iterations between log lines")
    parser.add_argument("--keep_checkpoint_max", type=int, default=5, help="checkpoints kept")
    parser.add_argument("--seed", type=int, default=None, help="random seed")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "fp16"], help="AMP if fp16")
    parser.add_argument("--amp_level", default="O1", choices=["O1", "O2"], help="AMP level")
    parser.add_argument("--profiler_options", default=None, help="Paddle profiler options")
    parser.add_argument("--opts", nargs="+", default=None,
                        help="override config keys: --opts key1=value1 key2=value2")
    return parser.parse_args(argv)


def check_checkpoint(folder: str) -> None:
    """Refuse a checkpoint folder whose files are missing or damaged (a run killed while it was
    saving), naming the newest intact checkpoint beside it."""
    import paddle
    damaged = None
    for name in ("model.pdparams", "model.pdopt"):
        path = os.path.join(folder, name)
        try:
            if not os.path.isfile(path):
                raise FileNotFoundError(path)
            paddle.load(path)
        except Exception as error:  # noqa: BLE001 - paddle.load raises many types for bad files
            damaged = f"{path} is missing or damaged ({type(error).__name__})"
            break
    if damaged is None:
        return
    parent = os.path.dirname(os.path.abspath(folder))
    intact = []
    for name in os.listdir(parent):
        candidate = os.path.join(parent, name)
        if name.startswith("iter_") and name[5:].isdigit() and os.path.abspath(candidate) != os.path.abspath(folder) \
                and all(os.path.isfile(os.path.join(candidate, f)) and os.path.getsize(os.path.join(candidate, f)) > 0
                        for f in ("model.pdparams", "model.pdopt")):
            intact.append((int(name[5:]), candidate))
    hint = f"; resume from {max(intact)[1]}, the newest other checkpoint" if intact else ""
    raise UserError(f"--resume_model {folder}: {damaged} (was the run stopped while saving?){hint}")


@friendly_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    config = load_config(args.config, learning_rate=args.learning_rate,
                         batch_size=args.batch_size, iters=args.iters, opts=args.opts)

    import paddle
    from paddleseg.core import train
    from paddleseg.cvlibs import SegBuilder
    from paddleseg.utils import utils

    device = set_device(args.device)
    utils.set_seed(args.seed)
    utils.set_cv2_num_threads(args.num_workers)
    if args.resume_model is not None and not os.path.isdir(args.resume_model):
        raise UserError(f"--resume_model {args.resume_model} is not a checkpoint folder "
                        f"(expected e.g. {args.save_dir}/iter_1000)")

    if args.resume_model is not None:
        check_checkpoint(args.resume_model)
    builder = SegBuilder(config)
    train_dataset = build(builder, "train_dataset", args.config)
    world = paddle.distributed.ParallelEnv().world_size
    if len(train_dataset) < config.batch_size * world:
        raise UserError(f"{args.config}: the training set has {len(train_dataset)} images but a batch "
                        f"takes {config.batch_size} x {world} process(es); PaddleSeg drops incomplete "
                        f"batches, so training would never start. Lower --batch_size or add images.")
    val_dataset = build(builder, "val_dataset", args.config) if args.do_eval else None
    if val_dataset is not None and len(val_dataset) == 0:
        raise UserError(f"{args.config}: --do_eval, but the validation set is empty; add images to "
                        f"its list or train without --do_eval")
    model_options = config.model_cfg
    frozen_statistics = bool(model_options.get("frozen_norm_statistics", False))
    if frozen_statistics and not model_options.get("pretrained") and args.resume_model is None:
        raise UserError(f"{args.config}: model.frozen_norm_statistics keeps the batch norm statistics "
                        f"of the starting weights, but there are none; set model.pretrained "
                        f"(e.g. --opts model.pretrained=PATH) or drop frozen_norm_statistics")
    model = build(builder, "model", args.config)
    if not frozen_statistics:  # synchronised batch norm would recompute the frozen statistics
        model = utils.convert_sync_batchnorm(model, device)
    optimizer = build(builder, "optimizer", args.config)
    losses = build(builder, "loss", args.config)

    rank = paddle.distributed.ParallelEnv().local_rank
    log_stream = None
    if rank == 0:
        write_run_record(args.save_dir, config, training_metadata(config, builder))
        log_stream = TeeStream(sys.stdout, os.path.join(args.save_dir, "train.log"),
                               append=args.resume_model is not None)
        sys.stdout = log_stream
    try:
        train(model, train_dataset, val_dataset=val_dataset, optimizer=optimizer,
              save_dir=args.save_dir, iters=config.iters, batch_size=config.batch_size,
              resume_model=args.resume_model, save_interval=args.save_interval,
              log_iters=args.log_iters, num_workers=args.num_workers, use_vdl=args.use_vdl,
              use_ema=args.use_ema, losses=losses, keep_checkpoint_max=args.keep_checkpoint_max,
              test_config=config.test_config, precision=args.precision,
              amp_level=args.amp_level, profiler_options=args.profiler_options,
              to_static_training=config.to_static_training)
    finally:
        if log_stream is not None:
            sys.stdout = log_stream.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
