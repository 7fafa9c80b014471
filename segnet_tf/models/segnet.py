"""SegNet, SegNet-Basic and their Bayesian variants.

Reference: Badrinarayanan, Kendall, Cipolla. "SegNet: A Deep Convolutional
Encoder-Decoder Architecture for Image Segmentation". TPAMI 2017.
Kendall, Badrinarayanan, Cipolla. "Bayesian SegNet: Model Uncertainty in Deep
Convolutional Encoder-Decoder Architectures for Scene Understanding". 2015.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers

from segnet_tf.layers import MaxPoolingWithArgmax2D, MaxUnpooling2D, MonteCarloDropout
from segnet_tf.models._blocks import (
    VGG16_BLOCKS,
    check_num_classes,
    conv_block,
    conv_bn,
    logits_output,
    network_input,
    scaled_filters,
    standardize,
)
from segnet_tf.models.base import SegmentationModel, check_logit_offsets, layer_dtype_policy
from segnet_tf.models.pooling_taps import PoolingTap
from segnet_tf.models.registry import register_model

# (filters, convolutions) of each encoder block of SegNet-Basic.
BASIC_BLOCKS = ((64, 1), (64, 1), (64, 1), (64, 1))

# depth -> (encoder blocks, default kernel size, convolutions with biases, decoder ReLU).
# SegNet-Basic follows the paper: no biases (BN follows each convolution) and no
# ReLU in the decoder.
DEPTHS = {
    "vgg16": (VGG16_BLOCKS, 3, True, True),
    "basic": (BASIC_BLOCKS, 7, False, False),
}


def central_blocks(num_blocks: int) -> tuple[int, ...]:
    """The deeper half of the blocks (1-based), where Bayesian SegNet puts dropout:
    encoders 3-5 of VGG SegNet (after pool3, pool4, pool5), 3-4 of SegNet-Basic."""
    return tuple(range(num_blocks // 2 + 1, num_blocks + 1))


def _check_flag(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"`{name}` must be True or False. Received: {name}={value!r}")
    return value


@keras.saving.register_keras_serializable(package="segnet_tf")
class SegNet(SegmentationModel):
    """SegNet: an encoder-decoder whose decoder unpools with the encoder's pooling indices.

    Encoder block ``i`` is ``convolutions`` x (conv + BN + ReLU) followed by max
    pooling with indices. Decoder block ``i`` mirrors it: unpooling with block ``i``'s
    indices, then the same number of conv + BN (+ ReLU); its last convolution narrows
    to the filters of block ``i - 1``, so each decoder hands the next unpooling the
    channel count that its indices address. The layers are named ``block{i}_conv{j}``,
    ``block{i}_pool``, ``decoder{i}_unpool``, ``decoder{i}_conv{j}`` and ``classifier``
    (VGG16's names for the encoder, so that its ImageNet weights load).

    Args:
        num_classes: int. Number of output classes, at least 2.
        depth: ``"vgg16"`` (13 convolutions in 5 blocks of 64-512 filters, about 29.5 M
            parameters) or ``"basic"`` (SegNet-Basic: 4 blocks of one 64-filter
            convolution, no biases, no decoder ReLU, 1.42 M parameters with 11 classes).
        width: float. Multiplier on every block's filters. Defaults to 1.0.
        kernel_size: int or None. Convolution kernel size; None for the depth's own
            (3 for ``"vgg16"``, 7 for ``"basic"``).
        encoder_addition: bool. Whether each unpooled map is added to the encoder's
            feature map it was pooled from, before the decoder's convolutions (the
            paper's "EncoderAddition" variant, Table 1): the decoder then sees the
            full-resolution detail, not only where the maxima were. Same parameters.
        bayesian: bool. Bayesian SegNet (Kendall et al.): dropout that stays on at
            inference after the central encoders and decoders (blocks 3-5 of
            ``"vgg16"``, 3-4 of ``"basic"``). Use `segnet_tf.models.mc_predict`.
        dropout_rate: float. Rate of that dropout. Defaults to 0.5.
        input_scale: float. See `SegmentationModel`. Defaults to 1.0.
        training_size: See `SegmentationModel`. Defaults to None.
        class_logit_offsets: None or one logit offset per class. Defaults to None.
        input_shape: tuple. ``(height, width, 3)``; None for any size.
        dtype: None or a dtype policy (name) for the layers.
        name: str. Model name. Defaults to ``"segnet"``.

    Example:

    >>> model = SegNet(num_classes=11, depth="basic", width=0.25)
    >>> model(np.zeros((1, 45, 61, 3))).shape
    TensorShape([1, 45, 61, 11])
    >>> SegNet.from_config(model.get_config()).count_params() == model.count_params()
    True
    """

    def __init__(
        self,
        num_classes: int,
        depth: str = "vgg16",
        width: float = 1.0,
        kernel_size: int | None = None,
        encoder_addition: bool = False,
        bayesian: bool = False,
        dropout_rate: float = 0.5,
        input_scale: float = 1.0,
        class_logit_offsets=None,
        training_size=None,
        input_shape=(None, None, 3),
        dtype=None,
        name: str = "segnet",
        **kwargs,
    ):
        # === Config checks ===
        check_num_classes(num_classes)
        if depth not in DEPTHS:
            raise ValueError(f"`depth` must be one of {sorted(DEPTHS)}. Received: {depth!r}")
        blocks, default_kernel, use_bias, decoder_relu = DEPTHS[depth]
        kernel_size = default_kernel if kernel_size is None else kernel_size
        if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1:
            raise ValueError(f"`kernel_size` must be a positive int. Received: {kernel_size!r}")
        _check_flag(encoder_addition, "encoder_addition")
        _check_flag(bayesian, "bayesian")
        if not 0.0 <= dropout_rate < 1.0:
            raise ValueError(f"`dropout_rate` must be in [0, 1). Received: {dropout_rate!r}")
        offsets = check_logit_offsets(class_logit_offsets, num_classes)
        filters = [scaled_filters(f, width) for f, _ in blocks]
        dropout_blocks = central_blocks(len(blocks)) if bayesian else ()
        policy = self._resolve_dtype(dtype)

        # === Layers and functional model ===
        with layer_dtype_policy(policy):
            images, x = network_input(input_shape, input_scale)
            x = standardize(x)
            encoders = []  # (pre-pool map, pooled map, indices) of each encoder block
            for index, (_, num_convs) in enumerate(blocks, start=1):
                x = conv_block(
                    x, filters[index - 1], num_convs, kernel_size, f"block{index}", use_bias
                )
                pre_pool = x
                x, indices = MaxPoolingWithArgmax2D(name=f"block{index}_pool")(x)
                encoders.append((pre_pool, x, indices))
                if index in dropout_blocks:
                    x = MonteCarloDropout(dropout_rate, name=f"block{index}_dropout")(x)

            taps = {}
            for index in range(len(blocks), 0, -1):
                pre_pool, pooled, indices = encoders[index - 1]
                decoder_input = x
                x = MaxUnpooling2D(name=f"decoder{index}_unpool")([x, indices, pre_pool])
                taps[index] = PoolingTap(index, pre_pool, pooled, indices, decoder_input, x)
                if encoder_addition:
                    x = layers.Add(name=f"decoder{index}_add_encoder")([x, pre_pool])
                num_convs = blocks[index - 1][1]
                out_filters = filters[max(index - 2, 0)]
                for conv in range(num_convs, 0, -1):
                    conv_filters = out_filters if conv == 1 else filters[index - 1]
                    x = conv_bn(
                        x,
                        conv_filters,
                        kernel_size,
                        f"decoder{index}_conv{conv}",
                        use_bias,
                        decoder_relu,
                    )
                if index in dropout_blocks:
                    x = MonteCarloDropout(dropout_rate, name=f"decoder{index}_dropout")(x)

            x = layers.Conv2D(num_classes, 1, name="classifier")(x)
            logits = logits_output(x, images, input_scale, offsets)
        super().__init__(inputs=images, outputs=logits, name=name, dtype=policy, **kwargs)

        # === Config ===
        self._store_common_config(
            num_classes, input_scale, offsets, input_shape, policy, training_size
        )
        self.depth = depth
        self.width = float(width)
        self.kernel_size = kernel_size
        self.encoder_addition = encoder_addition
        self.bayesian = bayesian
        self.dropout_rate = float(dropout_rate)
        self._taps = tuple(taps[index] for index in sorted(taps))

    @property
    def has_vgg16_encoder(self) -> bool:
        return self.depth == "vgg16"

    def pooling_taps(self) -> tuple[PoolingTap, ...]:
        """Each level's encoder map, pooled map, indices and decoder maps, block 1 first.

        The tensors belong to this model's graph: ``keras.Model(model.inputs,
        [tap.encoder, tap.unpooled])`` runs the model up to them.
        """
        return self._taps

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "depth": self.depth,
            "width": self.width,
            "kernel_size": self.kernel_size,
            "encoder_addition": self.encoder_addition,
            "bayesian": self.bayesian,
            "dropout_rate": self.dropout_rate,
        }


register_model("segnet", SegNet)
register_model("segnet_encoder_addition", SegNet, encoder_addition=True)
register_model("segnet_basic", SegNet, depth="basic")
register_model("bayesian_segnet", SegNet, bayesian=True)
register_model("bayesian_segnet_basic", SegNet, depth="basic", bayesian=True)
