"""Draw the UMSIF block (docs/umsif.png) from the model's own structure.

    hru2net-draw-umsif --height 7 --out docs/umsif.png
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

from paddleseg_hru2net.cli.common import friendly_main


@friendly_main
def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="hru2net-draw-umsif", description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=7)
    parser.add_argument("--mid", type=int, default=16)
    parser.add_argument("--out_channels", type=int, default=64)
    parser.add_argument("--out", default="docs/umsif.png")
    args = parser.parse_args(argv)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    from paddleseg_hru2net.models.hru2net import UMSIF
    block = UMSIF(3, args.mid, args.out_channels, args.height)
    levels = len(block.encoder)

    fig, ax = plt.subplots(figsize=(11, 7.5))
    enc_x, dec_x = 1.5, 8.5

    def box(x, y, text, color):
        ax.add_patch(FancyBboxPatch((x - 0.9, y - 0.28), 1.8, 0.56, boxstyle="round,pad=0.05",
                                    fc=color, ec="black", lw=1))
        ax.text(x, y, text, ha="center", va="center", fontsize=8)

    def arrow(x0, y0, x1, y1, color, style="-", lw=1.0, alpha=1.0):
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops=dict(arrowstyle="->", color=color, lw=lw, ls=style, alpha=alpha))

    box(enc_x, 1.2, f"conv_in 3x3\nC_in→{args.out_channels}", "#dddddd")
    for level in range(levels):
        y = -level
        scale = f"1/{2 ** level}" if level else "1"
        box(enc_x, y, f"e{level}: 3x3 conv ({scale})", "#cfe2f3")
        box(dec_x, y, f"d{level}: Σ → 3x3 conv ({scale})", "#d9ead3")
        if level:
            arrow(enc_x, y + 0.72, enc_x, y + 0.28, "black")
            ax.text(enc_x + 0.95, y + 0.5, "max-pool 2x", fontsize=6)
    arrow(enc_x, 0.92, enc_x, 0.28, "black")
    bottom_y = -levels
    box((enc_x + dec_x) / 2, bottom_y, "bottom: 3x3 conv, dilation 2", "#f4cccc")
    arrow(enc_x, -(levels - 1) - 0.28, (enc_x + dec_x) / 2 - 0.6, bottom_y + 0.2, "black")
    arrow((enc_x + dec_x) / 2 + 0.6, bottom_y + 0.2, dec_x, -(levels - 1) - 0.28, "black")
    for level in range(levels - 1):  # U path: decoder level below, upsampled
        arrow(dec_x, -(level + 1) + 0.28, dec_x, -level - 0.28, "black", lw=1.5)
    for target in range(levels):  # HRNet fusion: every encoder level into every decoder level
        for source in range(levels):
            if source == target:
                arrow(enc_x + 0.9, -source, dec_x - 0.9, -target, "gray", lw=1.2)
            elif source > target:
                arrow(enc_x + 0.9, -source, dec_x - 0.9, -target, "tab:blue", alpha=0.45)
            else:
                arrow(enc_x + 0.9, -source, dec_x - 0.9, -target, "tab:red", alpha=0.45)
    box(dec_x, 1.2, f"+ residual (conv_in)\n→ {args.out_channels} ch", "#dddddd")
    arrow(dec_x, -0.28 + 0.0, dec_x, 0.92, "black", lw=1.5)
    arrow(enc_x + 0.9, 1.2, dec_x - 0.9, 1.2, "black", style="--")
    ax.plot([], [], color="gray", label="same level (identity)")
    ax.plot([], [], color="tab:blue", label="coarser → finer: 1x1 conv + BN, bilinear upsample")
    ax.plot([], [], color="tab:red", label="finer → coarser: max-pool, stride-2 3x3 conv + BN")
    ax.plot([], [], color="black", lw=1.5, label="U path: decoder level below, upsampled")
    ax.legend(loc="lower left", fontsize=7, frameon=False, bbox_to_anchor=(0.0, -0.02))
    ax.set_title(f"UMSIF (height {args.height}: {levels} levels + dilated bottom), "
                 f"mid {args.mid}, out {args.out_channels}: {levels * (levels - 1)} fusion paths",
                 fontsize=10)
    ax.set_xlim(-0.5, 10.5)
    ax.set_ylim(bottom_y - 1.6, 1.8)
    ax.axis("off")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, dpi=110, bbox_inches="tight")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
