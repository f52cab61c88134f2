"""EfficientFormerV2 (S0, S1) as a PaddleSeg backbone, and a light segmentation model on it.

Y. Li, J. Hu, Y. Wen, G. Evangelidis, K. Salahi, Y. Wang, S. Tulyakov, J. Ren, "Rethinking Vision
Transformers for MobileNet Size and Speed", ICCV 2023 (arXiv:2212.08059). Written here from the
paper, in PaddleSeg's conventions:

* a convolution stem (two 3 x 3 stride-2 convolutions, 1/4 scale), four stages at 1/4, 1/8, 1/16
  and 1/32 scale joined by 3 x 3 stride-2 convolution embeddings;
* every block is a residual, layer-scaled feed-forward network with a depthwise 3 x 3 convolution
  between its two point-wise convolutions (the paper's unified FFN); the last blocks of stages
  3 and 4 put multi-head self-attention in front of it ("AttnFFN"): 4-D attention with
  talking heads (1 x 1 convolutions across heads before and after the softmax) and a depthwise
  convolution on the values for locality; in stage 3, at 1/16 scale, queries, keys and values
  are taken at half resolution (stride-2 attention) and the result is upsampled;
* the paper's learned attention biases are indexed by the training resolution; to run at any
  input size they are left out here (the depthwise convolution on the values gives the
  position information instead).

``EfficientFormerSeg`` puts an all-MLP decoder on the four stages (SegFormer-style, as PaddleSeg
2.9 pairs EfficientFormerV2 with a light head): each stage to ``head_channels`` by a 1 x 1
convolution, upsampled to 1/4 scale, concatenated, fused, classified and upsampled to the input.
Any input size works: the input is padded to a multiple of 32 inside the model and the output
cropped back.
"""
from __future__ import annotations

from typing import Dict, List, Sequence

import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddleseg.cvlibs import manager
from paddleseg.utils import utils

__all__ = ["EfficientFormerV2", "EfficientFormerV2_S0", "EfficientFormerV2_S1", "EfficientFormerSeg",
           "EFFICIENTFORMERV2_SIZES"]

#: Depths, widths and attention blocks per stage of the paper's Table (S0, S1).
EFFICIENTFORMERV2_SIZES: Dict[str, Dict[str, Sequence[int]]] = {
    "S0": {"depths": (2, 2, 6, 4), "widths": (32, 48, 96, 176), "attention_blocks": (0, 0, 2, 2)},
    "S1": {"depths": (3, 3, 9, 6), "widths": (32, 48, 120, 224), "attention_blocks": (0, 0, 2, 2)},
}


def conv_bn(in_channels: int, out_channels: int, kernel: int = 1, stride: int = 1,
            groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2D(in_channels, out_channels, kernel, stride=stride,
                                   padding=kernel // 2, groups=groups, bias_attr=False),
                         nn.BatchNorm2D(out_channels))


class LayerScale(nn.Layer):
    """Per-channel scale of a residual branch, starting small (1e-5) as in the paper."""

    def __init__(self, channels: int, init: float = 1e-5):
        super().__init__()
        self.scale = self.create_parameter([1, channels, 1, 1],
                                           default_initializer=nn.initializer.Constant(init))

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return x * self.scale


class FFN(nn.Layer):
    """1 x 1 expansion, depthwise 3 x 3, 1 x 1 projection (each with batch norm, GELU between)."""

    def __init__(self, channels: int, ratio: int = 4):
        super().__init__()
        hidden = channels * ratio
        self.expand = conv_bn(channels, hidden)
        self.local = conv_bn(hidden, hidden, 3, groups=hidden)
        self.project = conv_bn(hidden, channels)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self.project(F.gelu(self.local(F.gelu(self.expand(x)))))


class Attention4D(nn.Layer):
    """Multi-head self-attention on a ``(N, C, H, W)`` map with talking heads and local values.

    Args:
        channels: input and output channels.
        heads: attention heads.
        key_dim: channels per head of queries and keys.
        value_ratio: value channels per head = ``value_ratio * key_dim``.
        stride: 2 to attend at half resolution (stage 3), 1 otherwise.
    """

    def __init__(self, channels: int, heads: int = 8, key_dim: int = 32, value_ratio: int = 4,
                 stride: int = 1):
        super().__init__()
        self.heads, self.key_dim = heads, key_dim
        self.value_dim = value_ratio * key_dim
        self.scale = key_dim ** -0.5
        self.reduce = conv_bn(channels, channels, 3, stride=2, groups=channels) if stride == 2 else None
        self.query = conv_bn(channels, heads * key_dim)
        self.key = conv_bn(channels, heads * key_dim)
        self.value = conv_bn(channels, heads * self.value_dim)
        self.value_local = conv_bn(heads * self.value_dim, heads * self.value_dim, 3,
                                   groups=heads * self.value_dim)
        self.talk_before = nn.Conv2D(heads, heads, 1)
        self.talk_after = nn.Conv2D(heads, heads, 1)
        self.project = conv_bn(heads * self.value_dim, channels)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        full_size = paddle.shape(x)[2:]
        if self.reduce is not None:
            x = self.reduce(x)
        n, _, h, w = paddle.shape(x)[0], x.shape[1], paddle.shape(x)[2], paddle.shape(x)[3]
        tokens = h * w
        q = self.query(x).reshape([n, self.heads, self.key_dim, tokens]).transpose([0, 1, 3, 2])
        k = self.key(x).reshape([n, self.heads, self.key_dim, tokens])
        v_map = self.value(x)
        v = v_map.reshape([n, self.heads, self.value_dim, tokens]).transpose([0, 1, 3, 2])
        attention = paddle.matmul(q, k) * self.scale  # (n, heads, tokens, tokens)
        attention = F.softmax(self.talk_before(attention), axis=-1)
        attention = self.talk_after(attention)
        out = paddle.matmul(attention, v).transpose([0, 1, 3, 2])
        out = out.reshape([n, self.heads * self.value_dim, h, w]) + self.value_local(v_map)
        out = self.project(F.gelu(out))
        if self.reduce is not None:
            out = F.interpolate(out, size=full_size, mode="bilinear")
        return out


class Block(nn.Layer):
    """A residual FFN block, with residual attention in front of it if ``attention``."""

    def __init__(self, channels: int, attention: bool, attention_stride: int = 1):
        super().__init__()
        self.attention = Attention4D(channels, stride=attention_stride) if attention else None
        self.attention_scale = LayerScale(channels) if attention else None
        self.ffn = FFN(channels)
        self.ffn_scale = LayerScale(channels)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        if self.attention is not None:
            x = x + self.attention_scale(self.attention(x))
        return x + self.ffn_scale(self.ffn(x))


class EfficientFormerV2(nn.Layer):
    """The EfficientFormerV2 backbone: features at 1/4, 1/8, 1/16 and 1/32 scale.

    Args:
        in_channels: image channels.
        depths, widths: blocks and channels of the four stages.
        attention_blocks: how many of the last blocks of each stage have attention.
        pretrained: weights to load, or None.
    """

    def __init__(self, in_channels: int = 3, depths: Sequence[int] = (2, 2, 6, 4),
                 widths: Sequence[int] = (32, 48, 96, 176),
                 attention_blocks: Sequence[int] = (0, 0, 2, 2), pretrained: str | None = None):
        super().__init__()
        self.feat_channels = list(widths)
        self.stem = nn.Sequential(conv_bn(in_channels, widths[0] // 2, 3, stride=2), nn.ReLU(),
                                  conv_bn(widths[0] // 2, widths[0], 3, stride=2), nn.ReLU())
        self.embeddings = nn.LayerList([conv_bn(widths[i - 1], widths[i], 3, stride=2)
                                        for i in range(1, 4)])
        self.stages = nn.LayerList([
            nn.Sequential(*[Block(widths[i], attention=b >= depths[i] - attention_blocks[i],
                                  attention_stride=2 if i == 2 else 1)
                            for b in range(depths[i])])
            for i in range(4)])
        self.pretrained = pretrained
        if pretrained is not None:
            utils.load_entire_model(self, pretrained)

    def forward(self, x: paddle.Tensor) -> List[paddle.Tensor]:
        features = []
        x = self.stem(x)
        for index, stage in enumerate(self.stages):
            if index > 0:
                x = self.embeddings[index - 1](x)
            x = stage(x)
            features.append(x)
        return features


@manager.BACKBONES.add_component
def EfficientFormerV2_S0(**kwargs) -> EfficientFormerV2:
    """EfficientFormerV2-S0: depths 2-2-6-4, widths 32-48-96-176."""
    return EfficientFormerV2(**{**EFFICIENTFORMERV2_SIZES["S0"], **kwargs})


@manager.BACKBONES.add_component
def EfficientFormerV2_S1(**kwargs) -> EfficientFormerV2:
    """EfficientFormerV2-S1: depths 3-3-9-6, widths 32-48-120-224."""
    return EfficientFormerV2(**{**EFFICIENTFORMERV2_SIZES["S1"], **kwargs})


@manager.MODELS.add_component
class EfficientFormerSeg(nn.Layer):
    """Semantic segmentation with an EfficientFormerV2 backbone and an all-MLP decoder.

    Args:
        num_classes: number of classes.
        in_channels: image channels (used when ``backbone`` is not given). Default 3.
        backbone: a backbone instance (e.g. from a config); default EfficientFormerV2-S0.
        head_channels: channels of the decoder. Default 128.
        pretrained: weights of the whole model to load, or None.
    """

    def __init__(self, num_classes: int, in_channels: int = 3, backbone: nn.Layer | None = None,
                 head_channels: int = 128, pretrained: str | None = None):
        super().__init__()
        self.backbone = backbone if backbone is not None else EfficientFormerV2_S0(in_channels=in_channels)
        self.lateral = nn.LayerList([nn.Sequential(conv_bn(c, head_channels), nn.ReLU())
                                     for c in self.backbone.feat_channels])
        self.fuse = nn.Sequential(conv_bn(4 * head_channels, head_channels), nn.ReLU())
        self.classify = nn.Conv2D(head_channels, num_classes, 1)
        self.pretrained = pretrained
        if pretrained is not None:
            utils.load_entire_model(self, pretrained)

    def forward(self, x: paddle.Tensor) -> List[paddle.Tensor]:
        height, width = paddle.shape(x)[2], paddle.shape(x)[3]
        pad_h, pad_w = (32 - height % 32) % 32, (32 - width % 32) % 32
        padded = F.pad(x, paddle.stack([pad_w * 0, pad_w, pad_h * 0, pad_h]).astype("int32"),
                       mode="replicate")
        features = self.backbone(padded)
        finest = paddle.shape(features[0])[2:]
        fused = paddle.concat([F.interpolate(lateral(f), size=finest, mode="bilinear")
                               if index else lateral(f)
                               for index, (lateral, f) in enumerate(zip(self.lateral, features))], axis=1)
        logits = self.classify(self.fuse(fused))
        logits = F.interpolate(logits, size=paddle.shape(padded)[2:], mode="bilinear")
        return [logits[:, :, :height, :width]]
