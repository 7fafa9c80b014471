"""Batch normalisation through TensorFlow's fused kernel."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="segnet_tf")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` computed by one fused TensorFlow op.

    Keras 3 computes batch normalisation from separate ops (moments, then
    `x * scale + offset`, with casts to and from float32 under a mixed precision
    policy): about ten passes over every feature map per training step. TensorFlow's
    `FusedBatchNormV3` (oneDNN on CPU) does the forward in two passes and the
    backward in two, reading bfloat16 inputs directly with float32 statistics.
    The layer computes the same function with the same variables, arguments and
    moving-statistics update as its base class (the moving variance uses the biased
    batch variance, as Keras does), so weights move freely between the two.

    It falls back to the base class where the fused op does not apply: axis other
    than the last of a rank-4 input, a mask, renormalisation, synchronized
    statistics, or float64.
    """

    def _can_fuse(self, inputs, mask):
        return (
            mask is None
            and not self.renorm
            and not self.synchronized
            and len(inputs.shape) == 4
            and self.axis in (-1, 3)
            and tf.as_dtype(inputs.dtype) in (tf.float32, tf.bfloat16, tf.float16)
        )

    def call(self, inputs, training=None, mask=None):
        if not self._can_fuse(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        x = tf.cast(inputs, self.compute_dtype)
        channels = x.shape[-1]
        scale = (
            tf.convert_to_tensor(self.gamma.value, tf.float32)
            if self.scale
            else tf.ones([channels], tf.float32)
        )
        offset = (
            tf.convert_to_tensor(self.beta.value, tf.float32)
            if self.center
            else tf.zeros([channels], tf.float32)
        )
        if training and self.trainable:
            outputs, mean, variance, _, _, _ = tf.raw_ops.FusedBatchNormV3(
                x=x,
                scale=scale,
                offset=offset,
                mean=tf.zeros([0], tf.float32),
                variance=tf.zeros([0], tf.float32),
                epsilon=self.epsilon,
                data_format="NHWC",
                is_training=True,
            )
            # The op returns the unbiased (Bessel-corrected) variance for the moving
            # average; Keras averages the biased one.
            shape = tf.shape(x)
            count = tf.cast(shape[0] * shape[1] * shape[2], tf.float32)
            variance = variance * tf.maximum(count - 1.0, 0.0) / tf.maximum(count, 1.0)
            momentum = self.momentum
            self.moving_mean.assign(self.moving_mean * momentum + mean * (1.0 - momentum))
            self.moving_variance.assign(
                self.moving_variance * momentum + variance * (1.0 - momentum)
            )
        else:
            outputs, _, _, _, _, _ = tf.raw_ops.FusedBatchNormV3(
                x=x,
                scale=scale,
                offset=offset,
                mean=tf.convert_to_tensor(self.moving_mean.value, tf.float32),
                variance=tf.convert_to_tensor(self.moving_variance.value, tf.float32),
                epsilon=self.epsilon,
                data_format="NHWC",
                is_training=False,
            )
        return outputs
