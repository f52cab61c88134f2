"""HRU2-Net and HRU2-Net†: U2-Net with U-shaped multi-level semantic information fusion (UMSIF).

The paper: "HRU2-Net: a high-resolution nested U-shaped network for the segmentation of titanium
dioxide nanoparticles in scanning electron microscope images" (HRU2-Net, Scientific Reports; see
``shared/reference/hru2net_paper.txt``). It builds on U2-Net (Qin et al., "U2-Net: Going Deeper
with Nested U-Structure for Salient Object Detection", Pattern Recognition 106, 2020,
arXiv:2005.09007) and U-HRNet (Wang et al., "U-HRNet: Delving into Improving Semantic
Representation of High Resolution Network for Dense Prediction", arXiv:2210.07140).

HRU2-Net is U2-Net whose top-level encoder and decoder stages, En_1 and De_1 (RSU-7 blocks), are
replaced by UMSIF blocks. The paper's figures and its Table 1 are not available, so the block is
designed here from the text and from HRNet's multi-resolution fusion; ``docs/architecture.md``
records the design, the choices made where the paper is silent, and the channel tables.

Naming follows U2-Net: stages En_1..En_6 (encoder, finest first) and De_5..De_1 (decoder); every
stage is an RSU-L block of height L (RSU-4F: the dilated, pooling-free variant) unless it is
listed in ``umsif_stages``, in which case it is a UMSIF block of the same height.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence

import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddleseg.cvlibs import manager
from paddleseg.utils import utils

__all__ = ["ConvBNReLU", "RSU", "UMSIF", "StageSpec", "U2NET_PLAN", "U2NETP_PLAN",
           "NestedUNet", "HRU2Net", "HRU2Netp", "freeze_norm_statistics"]


def resize_like(x: paddle.Tensor, reference: paddle.Tensor) -> paddle.Tensor:
    """Bilinearly resize ``x`` to the spatial size of ``reference`` (works for dynamic shapes)."""
    return F.interpolate(x, size=paddle.shape(reference)[2:], mode="bilinear")


class ConvBNReLU(nn.Sequential):
    """3x3 convolution (optionally dilated or strided), batch norm and, unless ``relu=False``, ReLU."""

    def __init__(self, in_channels: int, out_channels: int, dilation: int = 1, stride: int = 1,
                 kernel_size: int = 3, relu: bool = True):
        layers = [
            nn.Conv2D(in_channels, out_channels, kernel_size, stride=stride,
                      padding=dilation * (kernel_size // 2), dilation=dilation),
            nn.BatchNorm2D(out_channels),
        ]
        if relu:
            layers.append(nn.ReLU())
        super().__init__(*layers)


def _pool(x: paddle.Tensor) -> paddle.Tensor:
    return F.max_pool2d(x, kernel_size=2, stride=2, ceil_mode=True)


class RSU(nn.Layer):
    """Residual U-block RSU-L of U2-Net: a small U-Net of ``height`` levels plus a residual.

    ``height - 1`` encoder levels (the first at full resolution, each further one after a 2x max
    pool), a dilated bottom convolution, and a decoder that concatenates each level's encoder
    feature. With ``dilated=True`` it is RSU-4F: no pooling, dilation 1, 2, 4, ... instead.

    Args:
        in_channels: input channels.
        mid_channels: channels inside the U.
        out_channels: output channels (also of the input projection added as the residual).
        height: the block's height L (RSU-7 ... RSU-4).
        dilated: the F variant (keeps the resolution; dilations replace pooling).
    """

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int, height: int,
                 dilated: bool = False):
        super().__init__()
        if height < 2:
            raise ValueError(f"an RSU block needs height >= 2, got {height}")
        self.dilated = dilated
        levels = height - 1
        self.conv_in = ConvBNReLU(in_channels, out_channels)
        self.encoder = nn.LayerList([
            ConvBNReLU(out_channels if i == 0 else mid_channels, mid_channels, self._dilation(i))
            for i in range(levels)])
        self.bottom = ConvBNReLU(mid_channels, mid_channels, 2 ** levels if dilated else 2)
        self.decoder = nn.LayerList([
            ConvBNReLU(2 * mid_channels, out_channels if i == 0 else mid_channels, self._dilation(i))
            for i in range(levels)])

    def _dilation(self, level: int) -> int:
        return 2 ** level if self.dilated else 1

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        x_in = self.conv_in(x)
        skips = []
        h = x_in
        for level, conv in enumerate(self.encoder):
            if level > 0 and not self.dilated:
                h = _pool(h)
            h = conv(h)
            skips.append(h)
        h = self.bottom(h)
        for level in reversed(range(len(self.decoder))):
            h = self.decoder[level](paddle.concat([h, skips[level]], axis=1))
            if level > 0 and not self.dilated:
                h = resize_like(h, skips[level - 1])
        return h + x_in


class _FuseInto(nn.Layer):
    """HRNet-style transform of level ``source``'s feature to level ``target``'s resolution.

    Coarser source (source > target): 1x1 conv + BN, then bilinear upsampling at forward time.
    Finer source (source < target): 2x max pooling down to one level above the target, then one
    stride-2 3x3 conv + BN. HRNet chains ``target - source`` strided convolutions instead; one
    per pair keeps UMSIF's parameters and FLOPs below those of the RSU block it replaces.
    """

    def __init__(self, channels: int, source: int, target: int):
        super().__init__()
        self.upsample = source > target
        self.pools = max(target - source - 1, 0)
        if self.upsample:
            self.transform = ConvBNReLU(channels, channels, kernel_size=1, relu=False)
        else:
            self.transform = ConvBNReLU(channels, channels, stride=2, relu=False)

    def forward(self, x: paddle.Tensor, reference: paddle.Tensor) -> paddle.Tensor:
        if self.upsample:
            return resize_like(self.transform(x), reference)
        for _ in range(self.pools):
            x = _pool(x)
        return self.transform(x)


class UMSIF(nn.Layer):
    """U-shaped multi-level semantic information fusion block (the paper's Fig. 2b, as designed here).

    A drop-in for an RSU-L block with the same number of levels (the paper: "consistent with
    U2-Net in the whole layer"): the same input projection, the same encoder of ``height - 1``
    levels and the same dilated bottom. The decoder differs. Each decoder level ``i`` receives the
    sum of

    * its own encoder feature ``e_i``,
    * every other level's encoder feature brought to its resolution, HRNet's fusion: finer levels
      by stride-2 3x3 convolutions, coarser levels by a 1x1 convolution and bilinear upsampling,
    * the upsampled output of the decoder level below (the U path),

    followed by one 3x3 ConvBNReLU. Summing, instead of RSU's concatenation, halves the input of
    every decoder convolution, which is where the block saves computation at full resolution;
    the cross-scale paths let coarse semantics reach the full-resolution output directly and
    fine detail reach the coarse levels. The residual ``x_in`` is kept.

    Args:
        in_channels: input channels.
        mid_channels: channels of every internal level.
        out_channels: output channels.
        height: number of levels L, as the RSU-L it replaces.
    """

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int, height: int):
        super().__init__()
        if height < 3:
            raise ValueError(f"a UMSIF block needs height >= 3, got {height}")
        levels = height - 1
        self.conv_in = ConvBNReLU(in_channels, out_channels)
        self.encoder = nn.LayerList([
            ConvBNReLU(out_channels if i == 0 else mid_channels, mid_channels) for i in range(levels)])
        self.bottom = ConvBNReLU(mid_channels, mid_channels, dilation=2)
        self.fuse = nn.LayerList([
            nn.LayerList([_FuseInto(mid_channels, source, target)
                          for source in range(levels) if source != target])
            for target in range(levels)])
        self.decoder = nn.LayerList([
            ConvBNReLU(mid_channels, out_channels if i == 0 else mid_channels) for i in range(levels)])

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        x_in = self.conv_in(x)
        features = []
        h = x_in
        for level, conv in enumerate(self.encoder):
            h = conv(_pool(h) if level > 0 else h)
            features.append(h)
        h = self.bottom(h)
        levels = len(features)
        for target in reversed(range(levels)):
            reference = features[target]
            sources = [s for s in range(levels) if s != target]
            fused = reference + (h if target == levels - 1 else resize_like(h, reference))
            for transform, source in zip(self.fuse[target], sources):
                fused = fused + transform(features[source], reference)
            h = self.decoder[target](fused)
        return h + x_in


# ------------------------------------------------------------------------------ channel plans
@dataclass(frozen=True)
class StageSpec:
    """One stage of the nested U: its block height, internal and output channels."""

    height: int
    mid_channels: int
    out_channels: int
    dilated: bool = False


ENCODER_STAGES = ("En_1", "En_2", "En_3", "En_4", "En_5", "En_6")
DECODER_STAGES = ("De_5", "De_4", "De_3", "De_2", "De_1")
UMSIF_CAPABLE = ("En_1", "En_2", "En_3", "De_1", "De_2", "De_3")

#: U2-Net's configuration (Qin et al., Table 1 "U2-Net"), the plan of HRU2-Net.
U2NET_PLAN: Dict[str, StageSpec] = {
    "En_1": StageSpec(7, 32, 64), "En_2": StageSpec(6, 32, 128), "En_3": StageSpec(5, 64, 256),
    "En_4": StageSpec(4, 128, 512), "En_5": StageSpec(4, 256, 512, True),
    "En_6": StageSpec(4, 256, 512, True),
    "De_5": StageSpec(4, 256, 512, True), "De_4": StageSpec(4, 128, 256),
    "De_3": StageSpec(5, 64, 128), "De_2": StageSpec(6, 32, 64), "De_1": StageSpec(7, 16, 64),
}

#: U2-Net†'s light configuration (16 internal, 64 output channels everywhere): HRU2-Net†'s plan.
U2NETP_PLAN: Dict[str, StageSpec] = {
    name: StageSpec(spec.height, 16, 64, spec.dilated) for name, spec in U2NET_PLAN.items()}


def stage_input_channels(plan: Dict[str, StageSpec], in_channels: int) -> Dict[str, int]:
    """Input channels of every stage: encoders chain, decoders concatenate a skip connection."""
    inputs = {"En_1": in_channels}
    for previous, stage in zip(ENCODER_STAGES, ENCODER_STAGES[1:]):
        inputs[stage] = plan[previous].out_channels
    below = "En_6"
    for stage in DECODER_STAGES:
        skip = "En_" + stage[-1]
        inputs[stage] = plan[below].out_channels + plan[skip].out_channels
        below = stage
    return inputs


def freeze_norm_statistics(model: nn.Layer) -> None:
    """Make every batch norm layer of ``model`` use (and keep) its running statistics in training
    mode as well."""
    for layer in model.sublayers(include_self=True):
        if isinstance(layer, nn.layer.norm._BatchNormBase):
            layer._use_global_stats = True


class NestedUNet(nn.Layer):
    """U2-Net's two-level nested U, with a choice of UMSIF or RSU in each of the top stages.

    Args:
        num_classes: number of output classes.
        in_channels: image channels (1 for grey SEM, 3 for RGB).
        plan: channels and heights of every stage (:data:`U2NET_PLAN` or :data:`U2NETP_PLAN`).
        umsif_stages: which of En_1, En_2, En_3, De_1, De_2, De_3 are UMSIF blocks; empty gives
            plain U2-Net.
        pretrained: path of weights to load, or None for random initialisation.
        frozen_norm_statistics: batch norm layers normalise with their stored running statistics
            in training too and never update them (as ``norm_eval`` in MMSegmentation). For
            fine-tuning from ``pretrained`` with batch 1 on varied images, where per-sample
            statistics in training and averaged ones at inference would disagree.
    """

    def __init__(self, num_classes: int, in_channels: int, plan: Dict[str, StageSpec],
                 umsif_stages: Sequence[str], pretrained: str | None = None,
                 frozen_norm_statistics: bool = False):
        super().__init__()
        unknown = sorted(set(umsif_stages) - set(UMSIF_CAPABLE))
        if unknown:
            raise ValueError(f"umsif_stages {unknown} cannot hold a UMSIF block; "
                             f"choose from {list(UMSIF_CAPABLE)}")
        self.umsif_stages = tuple(s for s in ENCODER_STAGES + DECODER_STAGES if s in umsif_stages)
        inputs = stage_input_channels(plan, in_channels)
        self.stages = nn.LayerDict({
            name: self._block(inputs[name], plan[name], name in self.umsif_stages)
            for name in ENCODER_STAGES + DECODER_STAGES})
        side_sources = ("De_1", "De_2", "De_3", "De_4", "De_5", "En_6")
        self.side_sources = side_sources
        self.sides = nn.LayerList([
            nn.Conv2D(plan[name].out_channels, num_classes, 3, padding=1) for name in side_sources])
        self.fuse_sides = nn.Conv2D(len(side_sources) * num_classes, num_classes, 1)
        self.pretrained = pretrained
        self.frozen_norm_statistics = frozen_norm_statistics
        self.init_weight()
        if frozen_norm_statistics:
            freeze_norm_statistics(self)

    @staticmethod
    def _block(in_channels: int, spec: StageSpec, umsif: bool) -> nn.Layer:
        if umsif:
            return UMSIF(in_channels, spec.mid_channels, spec.out_channels, spec.height)
        return RSU(in_channels, spec.mid_channels, spec.out_channels, spec.height, spec.dilated)

    def forward(self, x: paddle.Tensor) -> List[paddle.Tensor]:
        encoded: Dict[str, paddle.Tensor] = {}
        h = x
        for index, name in enumerate(ENCODER_STAGES):
            h = self.stages[name](_pool(h) if index > 0 else h)
            encoded[name] = h
        decoded: Dict[str, paddle.Tensor] = {"En_6": h}
        for name in DECODER_STAGES:
            skip = encoded["En_" + name[-1]]
            h = self.stages[name](paddle.concat([resize_like(h, skip), skip], axis=1))
            decoded[name] = h

        finest = decoded["De_1"]
        side_logits = []
        for conv, name in zip(self.sides, self.side_sources):
            logit = conv(decoded[name])
            side_logits.append(logit if name == "De_1" else resize_like(logit, finest))
        fused = self.fuse_sides(paddle.concat(side_logits, axis=1))
        if not self.training:
            return [fused]
        return [fused] + side_logits

    def init_weight(self) -> None:
        if self.pretrained is not None:
            utils.load_entire_model(self, self.pretrained)


@manager.MODELS.add_component
class HRU2Net(NestedUNet):
    """HRU2-Net: U2-Net (full channel plan, 44 M parameters as U2-Net) with UMSIF blocks.

    Training mode returns ``[fused, side_1, ..., side_6]`` logits at input resolution (one loss
    per output, as PaddleSeg's U2Net); eval mode returns ``[fused]``.

    Args:
        num_classes: number of classes.
        in_channels: image channels. Default 3.
        umsif_stages: stages built as UMSIF blocks, any of En_1, En_2, En_3, De_1, De_2, De_3.
            Default ``("En_1", "De_1")``, the paper's top-level encoder and decoder.
        pretrained: weights to load. Default None (random initialisation, as the paper).
        frozen_norm_statistics: see :class:`NestedUNet`. Default False.
    """

    def __init__(self, num_classes: int, in_channels: int = 3,
                 umsif_stages: Sequence[str] = ("En_1", "De_1"), pretrained: str | None = None,
                 frozen_norm_statistics: bool = False):
        super().__init__(num_classes, in_channels, U2NET_PLAN, umsif_stages, pretrained,
                         frozen_norm_statistics)


@manager.MODELS.add_component
class HRU2Netp(NestedUNet):
    """HRU2-Net†, the paper's main model: U2-Net† (light plan: 16/64 channels) with UMSIF blocks.

    Args:
        num_classes: number of classes.
        in_channels: image channels. Default 3.
        umsif_stages: stages built as UMSIF blocks, any of En_1, En_2, En_3, De_1, De_2, De_3.
            Default ``("En_1", "De_1")``: the paper applies UMSIF "to the En_1, De_1 part of the
            HRU2-Net† model" (Fig. 2).
        pretrained: weights to load. Default None (random initialisation, as the paper).
        frozen_norm_statistics: see :class:`NestedUNet`. Default False.
    """

    def __init__(self, num_classes: int, in_channels: int = 3,
                 umsif_stages: Sequence[str] = ("En_1", "De_1"), pretrained: str | None = None,
                 frozen_norm_statistics: bool = False):
        super().__init__(num_classes, in_channels, U2NETP_PLAN, umsif_stages, pretrained,
                         frozen_norm_statistics)
