"""What every segmentation loss shares: void pixels, class weights, float32, replicas."""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import ops


def check_num_classes(num_classes) -> int:
    if isinstance(num_classes, bool) or int(num_classes) != num_classes or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int; got {num_classes!r}.")
    return int(num_classes)


def check_class_weights(class_weights: Sequence[float] | None, num_classes: int):
    """``class_weights`` as a list of floats (or None) after checking count and sign."""
    if class_weights is None:
        return None
    class_weights = [float(w) for w in class_weights]
    if len(class_weights) != num_classes:
        raise ValueError(f"got {len(class_weights)} class weights for {num_classes} classes.")
    if any(not w >= 0 for w in class_weights):
        raise ValueError(f"class weights must be >= 0; got {class_weights}.")
    return class_weights


def labels_and_mask(y_true, y_pred, num_classes: int, ignore_class: int | None):
    """Return ``(float32 logits [B,H,W,K], safe int32 labels [B,H,W], valid bool [B,H,W])``.

    A pixel is valid when its label is in ``[0, num_classes)`` and differs from
    ``ignore_class``; void pixels get the harmless label 0, and every loss multiplies
    their contribution by 0 (so neither the loss nor any gradient depends on their
    logits).
    """
    logits = ops.cast(y_pred, "float32")
    labels = ops.cast(y_true, "int32")
    if len(labels.shape) == len(logits.shape):  # [B, H, W, 1] labels
        labels = ops.squeeze(labels, axis=-1)
    valid = ops.logical_and(labels >= 0, labels < num_classes)
    if ignore_class is not None:
        valid = ops.logical_and(valid, ops.not_equal(labels, ignore_class))
    return logits, ops.where(valid, labels, 0), valid


def no_sample_weight(loss_name: str, sample_weight) -> None:
    """Region losses (Dice, Lovasz) are not sums over pixels: refuse pixel weights."""
    if sample_weight is not None:
        raise ValueError(
            f"{loss_name} does not take sample weights (it is not a sum over pixels); "
            "use class_weights instead."
        )


def scale_for_replicas(loss):
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
