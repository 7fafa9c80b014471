"""Max pooling that also returns where each maximum came from."""

import math

import keras
import tensorflow as tf

from segnet_tf.layers._scatter import scatter_into_zeros
from segnet_tf.layers._validation import check_rank4, normalize_pair

INDEX_DTYPES = ("int32", "int64")
_INT32_LIMIT = 2**31


def _check_int32_addressable(num_elements: int) -> None:
    if num_elements >= _INT32_LIMIT:
        raise ValueError(
            f"MaxPoolingWithArgmax2D: an input of {num_elements} elements has positions "
            "past int32's range (2**31); build the layer with index_dtype='int64'."
        )


def _max_pool_with_int32_argmax(inputs, options):
    """`tf.nn.max_pool_with_argmax` with int32 indices and a gradient for them."""
    size = tf.size(inputs, out_type=tf.int64)
    checked = tf.debugging.assert_less(
        size,
        tf.constant(_INT32_LIMIT, tf.int64),
        message="MaxPoolingWithArgmax2D: input has 2**31 elements or more; "
        "build the layer with index_dtype='int64'",
    )
    with tf.control_dependencies([checked]):
        inputs = tf.identity(inputs)

    @tf.custom_gradient
    def pool(x):
        pooled, indices = tf.nn.max_pool_with_argmax(
            x, include_batch_in_index=True, output_dtype=tf.int32, **options
        )

        def gradient(d_pooled, d_indices=None):
            # Each input receives the gradient of the window it was the maximum of.
            flat = scatter_into_zeros(
                tf.reshape(d_pooled, [-1]), tf.reshape(indices, [-1]), tf.size(x)
            )
            return tf.reshape(flat, tf.shape(x))

        return (pooled, indices), gradient

    return pool(inputs)


@keras.saving.register_keras_serializable(package="segnet_tf")
class MaxPoolingWithArgmax2D(keras.layers.Layer):
    """2D max pooling returning the pooled values and the argmax indices.

    The indices are what SegNet's decoder needs to put every value back at the
    position it came from (`MaxUnpooling2D`). They are flat positions in the
    whole input tensor, batch included
    (`((b * height + y) * width + x) * channels + c`), as computed by
    `tf.nn.max_pool_with_argmax(..., include_batch_in_index=True)`, and are
    integers whatever the dtype policy (float32 could not represent positions
    past 2**24, and a mixed precision policy would cast them to float16).

    They are int32 by default: TensorFlow's CPU kernel computes int32 indices 2-3x
    faster than int64 ones, and int32 addresses any input of fewer than 2**31
    elements (e.g. a batch of 64 frames of 1080x1920 with 16 channels). Larger
    inputs raise an error that asks for `index_dtype="int64"`. TensorFlow's
    gradient of the op accepts only int64 indices, so the int32 path supplies its
    own: the incoming gradient scattered back to the argmax positions, which is
    what `MaxPoolGradWithArgmax` computes.

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
        index_dtype: str. `"int32"` (faster) or `"int64"` (inputs of 2**31
            elements or more). Defaults to `"int32"`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Example:

    >>> pool = MaxPoolingWithArgmax2D()
    >>> pooled, indices = pool(np.ones((1, 45, 61, 8), "float32"))
    >>> pooled.shape, indices.dtype
    (TensorShape([1, 23, 31, 8]), tf.int32)

    Reference: Badrinarayanan, Kendall, Cipolla. "SegNet: A Deep Convolutional
    Encoder-Decoder Architecture for Image Segmentation". TPAMI 2017.
    """

    def __init__(self, pool_size=2, strides=None, padding="same", index_dtype="int32", **kwargs):
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
        if index_dtype not in INDEX_DTYPES:
            raise ValueError(
                f"`index_dtype` must be 'int32' or 'int64'. Received: index_dtype={index_dtype!r}"
            )
        self.index_dtype = index_dtype
        self.supports_jit = False
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def build(self, input_shape):
        check_rank4(input_shape, self.__class__.__name__, "inputs")
        if self.index_dtype == "int32" and None not in input_shape:
            _check_int32_addressable(math.prod(input_shape))

    def call(self, inputs):
        # Grappler's arithmetic optimizer swaps `MaxPool*(relu(x))` into
        # `relu(MaxPool*(x))` and, for MaxPoolWithArgmax, wires the relu into the
        # indices output too; TensorFlow then rejects the rewritten graph and runs the
        # whole function unoptimised ("Ignoring multi-device function optimization
        # failure"). `ensure_shape` (a no-op that forwards its input) between the
        # activation and the pooling keeps the pattern from matching.
        inputs = tf.ensure_shape(inputs, inputs.shape)
        options = {
            "ksize": (1, *self.pool_size, 1),
            "strides": (1, *self.strides, 1),
            "padding": self.padding.upper(),
        }
        # TensorFlow's CPU kernel is 4x slower on 16-bit floats than on float32
        # (no vectorised path); the casts are exact, so pooled values and indices
        # are those of the 16-bit input.
        dtype = inputs.dtype
        if dtype in (tf.bfloat16, tf.float16):
            inputs = tf.cast(inputs, tf.float32)
        if self.index_dtype == "int64":
            pooled, indices = tf.nn.max_pool_with_argmax(
                inputs, include_batch_in_index=True, **options
            )
        else:
            pooled, indices = _max_pool_with_int32_argmax(inputs, options)
        return tf.cast(pooled, dtype), indices

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
            keras.KerasTensor(shape, dtype=self.index_dtype),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "pool_size": self.pool_size,
                "strides": self.strides,
                "padding": self.padding,
                "index_dtype": self.index_dtype,
            }
        )
        return config
