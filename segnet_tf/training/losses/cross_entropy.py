"""Pixel-wise softmax cross-entropy that ignores void and weights classes."""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import ops

from segnet_tf.training.losses._masking import (
    check_class_weights,
    check_num_classes,
    labels_and_mask,
    scale_for_replicas,
)


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
        self.num_classes = check_num_classes(num_classes)
        self.class_weights = check_class_weights(class_weights, self.num_classes)
        self.ignore_class = None if ignore_class is None else int(ignore_class)

    def _pixel_losses(self, y_true, y_pred):
        """Return ``(weighted per-pixel loss [B,H,W], valid mask [B,H,W] float32)``."""
        logits, safe, valid = labels_and_mask(y_true, y_pred, self.num_classes, self.ignore_class)
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
        return scale_for_replicas(loss)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            num_classes=self.num_classes,
            class_weights=self.class_weights,
            ignore_class=self.ignore_class,
        )
        return config


@keras.saving.register_keras_serializable(package="segnet_tf")
class FocalLoss(MaskedSparseCategoricalCrossentropy):
    """Focal loss (Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017).

    ``FL = -alpha[y] * (1 - p_y)**gamma * log(p_y)`` per valid pixel, averaged over
    the valid pixels as :class:`MaskedSparseCategoricalCrossentropy` averages: the
    ``(1 - p_y)**gamma`` factor shrinks the loss of pixels already classified with
    confidence, so the many easy road and sky pixels weigh less against thin poles
    and signs. ``gamma=0`` is the weighted cross-entropy.

    Args:
        num_classes: Number of real classes; labels outside ``[0, num_classes)`` are
            void.
        gamma: Focusing exponent, >= 0 (2 in the paper).
        class_weights: ``alpha``, one weight per class, or None for 1.
        ignore_class: An extra void id.
        name: Loss name.
        reduction: ``"sum_over_batch_size"`` or ``"none"`` (per-pixel ``[B, H, W]``).
        dtype: Ignored (float32); kept for Keras deserialisation.
    """

    def __init__(
        self,
        num_classes: int,
        gamma: float = 2.0,
        class_weights: Sequence[float] | None = None,
        ignore_class: int | None = None,
        name: str = "focal_loss",
        reduction: str = "sum_over_batch_size",
        dtype=None,
    ):
        super().__init__(num_classes, class_weights, ignore_class, name, reduction)
        if isinstance(gamma, bool) or not float(gamma) >= 0 or float(gamma) == float("inf"):
            raise ValueError(f"gamma must be a finite number >= 0; got {gamma!r}.")
        self.gamma = float(gamma)

    def _pixel_losses(self, y_true, y_pred):
        ce, valid = super()._pixel_losses(y_true, y_pred)  # weighted CE, 0 on void
        logits, safe, _ = labels_and_mask(y_true, y_pred, self.num_classes, self.ignore_class)
        log_p = ops.take_along_axis(
            ops.log_softmax(logits, axis=-1), ops.expand_dims(safe, -1), axis=-1
        )[..., 0]
        # (1 - p)**gamma with 1 - p = -expm1(log p): accurate when p is close to 1.
        modulation = ops.power(ops.maximum(-ops.expm1(log_p), 0.0), self.gamma)
        return ce * modulation, valid

    def get_config(self) -> dict:
        return {**super().get_config(), "gamma": self.gamma}


@keras.saving.register_keras_serializable(package="segnet_tf")
class OhemCrossEntropy(MaskedSparseCategoricalCrossentropy):
    """Cross-entropy over the hardest pixels only (online hard example mining).

    Of the valid pixels of the batch, those whose probability of their true class is
    at most ``threshold`` are kept, and at least the ``min_kept`` least probable ones
    (all of them if fewer are valid): the threshold becomes the ``min_kept``-th
    smallest probability when that is larger. The loss is the mean (class-weighted)
    cross-entropy over the kept pixels, so once most pixels are easy, training
    spends itself on the hard ones (boundaries, thin and rare objects). The scheme of
    Shrivastava et al., "Training Region-based Object Detectors with Online Hard
    Example Mining" (CVPR 2016), per pixel as in PSPNet's training code. The
    choice of pixels carries no gradient.

    Args:
        num_classes: Number of real classes; labels outside ``[0, num_classes)`` are
            void.
        threshold: Pixels whose true-class probability is at most this are kept, in
            (0, 1].
        min_kept: Keep at least this many pixels per batch, >= 1.
        class_weights: One weight per class, or None.
        ignore_class: An extra void id.
        name: Loss name.
        reduction: ``"sum_over_batch_size"`` or ``"none"`` (per-pixel losses, 0 on
            void and easy pixels).
        dtype: Ignored (float32); kept for Keras deserialisation.
    """

    def __init__(
        self,
        num_classes: int,
        threshold: float = 0.7,
        min_kept: int = 16384,
        class_weights: Sequence[float] | None = None,
        ignore_class: int | None = None,
        name: str = "ohem_cross_entropy",
        reduction: str = "sum_over_batch_size",
        dtype=None,
    ):
        super().__init__(num_classes, class_weights, ignore_class, name, reduction)
        if isinstance(threshold, bool) or not 0 < float(threshold) <= 1:
            raise ValueError(f"threshold must be a probability in (0, 1]; got {threshold!r}.")
        if isinstance(min_kept, bool) or int(min_kept) != min_kept or min_kept < 1:
            raise ValueError(f"min_kept must be an int >= 1; got {min_kept!r}.")
        self.threshold = float(threshold)
        self.min_kept = int(min_kept)

    def _pixel_losses(self, y_true, y_pred):
        ce, valid = super()._pixel_losses(y_true, y_pred)
        logits, safe, _ = labels_and_mask(y_true, y_pred, self.num_classes, self.ignore_class)
        p = ops.take_along_axis(ops.softmax(logits, axis=-1), ops.expand_dims(safe, -1), -1)
        # Void pixels get probability 2: never among the least probable, never kept.
        p = ops.stop_gradient(ops.where(valid > 0, p[..., 0], 2.0))
        flat = ops.reshape(p, (-1,))
        count = ops.cast(ops.sum(valid), "int32")
        k = ops.minimum(self.min_kept, ops.size(flat))
        smallest = -ops.top_k(-flat, k, sorted=True)[0]  # ascending
        kth = ops.take(smallest, ops.maximum(ops.minimum(count, k) - 1, 0))
        threshold = ops.maximum(self.threshold, kth)
        kept = valid * ops.cast(p <= threshold, "float32")
        return ce * kept, kept

    def get_config(self) -> dict:
        return {**super().get_config(), "threshold": self.threshold, "min_kept": self.min_kept}
