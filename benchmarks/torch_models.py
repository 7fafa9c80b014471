"""The same SegNet architectures in PyTorch, for side-by-side timing.

Written to match `segnet_tf.get_model` layer for layer (same parameter count):
input standardisation, conv + BN (+ ReLU) stacks, `nn.MaxPool2d(return_indices=True)`
with `ceil_mode=True` (Keras' "same" pooling: 45 -> 23) and `nn.MaxUnpool2d` back to
the pre-pool size, a 1x1 classifier. Imported only when PyTorch is installed
(the optional extra `bench`).
"""

import torch
from torch import nn

from segnet_tf.models._blocks import IMAGENET_MEAN_RGB, IMAGENET_STD_RGB, VGG16_BLOCKS
from segnet_tf.models.segnet import BASIC_BLOCKS


def _conv_bn(in_channels, out_channels, kernel_size, bias, relu):
    layers = [
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=bias),
        nn.BatchNorm2d(out_channels, eps=1e-3, momentum=0.01),  # Keras' defaults
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class TorchSegNet(nn.Module):
    """SegNet-style encoder-decoder with unpooling by indices (NCHW float input in [0, 255])."""

    def __init__(self, num_classes, blocks, kernel_size, use_bias, decoder_relu, width=1.0):
        super().__init__()
        filters = [max(1, int(round(f * width))) for f, _ in blocks]
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN_RGB).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD_RGB).view(1, 3, 1, 1))
        self.encoders = nn.ModuleList()
        in_channels = 3
        for index, (_, num_convs) in enumerate(blocks):
            convs = []
            for _ in range(num_convs):
                convs.append(_conv_bn(in_channels, filters[index], kernel_size, use_bias, True))
                in_channels = filters[index]
            self.encoders.append(nn.Sequential(*convs))
        self.pool = nn.MaxPool2d(2, 2, ceil_mode=True, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2, 2)
        self.decoders = nn.ModuleList()
        for index in range(len(blocks) - 1, -1, -1):
            num_convs = blocks[index][1]
            out_filters = filters[max(index - 1, 0)]
            convs = []
            for conv in range(num_convs, 0, -1):
                conv_filters = out_filters if conv == 1 else filters[index]
                convs.append(
                    _conv_bn(filters[index], conv_filters, kernel_size, use_bias, decoder_relu)
                )
            self.decoders.append(nn.Sequential(*convs))
        self.classifier = nn.Conv2d(filters[0], num_classes, 1)

    def forward(self, images):
        x = (images - self.mean) / self.std
        skips = []
        for encoder in self.encoders:
            x = encoder(x)
            size = x.shape[-2:]
            x, indices = self.pool(x)
            skips.append((indices, size))
        for decoder, (indices, size) in zip(self.decoders, reversed(skips), strict=True):
            x = decoder(self.unpool(x, indices, output_size=size))
        return self.classifier(x)


def build_torch_model(name: str, num_classes: int, width: float = 1.0) -> TorchSegNet:
    """PyTorch twin of `segnet_tf.get_model(name, num_classes, width=width)`."""
    if name == "segnet_basic":
        return TorchSegNet(num_classes, BASIC_BLOCKS, 7, False, False, width)
    if name == "segnet":
        return TorchSegNet(num_classes, VGG16_BLOCKS, 3, True, True, width)
    raise ValueError(f"No PyTorch twin for model {name!r}; use 'segnet_basic' or 'segnet'.")
