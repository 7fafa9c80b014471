"""SegNet, SegNet-Basic and their Bayesian variants.

Reference: Badrinarayanan, Kendall, Cipolla. "SegNet: A Deep Convolutional
Encoder-Decoder Architecture for Image Segmentation". TPAMI 2017.
Kendall, Badrinarayanan, Cipolla. "Bayesian SegNet: Model Uncertainty in Deep
Convolutional Encoder-Decoder Architectures for Scene Understanding". 2015.
"""

import keras
from keras import layers

from segnet_tf.layers import MaxPoolingWithArgmax2D, MaxUnpooling2D, MonteCarloDropout
from segnet_tf.models._blocks import (
    VGG16_BLOCKS,
    check_num_classes,
    conv_bn,
    float32_logits,
    image_input,
    scaled_filters,
    standardize,
)
from segnet_tf.models.registry import register_model
from segnet_tf.models.vgg16_weights import load_vgg16_encoder_weights

# (filters, convolutions) of each encoder block of SegNet-Basic.
BASIC_BLOCKS = ((64, 1), (64, 1), (64, 1), (64, 1))


def central_blocks(num_blocks: int) -> tuple[int, ...]:
    """The deeper half of the blocks (1-based), where Bayesian SegNet puts dropout:
    encoders 3-5 of VGG SegNet (after pool3, pool4, pool5), 3-4 of SegNet-Basic."""
    return tuple(range(num_blocks // 2 + 1, num_blocks + 1))


def build_encoder_decoder(
    num_classes: int,
    blocks,
    kernel_size: int,
    width: float,
    use_bias: bool,
    decoder_relu: bool,
    dropout_blocks=(),
    dropout_rate: float = 0.5,
    encoder_addition: bool = False,
    input_shape=(None, None, 3),
    name: str = "segnet",
) -> keras.Model:
    """Builds a SegNet-style encoder-decoder with unpooling by indices.

    Encoder block `i` is `convolutions` x (conv + BN + ReLU) followed by max
    pooling with indices. Decoder block `i` mirrors it: unpooling with block
    `i`'s indices, then the same number of conv + BN (+ ReLU); its last
    convolution narrows to the filters of block `i - 1`, so each decoder hands
    the next unpooling the channel count that its indices address.

    Args:
        num_classes: int. Number of output classes.
        blocks: sequence of `(filters, convolutions)` per encoder block.
        kernel_size: int. Convolution kernel size.
        width: float. Multiplier on every block's filters.
        use_bias: bool. Whether convolutions have biases (BN follows each).
        decoder_relu: bool. Whether decoder convolutions are followed by ReLU.
        dropout_blocks: 1-based indices of blocks followed by dropout that stays
            on at inference (Bayesian SegNet): after the encoder block's pooling
            and after the decoder block's last convolution.
        dropout_rate: float. Dropout rate of those layers.
        encoder_addition: bool. Whether each unpooled map is added to the encoder's
            feature map it was pooled from, before the decoder's convolutions (the
            paper's "EncoderAddition" variant, Table 1): the decoder then sees the
            full-resolution detail, not only where the maxima were.
        input_shape: tuple. `(height, width, 3)`, None for any size.
        name: str. Model name.
    """
    check_num_classes(num_classes)
    if not 0.0 <= dropout_rate < 1.0:
        raise ValueError(f"`dropout_rate` must be in [0, 1). Received: {dropout_rate!r}")
    filters = [scaled_filters(f, width) for f, _ in blocks]
    images = image_input(input_shape)
    x = standardize(images)

    skips = []  # (pre-pool tensor, indices) of each encoder block
    for index, (_, num_convs) in enumerate(blocks, start=1):
        block_filters = filters[index - 1]
        for conv in range(1, num_convs + 1):
            x = conv_bn(x, block_filters, kernel_size, f"block{index}_conv{conv}", use_bias)
        pre_pool = x
        x, indices = MaxPoolingWithArgmax2D(name=f"block{index}_pool")(x)
        skips.append((pre_pool, indices))
        if index in dropout_blocks:
            x = MonteCarloDropout(dropout_rate, name=f"block{index}_dropout")(x)

    for index in range(len(blocks), 0, -1):
        pre_pool, indices = skips[index - 1]
        x = MaxUnpooling2D(name=f"decoder{index}_unpool")([x, indices, pre_pool])
        if encoder_addition:
            x = layers.Add(name=f"decoder{index}_add_encoder")([x, pre_pool])
        num_convs = blocks[index - 1][1]
        out_filters = filters[max(index - 2, 0)]
        for conv in range(num_convs, 0, -1):
            conv_filters = out_filters if conv == 1 else filters[index - 1]
            x = conv_bn(
                x, conv_filters, kernel_size, f"decoder{index}_conv{conv}", use_bias, decoder_relu
            )
        if index in dropout_blocks:
            x = MonteCarloDropout(dropout_rate, name=f"decoder{index}_dropout")(x)

    x = layers.Conv2D(num_classes, 1, name="classifier")(x)
    return keras.Model(images, float32_logits(x), name=name)


@register_model("segnet")
def build_segnet(
    num_classes: int,
    width: float = 1.0,
    encoder_weights=None,
    encoder_addition: bool = False,
    input_shape=(None, None, 3),
    name: str = "segnet",
) -> keras.Model:
    """SegNet with a VGG16 encoder (13 convolutions in 5 blocks) and a mirrored decoder.

    About 29.5 M parameters at full width.

    Args:
        num_classes: int. Number of output classes.
        width: float. Multiplier on the filters (64, 128, 256, 512, 512). Defaults to 1.0.
        encoder_weights: None, `"imagenet"` (Keras' VGG16 ImageNet weights, downloaded
            by Keras) or the path to a VGG16 `.h5` / `.weights.h5` file. Needs width 1.0.
        encoder_addition: bool. Add each encoder feature map to the unpooled map of
            its decoder (see `build_encoder_decoder`). Defaults to False, the paper's
            SegNet.
        input_shape: tuple. `(height, width, 3)`; None for any size.
        name: str. Model name.

    Example:

    >>> model = segnet_tf.get_model("segnet", num_classes=11, width=0.25)
    >>> model(np.zeros((1, 45, 61, 3))).shape
    TensorShape([1, 45, 61, 11])
    """
    model = build_encoder_decoder(
        num_classes,
        VGG16_BLOCKS,
        kernel_size=3,
        width=width,
        use_bias=True,
        decoder_relu=True,
        encoder_addition=encoder_addition,
        input_shape=input_shape,
        name=name,
    )
    if encoder_weights is not None:
        load_vgg16_encoder_weights(model, encoder_weights)
    return model


@register_model("segnet_encoder_addition")
def build_segnet_encoder_addition(
    num_classes: int,
    width: float = 1.0,
    encoder_weights=None,
    input_shape=(None, None, 3),
    name: str = "segnet_encoder_addition",
) -> keras.Model:
    """SegNet whose decoders add the encoder feature maps to the unpooled maps.

    The paper's "EncoderAddition" decoder (TPAMI 2017, Table 1) on the VGG16 layout:
    the same layers and parameters as `build_segnet`, one addition per decoder. It
    is `build_segnet(..., encoder_addition=True)` under a name the CLI can select.
    """
    return build_segnet(
        num_classes,
        width=width,
        encoder_weights=encoder_weights,
        encoder_addition=True,
        input_shape=input_shape,
        name=name,
    )


@register_model("segnet_basic")
def build_segnet_basic(
    num_classes: int,
    width: float = 1.0,
    kernel_size: int = 7,
    encoder_addition: bool = False,
    input_shape=(None, None, 3),
    name: str = "segnet_basic",
) -> keras.Model:
    """SegNet-Basic: 4 encoders and 4 decoders of 64 filters with 7x7 kernels.

    As in the paper: batch normalisation after every convolution, no biases, and no
    ReLU in the decoder. 1.42 M parameters at full width with 11 classes.

    Args:
        num_classes: int. Number of output classes.
        width: float. Multiplier on the 64 filters. Defaults to 1.0.
        kernel_size: int. Convolution kernel size. Defaults to 7.
        encoder_addition: bool. SegNet-Basic-EncoderAddition of the paper's Table 1
            when True. Defaults to False.
        input_shape: tuple. `(height, width, 3)`; None for any size.
        name: str. Model name.
    """
    return build_encoder_decoder(
        num_classes,
        BASIC_BLOCKS,
        kernel_size=kernel_size,
        width=width,
        use_bias=False,
        decoder_relu=False,
        encoder_addition=encoder_addition,
        input_shape=input_shape,
        name=name,
    )


@register_model("bayesian_segnet")
def build_bayesian_segnet(
    num_classes: int,
    width: float = 1.0,
    dropout_rate: float = 0.5,
    encoder_weights=None,
    input_shape=(None, None, 3),
    name: str = "bayesian_segnet",
) -> keras.Model:
    """Bayesian SegNet: SegNet with Monte-Carlo dropout after the central blocks.

    Dropout (kept on at inference) follows encoders 3, 4, 5 and decoders 5, 4, 3
    (the "central encoder-decoder" variant of Kendall et al.). Use
    `segnet_tf.models.mc_predict` for the mean probabilities and uncertainty.

    Args:
        num_classes: int. Number of output classes.
        width: float. Multiplier on the filters. Defaults to 1.0.
        dropout_rate: float. Defaults to 0.5.
        encoder_weights: as for `build_segnet`.
        input_shape: tuple. `(height, width, 3)`; None for any size.
        name: str. Model name.
    """
    model = build_encoder_decoder(
        num_classes,
        VGG16_BLOCKS,
        kernel_size=3,
        width=width,
        use_bias=True,
        decoder_relu=True,
        dropout_blocks=central_blocks(len(VGG16_BLOCKS)),
        dropout_rate=dropout_rate,
        input_shape=input_shape,
        name=name,
    )
    if encoder_weights is not None:
        load_vgg16_encoder_weights(model, encoder_weights)
    return model


@register_model("bayesian_segnet_basic")
def build_bayesian_segnet_basic(
    num_classes: int,
    width: float = 1.0,
    kernel_size: int = 7,
    dropout_rate: float = 0.5,
    input_shape=(None, None, 3),
    name: str = "bayesian_segnet_basic",
) -> keras.Model:
    """Bayesian SegNet-Basic: SegNet-Basic with Monte-Carlo dropout after
    encoders 3, 4 and decoders 4, 3.

    Args:
        num_classes: int. Number of output classes.
        width: float. Multiplier on the 64 filters. Defaults to 1.0.
        kernel_size: int. Defaults to 7.
        dropout_rate: float. Defaults to 0.5.
        input_shape: tuple. `(height, width, 3)`; None for any size.
        name: str. Model name.
    """
    return build_encoder_decoder(
        num_classes,
        BASIC_BLOCKS,
        kernel_size=kernel_size,
        width=width,
        use_bias=False,
        decoder_relu=False,
        dropout_blocks=central_blocks(len(BASIC_BLOCKS)),
        dropout_rate=dropout_rate,
        input_shape=input_shape,
        name=name,
    )
