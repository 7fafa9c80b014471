"""Unpooling by indices: the inverse placement of `MaxPoolingWithArgmax2D`."""

import keras
import tensorflow as tf

from segnet_tf.layers._scatter import scatter_into_zeros
from segnet_tf.layers._validation import check_rank4, normalize_pair


@keras.saving.register_keras_serializable(package="segnet_tf")
class MaxUnpooling2D(keras.layers.Layer):
    """Puts pooled values back at the positions their maxima came from.

    Called on `[values, indices, reference]`: `values` and `indices` of equal
    shape (the indices as returned by `MaxPoolingWithArgmax2D`), and
    `reference`, the tensor that was pooled, which gives the output's spatial
    size. Passing the reference rather than multiplying by the pool size is what
    makes odd sizes round-trip exactly (45x61 -> 23x31 -> 45x61). The output
    has the reference's batch, height and width and the values' channels; every
    position that was not a maximum is zero.

    Called on `[values, indices]` the output size is the input size times
    `pool_size`, which is right only for inputs whose pooled sizes divided evenly.

    The values are scattered into a flat zero tensor at their indices (the windows
    do not overlap, so no two values share a position) by `SparseToDense`, the
    fastest of TensorFlow's CPU scatters here (see `_scatter.py`); the gradient
    gathers the incoming gradient at the same positions.

    Args:
        pool_size: int or pair of ints. Only used with two inputs, to size the
            output. Defaults to 2.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Example:

    >>> x = np.random.rand(2, 45, 61, 8).astype("float32")
    >>> pooled, indices = MaxPoolingWithArgmax2D()(x)
    >>> MaxUnpooling2D()([pooled, indices, x]).shape
    TensorShape([2, 45, 61, 8])
    """

    def __init__(self, pool_size=2, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = normalize_pair(pool_size, "pool_size")

    def _check_input_shapes(self, input_shape):
        name = self.__class__.__name__
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) not in (2, 3):
            raise ValueError(
                f"{name} expects a list [values, indices] or [values, indices, reference]. "
                f"Received: {input_shape!r}"
            )
        values_shape, indices_shape = tuple(input_shape[0]), tuple(input_shape[1])
        check_rank4(values_shape, name, "values")
        check_rank4(indices_shape, name, "indices")
        for axis, (v, i) in enumerate(zip(values_shape, indices_shape, strict=True)):
            if v is not None and i is not None and v != i:
                raise ValueError(
                    f"{name}: values and indices must have the same shape. Received "
                    f"values shape {values_shape} and indices shape {indices_shape} "
                    f"(axis {axis} differs)."
                )
        if len(input_shape) == 3:
            reference_shape = tuple(input_shape[2])
            check_rank4(reference_shape, name, "reference")
            v_channels, r_channels = values_shape[-1], reference_shape[-1]
            if v_channels is not None and r_channels is not None and v_channels != r_channels:
                raise ValueError(
                    f"{name}: values have {v_channels} channels but the pooled reference "
                    f"had {r_channels}; the indices address the reference's channels."
                )
        return values_shape

    def build(self, input_shape):
        self._check_input_shapes(input_shape)

    def call(self, inputs):
        values, indices = inputs[0], inputs[1]
        if not indices.dtype.is_integer:
            raise ValueError(
                f"{self.__class__.__name__}: indices must be an integer tensor "
                f"(from MaxPoolingWithArgmax2D). Received dtype {indices.dtype.name}."
            )
        values_shape = tf.shape(values, out_type=tf.int64)
        if len(inputs) == 3:
            output_shape = tf.concat(
                [tf.shape(inputs[2], out_type=tf.int64)[:3], values_shape[3:]], axis=0
            )
        else:
            scale = tf.constant([1, *self.pool_size, 1], tf.int64)
            output_shape = values_shape * scale
        flat = scatter_into_zeros(
            tf.reshape(values, (-1,)),
            tf.reshape(indices, (-1,)),
            tf.cast(tf.reduce_prod(output_shape), indices.dtype),
        )
        return tf.reshape(flat, output_shape)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = self._check_input_shapes(input_shape)
        if len(input_shape) == 3:
            return (batch, input_shape[2][1], input_shape[2][2], channels)

        def scaled(length, factor):
            return None if length is None else length * factor

        return (
            batch,
            scaled(height, self.pool_size[0]),
            scaled(width, self.pool_size[1]),
            channels,
        )

    def get_config(self):
        config = super().get_config()
        config.update({"pool_size": self.pool_size})
        return config
