"""A fixed per-class offset added to logits (post-hoc logit adjustment)."""

import keras
import numpy as np


@keras.saving.register_keras_serializable(package="segnet_tf")
class ClassLogitOffset(keras.layers.Layer):
    """Adds a constant offset per class to the last axis of logits.

    A model trained with an unweighted loss predicts ``p(class | pixel)``, which
    favours the classes that cover most pixels. Adding ``-tau * log(prior[c])`` to
    class ``c``'s logit divides the prior back out (Menon et al., "Long-tail learning
    via logit adjustment", ICLR 2021), trading some global accuracy for class-average
    accuracy without retraining; see ``segnet_tf.models.with_logit_adjustment``.

    Args:
        offsets: One number per class.
    """

    def __init__(self, offsets, **kwargs):
        super().__init__(**kwargs)
        offsets = np.asarray(offsets, dtype=np.float64)
        if offsets.ndim != 1 or offsets.size < 2 or not np.all(np.isfinite(offsets)):
            raise ValueError(
                "`offsets` must be a 1-D list of finite numbers, one per class (>= 2). "
                f"Received: offsets={offsets.tolist()!r}"
            )
        self.offsets = [float(v) for v in offsets]

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is not None and channels != len(self.offsets):
            raise ValueError(
                f"ClassLogitOffset has {len(self.offsets)} offsets but its input has "
                f"{channels} classes; expected one offset per class."
            )

    def call(self, logits):
        return logits + keras.ops.cast(keras.ops.array(self.offsets), logits.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "offsets": list(self.offsets)}
