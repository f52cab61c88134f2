"""Swin-Unet: a U-shaped network of Swin Transformer blocks, for any input size.

H. Cao, Y. Wang, J. Chen, D. Jiang, X. Zhang, Q. Tian, M. Wang, "Swin-Unet: Unet-like Pure
Transformer for Medical Image Segmentation", arXiv:2105.05537 (2021), built on Z. Liu et al.,
"Swin Transformer: Hierarchical Vision Transformer using Shifted Windows", ICCV 2021. Written here
from the papers, in PaddleSeg's conventions:

* patch partition (4 x 4) and linear embedding to ``embed_dim`` channels;
* an encoder of four stages of Swin blocks (window attention, alternately shifted by half a
  window, with a learned relative position bias), joined by patch merging (2 x 2 neighbours
  concatenated, linearly reduced to twice the channels);
* a symmetric decoder: patch expanding (a linear layer doubling the channels, rearranged to 2x
  the resolution at half the channels), concatenation with the encoder feature of the same scale
  (the skip connection), a linear layer back to the stage's channels, Swin blocks; a final 4x
  patch expanding and a linear projection to the classes.

Any input size: the image is padded to a multiple of 32 (four halvings of the 4 x 4 patches),
and every block pads its map to a multiple of the window and crops back, as the Swin
segmentation models do; the output is cropped to the input.
"""
from __future__ import annotations

from typing import List, Sequence

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddleseg.cvlibs import manager
from paddleseg.utils import utils

__all__ = ["SwinUnet", "SwinBlock", "WindowAttention"]


def _windows(x: paddle.Tensor, window: int) -> paddle.Tensor:
    """``(N, H, W, C)`` with H, W multiples of ``window`` to ``(N * windows, window², C)``."""
    shape = paddle.shape(x)
    n, h, w, c = shape[0], shape[1], shape[2], x.shape[3]
    x = x.reshape([n, h // window, window, w // window, window, c]).transpose([0, 1, 3, 2, 4, 5])
    return x.reshape([-1, window * window, c])


def _merge_windows(windows: paddle.Tensor, window: int, n, h, w) -> paddle.Tensor:
    c = windows.shape[-1]
    x = windows.reshape([n, h // window, w // window, window, window, c]).transpose([0, 1, 3, 2, 4, 5])
    return x.reshape([n, h, w, c])


class WindowAttention(nn.Layer):
    """Multi-head self-attention inside ``window`` x ``window`` windows, with a learned bias per
    relative position (the Swin Transformer's)."""

    def __init__(self, channels: int, heads: int, window: int):
        super().__init__()
        self.heads, self.window = heads, window
        self.scale = (channels // heads) ** -0.5
        self.qkv = nn.Linear(channels, 3 * channels)
        self.project = nn.Linear(channels, channels)
        self.bias_table = self.create_parameter(
            [(2 * window - 1) ** 2, heads], default_initializer=nn.initializer.TruncatedNormal(std=0.02))
        coords = np.stack(np.meshgrid(np.arange(window), np.arange(window), indexing="ij")).reshape(2, -1)
        relative = (coords[:, :, None] - coords[:, None, :]).transpose(1, 2, 0) + (window - 1)
        index = relative[..., 0] * (2 * window - 1) + relative[..., 1]
        self.register_buffer("bias_index", paddle.to_tensor(index.reshape(-1).astype("int64")),
                             persistable=False)

    def forward(self, x: paddle.Tensor, mask: paddle.Tensor | None = None) -> paddle.Tensor:
        batch, tokens, channels = paddle.shape(x)[0], self.window ** 2, x.shape[2]
        qkv = self.qkv(x).reshape([batch, tokens, 3, self.heads, channels // self.heads])
        q, k, v = qkv.transpose([2, 0, 3, 1, 4]).unbind(0)
        attention = paddle.matmul(q * self.scale, k, transpose_y=True)
        bias = paddle.gather(self.bias_table, self.bias_index).reshape([tokens, tokens, self.heads])
        attention = attention + bias.transpose([2, 0, 1]).unsqueeze(0)
        if mask is not None:  # (windows, tokens, tokens): -100 between pixels of different regions
            windows = paddle.shape(mask)[0]
            attention = attention.reshape([-1, windows, self.heads, tokens, tokens]) + \
                mask.unsqueeze(1).unsqueeze(0)
            attention = attention.reshape([-1, self.heads, tokens, tokens])
        out = paddle.matmul(F.softmax(attention, axis=-1), v)
        return self.project(out.transpose([0, 2, 1, 3]).reshape([batch, tokens, channels]))


def _shift_mask(height, width, window: int, shift: int) -> paddle.Tensor:
    """The attention mask of shifted windows, ``(windows, window², window²)``: pixels that came
    from different image regions (after the cyclic shift) must not attend to each other. Built
    from tensor operations, so it follows dynamic sizes in an exported graph."""
    def bands(length):
        index = paddle.arange(length)
        return (index >= length - window).astype("int64") + (index >= length - shift).astype("int64")
    regions = bands(height).unsqueeze(1) * 3 + bands(width).unsqueeze(0)
    blocks = regions.reshape([height // window, window, width // window, window]).transpose([0, 2, 1, 3])
    blocks = blocks.reshape([-1, window * window])
    different = blocks.unsqueeze(2) != blocks.unsqueeze(1)
    return different.astype("float32") * -100.0


class SwinBlock(nn.Layer):
    """Window attention (shifted by half a window if ``shifted``) and an MLP, each residual
    after layer norm; the map is padded to a multiple of the window and cropped back."""

    def __init__(self, channels: int, heads: int, window: int = 7, shifted: bool = False,
                 mlp_ratio: int = 4):
        super().__init__()
        self.window, self.shift = window, (window // 2 if shifted else 0)
        self.norm1 = nn.LayerNorm(channels)
        self.attention = WindowAttention(channels, heads, window)
        self.norm2 = nn.LayerNorm(channels)
        self.mlp = nn.Sequential(nn.Linear(channels, mlp_ratio * channels), nn.GELU(),
                                 nn.Linear(mlp_ratio * channels, channels))

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        """``x``: ``(N, H, W, C)``."""
        shape = paddle.shape(x)
        n, h, w = shape[0], shape[1], shape[2]
        shortcut = x
        x = self.norm1(x)
        pad_h, pad_w = (self.window - h % self.window) % self.window, (self.window - w % self.window) % self.window
        # zeros at the bottom/right, up to whole windows (padded channels-first: paddle2onnx
        # exports a channels-last pad with dynamic sizes wrongly)
        x = F.pad(x.transpose([0, 3, 1, 2]), paddle.stack([pad_w * 0, pad_w, pad_h * 0, pad_h]).astype("int32"),
                  mode="constant", value=0.0).transpose([0, 2, 3, 1])
        full_h, full_w = h + pad_h, w + pad_w
        mask = None
        if self.shift:
            x = paddle.roll(x, shifts=(-self.shift, -self.shift), axis=(1, 2))
            mask = _shift_mask(full_h, full_w, self.window, self.shift)
        out = self.attention(_windows(x, self.window), mask)
        x = _merge_windows(out, self.window, n, full_h, full_w)
        if self.shift:
            x = paddle.roll(x, shifts=(self.shift, self.shift), axis=(1, 2))
        x = shortcut + x[:, :h, :w, :]
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Layer):
    """2 x 2 neighbours concatenated (4C) and linearly reduced to 2C: half the resolution."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.LayerNorm(4 * channels)
        self.reduce = nn.Linear(4 * channels, 2 * channels, bias_attr=False)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        parts = [x[:, i::2, j::2, :] for i, j in ((0, 0), (1, 0), (0, 1), (1, 1))]
        return self.reduce(self.norm(paddle.concat(parts, axis=-1)))


class PatchExpanding(nn.Layer):
    """A linear layer to ``factor² * C / divide`` channels, rearranged to ``factor`` x the resolution."""

    def __init__(self, channels: int, factor: int = 2, divide: int = 2):
        super().__init__()
        self.factor, self.out_channels = factor, channels // divide
        self.expand = nn.Linear(channels, factor * factor * self.out_channels, bias_attr=False)
        self.norm = nn.LayerNorm(self.out_channels)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        shape = paddle.shape(x)
        n, h, w = shape[0], shape[1], shape[2]
        f, c = self.factor, self.out_channels
        x = self.expand(x).reshape([n, h, w, f, f, c]).transpose([0, 1, 3, 2, 4, 5])
        return self.norm(x.reshape([n, h * f, w * f, c]))


def _stage(channels: int, depth: int, heads: int, window: int) -> nn.LayerList:
    return nn.LayerList([SwinBlock(channels, heads, window, shifted=i % 2 == 1) for i in range(depth)])


@manager.MODELS.add_component
class SwinUnet(nn.Layer):
    """Swin-Unet (the paper's tiny setting by default: C = 96, depths 2-2-2-2, heads 3-6-12-24,
    window 7).

    Args:
        num_classes: number of classes.
        in_channels: image channels. Default 3.
        embed_dim: channels after the patch embedding (C).
        depths: Swin blocks per encoder stage (the decoder mirrors them).
        heads: attention heads per stage.
        window: window size of the attention.
        pretrained: weights to load, or None.
    """

    def __init__(self, num_classes: int, in_channels: int = 3, embed_dim: int = 96,
                 depths: Sequence[int] = (2, 2, 2, 2), heads: Sequence[int] = (3, 6, 12, 24),
                 window: int = 7, pretrained: str | None = None):
        super().__init__()
        dims = [embed_dim * 2 ** i for i in range(4)]
        self.embed = nn.Conv2D(in_channels, embed_dim, 4, stride=4)
        self.embed_norm = nn.LayerNorm(embed_dim)
        self.encoder = nn.LayerList([_stage(dims[i], depths[i], heads[i], window) for i in range(4)])
        self.merge = nn.LayerList([PatchMerging(dims[i]) for i in range(3)])
        self.encoder_norm = nn.LayerNorm(dims[3])
        self.expand = nn.LayerList([PatchExpanding(dims[i]) for i in (3, 2, 1)])
        self.reduce = nn.LayerList([nn.Linear(2 * dims[i], dims[i]) for i in (2, 1, 0)])
        self.decoder = nn.LayerList([_stage(dims[i], depths[i], heads[i], window) for i in (2, 1, 0)])
        self.decoder_norm = nn.LayerNorm(embed_dim)
        self.final_expand = PatchExpanding(embed_dim, factor=4, divide=1)
        self.classify = nn.Conv2D(embed_dim, num_classes, 1, bias_attr=False)
        self.pretrained = pretrained
        if pretrained is not None:
            utils.load_entire_model(self, pretrained)

    def forward(self, x: paddle.Tensor) -> List[paddle.Tensor]:
        height, width = paddle.shape(x)[2], paddle.shape(x)[3]
        pad_h, pad_w = (32 - height % 32) % 32, (32 - width % 32) % 32
        x = F.pad(x, paddle.stack([pad_w * 0, pad_w, pad_h * 0, pad_h]).astype("int32"), mode="replicate")
        h = self.embed_norm(self.embed(x).transpose([0, 2, 3, 1]))  # NHWC from here on
        skips = []
        for index, stage in enumerate(self.encoder):
            for block in stage:
                h = block(h)
            if index < 3:
                skips.append(h)
                h = self.merge[index](h)
        h = self.encoder_norm(h)
        for expand, reduce, stage, skip in zip(self.expand, self.reduce, self.decoder, reversed(skips)):
            h = reduce(paddle.concat([expand(h), skip], axis=-1))
            for block in stage:
                h = block(h)
        h = self.final_expand(self.decoder_norm(h)).transpose([0, 3, 1, 2])
        return [self.classify(h)[:, :, :height, :width]]
