"""``hru2net-average-weights``: one model from the average of several fine-tuned ones (a model soup).

    hru2net-average-weights --weights runs/a/iter_600/model.pdparams runs/b/iter_600/model.pdparams --out soup
    hru2net analyze images --out results --config soup/config.yml --model_path soup/model.pdparams

Average only runs that started from the same weights and train the same model (e.g. fine-tuned
from one shipped model with other seeds, losses or labels); the average of unrelated networks is
no network. The new folder ``--out`` receives ``model.pdparams`` (the parameter-wise mean; the
batch-norm statistics too), ``config.yml`` (``--config``, else the one beside the first weights
file or one folder up) and ``train_meta.json`` (the first run's record, with the splitting
settings chosen for it, and ``averaged_from`` listing the files): choose the settings again on
your validation images (``hru2net-validate-analysis --tune``) before trusting them.
"""
from __future__ import annotations

import os
import shutil
import sys
from typing import List, Optional

from paddleseg_hru2net.cli.common import UserError, doc_parser, friendly_main


def parse_args(argv: Optional[List[str]] = None):
    parser = doc_parser("hru2net-average-weights", __doc__)
    parser.add_argument("--weights", nargs="+", required=True, metavar="PDPARAMS",
                        help="two or more .pdparams files of the same model")
    parser.add_argument("--out", required=True, help="new folder for the averaged model")
    parser.add_argument("--config", default=None,
                        help="the model's config (default: config.yml beside the first weights file or one folder up)")
    return parser.parse_args(argv)


def _config_of(args) -> str:
    from paddleseg_hru2net.run_records import run_file
    config = args.config or run_file(args.weights[0], "config.yml")
    if config is None:
        raise UserError(f"{args.weights[0]}: no config.yml beside it or one folder up; give --config")
    if not os.path.isfile(config):
        raise UserError(f"--config {config} does not exist")
    return config


@friendly_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from paddleseg_hru2net.checkpoints import average_weights_files
    from paddleseg_hru2net.files import staged_folder, write_json
    from paddleseg_hru2net.run_records import META_FILE, read_run_record

    if len(args.weights) < 2:
        raise UserError("--weights needs two or more .pdparams files to average")
    if os.path.exists(args.out) and (not os.path.isdir(args.out) or os.listdir(args.out)):
        raise UserError(f"--out {args.out} exists and is not an empty folder; name a new folder")
    config = _config_of(args)
    record = dict(read_run_record(args.weights[0]))
    record["averaged_from"] = [os.path.abspath(path) for path in args.weights]
    print(f"averaging {len(args.weights)} weights files", flush=True)
    # the folder appears whole or not at all: written beside --out, then renamed to it
    with staged_folder(args.out, overwrite=True) as staging:  # --out is absent or empty here
        names = average_weights_files(args.weights, os.path.join(staging, "model.pdparams"))
        shutil.copyfile(config, os.path.join(staging, "config.yml"))
        write_json(os.path.join(staging, META_FILE), record)
    print(f"wrote {args.out}: model.pdparams ({len(names)} parameters, the mean of {len(args.weights)} "
          f"files), config.yml, {META_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
