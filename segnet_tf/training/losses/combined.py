"""A weighted sum of losses, e.g. cross-entropy plus Lovasz-softmax."""

from __future__ import annotations

from collections.abc import Sequence

import keras


@keras.saving.register_keras_serializable(package="segnet_tf")
class WeightedSumLoss(keras.losses.Loss):
    """``sum_i weights[i] * losses[i](y_true, y_pred)``.

    Berman et al. (2018) fine-tune with the Lovasz-softmax after (or beside) the
    cross-entropy: the pixel loss keeps every pixel's gradient alive, the region loss
    aligns training with mean IoU.

    Args:
        losses: Keras losses (each reduced to a scalar).
        weights: One non-negative weight per loss; None for all 1.
        name: Loss name.
        dtype: Ignored (float32); kept for Keras deserialisation.
    """

    def __init__(
        self,
        losses: Sequence[keras.losses.Loss],
        weights: Sequence[float] | None = None,
        name: str = "weighted_sum_loss",
        dtype=None,
    ):
        super().__init__(name=name, dtype="float32")
        losses = [
            keras.saving.deserialize_keras_object(loss) if isinstance(loss, dict) else loss
            for loss in losses
        ]
        if not losses or not all(isinstance(loss, keras.losses.Loss) for loss in losses):
            raise ValueError(f"losses must be a non-empty list of keras losses; got {losses!r}.")
        weights = [1.0] * len(losses) if weights is None else [float(w) for w in weights]
        if len(weights) != len(losses) or any(not w >= 0 for w in weights):
            raise ValueError(
                f"weights must be {len(losses)} numbers >= 0, one per loss; got {weights}."
            )
        self.losses, self.weights = list(losses), weights

    def __call__(self, y_true, y_pred, sample_weight=None):
        total = 0.0
        for loss, weight in zip(self.losses, self.weights, strict=True):
            if weight:
                total = total + weight * loss(y_true, y_pred, sample_weight=sample_weight)
        return keras.ops.cast(total, "float32")

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "losses": [keras.saving.serialize_keras_object(loss) for loss in self.losses],
            "weights": self.weights,
        }
