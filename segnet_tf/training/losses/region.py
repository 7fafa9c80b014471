"""Losses on whole regions rather than single pixels: soft Dice and Lovasz-softmax.

Both score each class's predicted region against its true one over the batch (or
each image), so a thin class counts as much as a large one whatever its pixel count:
what mean IoU rewards. Void pixels are left out of every region.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import ops

from segnet_tf.training.losses._masking import (
    check_class_weights,
    check_num_classes,
    labels_and_mask,
    no_sample_weight,
    scale_for_replicas,
)


class _RegionLoss(keras.losses.Loss):
    """Shared arguments and the weighted mean over the classes present."""

    def __init__(self, num_classes, class_weights, ignore_class, per_image, name):
        super().__init__(name=name, reduction="sum_over_batch_size", dtype="float32")
        self.num_classes = check_num_classes(num_classes)
        self.class_weights = check_class_weights(class_weights, self.num_classes)
        self.ignore_class = None if ignore_class is None else int(ignore_class)
        if not isinstance(per_image, bool):
            raise ValueError(f"per_image must be True or False; got {per_image!r}.")
        self.per_image = per_image

    def _inputs(self, y_true, y_pred):
        """``(probabilities [G, N, K], one-hot [G, N, K], valid [G, N])``, float32.

        ``G`` is the batch size per image, else 1 (the batch is one group).
        """
        logits, safe, valid = labels_and_mask(y_true, y_pred, self.num_classes, self.ignore_class)
        groups = ops.shape(logits)[0] if self.per_image else 1
        k = self.num_classes
        probabilities = ops.reshape(ops.softmax(logits, axis=-1), (groups, -1, k))
        one_hot = ops.reshape(ops.one_hot(safe, k, dtype="float32"), (groups, -1, k))
        return probabilities, one_hot, ops.reshape(ops.cast(valid, "float32"), (groups, -1))

    def _mean_over_present(self, per_class, one_hot, valid):
        """Weighted mean of ``per_class`` ``[G, K]`` over the classes present in each
        group, then over the groups having any; 0 when no pixel is valid."""
        present = ops.cast(ops.sum(one_hot * valid[..., None], axis=1) > 0, "float32")
        weights = present
        if self.class_weights is not None:
            weights = weights * ops.convert_to_tensor(self.class_weights, "float32")
        per_group = ops.divide_no_nan(
            ops.sum(per_class * weights, axis=-1), ops.sum(weights, axis=-1)
        )
        has_any = ops.cast(ops.sum(weights, axis=-1) > 0, "float32")
        return ops.divide_no_nan(ops.sum(per_group * has_any), ops.sum(has_any))

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("reduction", None)
        config.update(
            num_classes=self.num_classes,
            class_weights=self.class_weights,
            ignore_class=self.ignore_class,
            per_image=self.per_image,
        )
        return config


@keras.saving.register_keras_serializable(package="segnet_tf")
class DiceLoss(_RegionLoss):
    """Soft Dice loss: one minus the mean soft Dice coefficient of the classes present.

    For class ``c``, with ``p`` its softmax and ``g`` the one-hot truth over the valid
    pixels: ``dice_c = (2 * sum(p * g) + smooth) / (sum(p) + sum(g) + smooth)``
    (Milletari et al., "V-Net", 3DV 2016, with the squares of their denominator
    left out). Only classes with ground-truth pixels are averaged, so a class absent
    from the batch neither rewards nor punishes anything.

    Args:
        num_classes: Number of real classes; labels outside ``[0, num_classes)`` are
            void.
        class_weights: Weights of the classes in the mean, or None for equal ones.
        ignore_class: An extra void id.
        smooth: Added to numerator and denominator, >= 0 (keeps small classes'
            gradients finite).
        per_image: Score each image's regions and average the images, instead of
            one region per class over the batch.
        name: Loss name.
        dtype: Ignored (float32); kept for Keras deserialisation.
    """

    def __init__(
        self,
        num_classes: int,
        class_weights: Sequence[float] | None = None,
        ignore_class: int | None = None,
        smooth: float = 1.0,
        per_image: bool = False,
        name: str = "dice_loss",
        dtype=None,
    ):
        super().__init__(num_classes, class_weights, ignore_class, per_image, name)
        if isinstance(smooth, bool) or not 0 <= float(smooth) < float("inf"):
            raise ValueError(f"smooth must be a finite number >= 0; got {smooth!r}.")
        self.smooth = float(smooth)

    def __call__(self, y_true, y_pred, sample_weight=None):
        no_sample_weight(self.name, sample_weight)
        probabilities, one_hot, valid = self._inputs(y_true, y_pred)
        probabilities = probabilities * valid[..., None]
        intersection = ops.sum(probabilities * one_hot, axis=1)
        sizes = ops.sum(probabilities, axis=1) + ops.sum(one_hot * valid[..., None], axis=1)
        dice = (2.0 * intersection + self.smooth) / ops.maximum(sizes + self.smooth, 1e-12)
        return scale_for_replicas(self._mean_over_present(1.0 - dice, one_hot, valid))

    def get_config(self) -> dict:
        return {**super().get_config(), "smooth": self.smooth}


def lovasz_jaccard_gradient(sorted_truth):
    """Gradient of the Lovasz extension of the Jaccard loss at errors sorted descending.

    For ground-truth indicators ``g`` in the order of decreasing error, the Jaccard
    loss of predicting the first ``i`` pixels wrong is
    ``J_i = 1 - (G - cumsum(g)_i) / (G + cumsum(1 - g)_i)`` with ``G = sum(g)``; the
    gradient is ``J_1, J_2 - J_1, ..., J_n - J_{n-1}`` (Berman et al., 2018, eq. 9).

    Args:
        sorted_truth: float32 ``[..., n]`` 0/1 indicators, last axis sorted.
    """
    total = ops.sum(sorted_truth, axis=-1, keepdims=True)
    intersection = total - ops.cumsum(sorted_truth, axis=-1)
    union = total + ops.cumsum(1.0 - sorted_truth, axis=-1)
    jaccard = 1.0 - intersection / ops.maximum(union, 1e-12)
    return ops.concatenate([jaccard[..., :1], jaccard[..., 1:] - jaccard[..., :-1]], axis=-1)


@keras.saving.register_keras_serializable(package="segnet_tf")
class LovaszSoftmaxLoss(_RegionLoss):
    """Lovasz-softmax loss: a convex surrogate of one minus the mean IoU.

    Berman, Triki and Blaschko, "The Lovasz-Softmax loss: A tractable surrogate for
    the optimization of the intersection-over-union measure in neural networks",
    CVPR 2018. For each class ``c`` the pixel errors ``m_i = |g_i - p_i(c)|`` are
    sorted in decreasing order and dotted with the gradient of the Lovasz extension
    of the Jaccard loss (:func:`lovasz_jaccard_gradient`); the loss is the (weighted)
    mean over the classes present (the paper's ``classes='present'``). The sort is
    piecewise constant, so gradients flow through the errors only. Void pixels are
    put after every valid one in the sort and contribute nothing.

    Args:
        num_classes: Number of real classes; labels outside ``[0, num_classes)`` are
            void.
        class_weights: Weights of the classes in the mean, or None for equal ones.
        ignore_class: An extra void id.
        per_image: One surrogate per image, averaged (the paper's ``per_image``),
            instead of one over the batch.
        name: Loss name.
        dtype: Ignored (float32); kept for Keras deserialisation.
    """

    def __init__(
        self,
        num_classes: int,
        class_weights: Sequence[float] | None = None,
        ignore_class: int | None = None,
        per_image: bool = False,
        name: str = "lovasz_softmax_loss",
        dtype=None,
    ):
        super().__init__(num_classes, class_weights, ignore_class, per_image, name)

    def __call__(self, y_true, y_pred, sample_weight=None):
        no_sample_weight(self.name, sample_weight)
        probabilities, one_hot, valid_pixels = self._inputs(y_true, y_pred)
        # [G, K, N]: one sort per group and class.
        errors = ops.transpose(ops.abs(one_hot - probabilities), (0, 2, 1))
        truth = ops.transpose(one_hot, (0, 2, 1))
        valid = ops.broadcast_to(valid_pixels[:, None, :], ops.shape(errors))
        # Errors lie in [0, 1]; void pixels at -1 sort after every valid pixel, so the
        # Jaccard steps of the valid ones are those of the valid pixels alone.
        keyed = ops.where(valid > 0, errors, -1.0)
        order = ops.stop_gradient(ops.argsort(-keyed, axis=-1))
        sorted_errors = ops.take_along_axis(errors * valid, order, axis=-1)
        sorted_truth = ops.take_along_axis(truth * valid, order, axis=-1)
        gradient = ops.stop_gradient(lovasz_jaccard_gradient(sorted_truth))
        per_class = ops.sum(sorted_errors * gradient, axis=-1)  # [G, K]
        return scale_for_replicas(self._mean_over_present(per_class, one_hot, valid_pixels))
