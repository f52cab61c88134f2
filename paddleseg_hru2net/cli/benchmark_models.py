"""Cost of HRU2-Net†, U2-Net†, HRU2-Net and U2-Net, side by side in one run.

Prints parameters, GFLOPs at 512 x 512 and the median CPU time of a forward and of a
forward+backward pass (the models take turns in every round), with ratios to each model's U2-Net
parent. Example:

    hru2net-benchmark-models --time_size 512 --repeats 3
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from paddleseg_hru2net.cli.common import friendly_main


@friendly_main
def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="hru2net-benchmark-models", description=__doc__.splitlines()[0])
    parser.add_argument("--time_size", type=int, default=512, help="input size of the timings")
    parser.add_argument("--in_channels", type=int, default=1, help="1 for grey SEM, 3 for RGB")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds (after one warm-up)")
    parser.add_argument("--models", nargs="+", default=["HRU2-Net†", "U2-Net†", "HRU2-Net", "U2-Net"])
    args = parser.parse_args(argv)

    import paddle
    import paddleseg_hru2net  # noqa: F401
    from paddleseg.models import U2Net, U2Netp

    from paddleseg_hru2net.benchmark import (count_flops, count_parameters, interleaved_timings,
                                             markdown_table)
    from paddleseg_hru2net.models import HRU2Net, HRU2Netp

    paddle.set_device("cpu")
    paddle.seed(0)
    builders = {"HRU2-Net†": HRU2Netp, "U2-Net†": U2Netp, "HRU2-Net": HRU2Net, "U2-Net": U2Net}
    parents = {"HRU2-Net†": "U2-Net†", "HRU2-Net": "U2-Net"}
    c = args.in_channels
    models = {name: builders[name](num_classes=2, in_channels=c) for name in args.models}
    flops = {name: count_flops(m, [1, c, 512, 512]) for name, m in models.items()}
    times = interleaved_timings(models, [1, c, args.time_size, args.time_size], repeats=args.repeats)

    rows = []
    for name, model in models.items():
        parent = parents.get(name)
        ratio = (lambda key: f"{times[name][key] / times[parent][key]:.2f}"
                 if parent in times else "—")
        rows.append([name, f"{count_parameters(model) / 1e6:.3f}", f"{flops[name] / 1e9:.2f}",
                     f"{flops[name] / flops[parent]:.3f}" if parent in flops else "—",
                     f"{times[name]['forward']:.2f}", ratio("forward"),
                     f"{times[name]['forward+backward']:.2f}", ratio("forward+backward")])
    header = ["model", "params (M)", "GFLOPs @512", "FLOPs / parent",
              f"forward s @{args.time_size}", "fwd / parent",
              f"fwd+bwd s @{args.time_size}", "fwd+bwd / parent"]
    print(f"CPU, 1 x {c} x {args.time_size} x {args.time_size}, median of {args.repeats} rounds "
          f"(models interleaved), paddle {paddle.__version__}")
    print(markdown_table(header, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
