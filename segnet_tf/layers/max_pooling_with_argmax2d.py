"""Max pooling that also returns where each maximum came from."""

import keras
import tensorflow as tf

from segnet_tf.layers._validation import check_rank4, normalize_pair


@keras.saving.register_keras_serializable(package="segnet_tf")
class MaxPoolingWithArgmax2D(keras.layers.Layer):
    """2D max pooling returning the pooled values and the argmax indices.

    The indices are what SegNet's decoder needs to put every value back at the
    position it came from (`MaxUnpooling2D`). They are flat positions in the
    whole input tensor, batch included
    (`((b * height + y) * width + x) * channels + c`), as computed by
    `tf.nn.max_pool_with_argmax(..., include_batch_in_index=True)`, and stay
    int64: float32 cannot represent positions past 2**24 and a mixed precision
    policy would otherwise cast them to float16.

    Windows must not overlap (`strides >= pool_size`): with overlapping windows
    one input could be the maximum of two windows and unpooling would put it
    back twice.

    `tf.nn.max_pool_with_argmax` has no XLA kernel, so the layer sets
    `supports_jit = False`; Keras' default `jit_compile="auto"` then compiles
    any model holding it without XLA.

    Args:
        pool_size: int or pair of ints. Size of the pooling window. Defaults to 2.
        strides: int, pair of ints or None. Step between windows. Defaults to
            `pool_size`.
        padding: str. `"same"` (odd sizes round up: 45 -> 23) or `"valid"`
            (odd sizes round down). Defaults to `"same"`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Example:

    >>> pool = MaxPoolingWithArgmax2D()
    >>> pooled, indices = pool(np.ones((1, 45, 61, 8), "float32"))
    >>> pooled.shape, indices.dtype
    (TensorShape([1, 23, 31, 8]), tf.int64)

    Reference: Badrinarayanan, Kendall, Cipolla. "SegNet: A Deep Convolutional
    Encoder-Decoder Architecture for Image Segmentation". TPAMI 2017.
    """

    def __init__(self, pool_size=2, strides=None, padding="same", **kwargs):
        super().__init__(**kwargs)
        self.pool_size = normalize_pair(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else normalize_pair(strides, "strides")
        if self.strides[0] < self.pool_size[0] or self.strides[1] < self.pool_size[1]:
            raise ValueError(
                "MaxPoolingWithArgmax2D needs non-overlapping windows "
                f"(strides >= pool_size). Received: pool_size={self.pool_size}, "
                f"strides={self.strides}"
            )
        padding = str(padding).lower()
        if padding not in ("same", "valid"):
            raise ValueError(f"`padding` must be 'same' or 'valid'. Received: padding={padding!r}")
        self.padding = padding
        self.supports_jit = False
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def build(self, input_shape):
        check_rank4(input_shape, self.__class__.__name__, "inputs")

    def call(self, inputs):
        # Grappler's arithmetic optimizer swaps `MaxPool*(relu(x))` into
        # `relu(MaxPool*(x))` and, for MaxPoolWithArgmax, wires the relu into the
        # indices output too; TensorFlow then rejects the rewritten graph and runs the
        # whole function unoptimised ("Ignoring multi-device function optimization
        # failure"). `ensure_shape` (a no-op that forwards its input) between the
        # activation and the pooling keeps the pattern from matching.
        inputs = tf.ensure_shape(inputs, inputs.shape)
        pooled, indices = tf.nn.max_pool_with_argmax(
            inputs,
            ksize=(1, *self.pool_size, 1),
            strides=(1, *self.strides, 1),
            padding=self.padding.upper(),
            include_batch_in_index=True,
        )
        return pooled, indices

    def _pooled_length(self, length, pool, stride):
        if length is None:
            return None
        if self.padding == "same":
            return -(-length // stride)
        return (length - pool) // stride + 1

    def compute_output_shape(self, input_shape):
        check_rank4(input_shape, self.__class__.__name__, "inputs")
        batch, height, width, channels = input_shape
        shape = (
            batch,
            self._pooled_length(height, self.pool_size[0], self.strides[0]),
            self._pooled_length(width, self.pool_size[1], self.strides[1]),
            channels,
        )
        return shape, shape

    def compute_output_spec(self, inputs):
        shape, _ = self.compute_output_shape(inputs.shape)
        return (
            keras.KerasTensor(shape, dtype=self.compute_dtype),
            keras.KerasTensor(shape, dtype="int64"),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {"pool_size": self.pool_size, "strides": self.strides, "padding": self.padding}
        )
        return config
