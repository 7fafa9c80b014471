"""Pixel-wise softmax cross-entropy that ignores void and weights classes."""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="segnet_tf")
class MaskedSparseCategoricalCrossentropy(keras.losses.Loss):
    """Softmax cross-entropy over pixels, void ignored, classes weighted.

    ``loss = sum_valid(w[y] * CE(y, logits)) / num_valid`` over the whole batch, where
    a pixel is valid when its label is in ``[0, num_classes)`` and differs from
    ``ignore_class``. Dividing by the number of valid pixels (not by the sum of their
    weights) is Caffe's normalisation, which the SegNet paper used with median
    frequency weights. Logits are cast to float32 first, so the loss stays float32
    under mixed precision.

    Args:
        num_classes: Number of real classes; labels outside ``[0, num_classes)`` are
            void.
        class_weights: One weight per class, or None for unweighted.
        ignore_class: An extra void id (CamVid: 11; already void when >= num_classes).
        name: Loss name.
        reduction: ``"sum_over_batch_size"`` (the masked mean above) or ``"none"``
            (per-pixel losses ``[B, H, W]``, 0 on void).
        dtype: Ignored (the loss is always float32); kept for Keras deserialisation.
    """

    def __init__(
        self,
        num_classes: int,
        class_weights: Sequence[float] | None = None,
        ignore_class: int | None = None,
        name: str = "masked_sparse_categorical_crossentropy",
        reduction: str = "sum_over_batch_size",
        dtype=None,
    ):
        if reduction not in ("sum_over_batch_size", "none"):
            raise ValueError(f"reduction={reduction!r}; expected 'sum_over_batch_size' or 'none'.")
        super().__init__(name=name, reduction=reduction, dtype="float32")
        if int(num_classes) != num_classes or num_classes < 1:
            raise ValueError(f"num_classes must be a positive int; got {num_classes!r}.")
        self.num_classes = int(num_classes)
        if class_weights is not None:
            class_weights = [float(w) for w in class_weights]
            if len(class_weights) != self.num_classes:
                raise ValueError(
                    f"got {len(class_weights)} class weights for {self.num_classes} classes."
                )
            if any(w < 0 for w in class_weights):
                raise ValueError(f"class weights must be >= 0; got {class_weights}.")
        self.class_weights = class_weights
        self.ignore_class = None if ignore_class is None else int(ignore_class)

    def _pixel_losses(self, y_true, y_pred):
        """Return ``(weighted per-pixel loss [B,H,W], valid mask [B,H,W] float32)``."""
        logits = ops.cast(y_pred, "float32")
        labels = ops.cast(y_true, "int32")
        if len(labels.shape) == len(logits.shape):  # [B, H, W, 1] labels
            labels = ops.squeeze(labels, axis=-1)
        valid = ops.logical_and(labels >= 0, labels < self.num_classes)
        if self.ignore_class is not None:
            valid = ops.logical_and(valid, ops.not_equal(labels, self.ignore_class))
        # Void pixels get a harmless in-range label; their loss is zeroed below.
        safe = ops.where(valid, labels, 0)
        ce = ops.sparse_categorical_crossentropy(safe, logits, from_logits=True)
        if self.class_weights is not None:
            ce = ce * ops.take(ops.convert_to_tensor(self.class_weights, "float32"), safe)
        valid = ops.cast(valid, "float32")
        return ce * valid, valid

    def call(self, y_true, y_pred):
        """Per-pixel weighted losses ``[B, H, W]`` (0 on void pixels)."""
        return self._pixel_losses(y_true, y_pred)[0]

    def __call__(self, y_true, y_pred, sample_weight=None):
        losses, valid = self._pixel_losses(y_true, y_pred)
        if sample_weight is not None:
            weight = ops.cast(sample_weight, "float32")
            while len(weight.shape) < len(losses.shape):
                weight = ops.expand_dims(weight, -1)
            losses = losses * weight
        if self.reduction == "none":
            return losses
        loss = ops.divide_no_nan(ops.sum(losses), ops.sum(valid))
        return _scale_for_replicas(loss)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            num_classes=self.num_classes,
            class_weights=self.class_weights,
            ignore_class=self.ignore_class,
        )
        return config


def _scale_for_replicas(loss):
    """Divide by the replicas in sync, as Keras' own losses do under tf.distribute.

    Gradients are summed over replicas, so each replica's mean must be scaled for the
    update to be the mean over replicas (Keras un-scales the logged value).
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas > 1:
            loss = loss / replicas
    return loss
