"""Streaming Keras metrics for `model.compile(metrics=[...])` (TensorFlow backend).

`GlobalAccuracy`, `ClassAverageAccuracy` and `MeanIoU` share one running
confusion matrix each (`ConfusionMatrixMetric`), accumulated in float64 so that
tens of millions of pixels count exactly (float32 stops being exact at 2^24).
`BoundaryF1` is the streaming mean over images of the per-image BF score and
runs the numpy implementation through `tf.numpy_function`: it works in graph
mode but not under XLA, so compile with `jit_compile=False` when using it.

Inputs: `y_true` int ids `[B, H, W]` or `[B, H, W, 1]` (void = ids outside
`[0, num_classes)` or equal to `ignore_class`), `y_pred` scores
`[B, H, W, num_classes]` in any float dtype (argmax taken in float32) or int ids
`[B, H, W]`. Results are fractions in [0, 1]; before any update, or when no
class is defined, they are 0 (Keras convention) rather than NaN.

By default `sample_weight` is ignored: the paper's scores count pixels, and
per-pixel class-balancing weights meant for the loss must not bias them. Pass
`use_sample_weight=True` to weight the counts instead.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from segnet_tf.metrics.boundary import (
    DEFAULT_TOLERANCE,
    boundary_f1_scores,
    per_image_boundary_f1,
)
from segnet_tf.metrics.confusion import scores_from_confusion


def _label_ids(y_true, y_pred, num_classes: int):
    """Returns int32 `[B, H, W]` ground truth and predicted ids."""
    y_true = tf.convert_to_tensor(y_true)
    y_pred = tf.convert_to_tensor(y_pred)
    if y_true.shape.rank == 4:
        y_true = tf.squeeze(y_true, axis=-1)
    if y_pred.shape.rank == 4:
        if y_pred.shape[-1] == 1 and num_classes > 1:
            y_pred = tf.squeeze(y_pred, axis=-1)
        else:
            # Reduced-precision scores (float16/bfloat16) are widened first so
            # ties and the argmax behave the same as in float32 everywhere.
            if not y_pred.dtype.is_integer:
                y_pred = tf.cast(y_pred, tf.float32)
            y_pred = tf.argmax(y_pred, axis=-1, output_type=tf.int32)
    if y_true.shape.rank != 3 or y_pred.shape.rank != 3:
        raise ValueError(
            f"Expected y_true [B, H, W] (or [B, H, W, 1]) and y_pred [B, H, W, num_classes] "
            f"(or ids [B, H, W]); got shapes {y_true.shape} and {y_pred.shape}."
        )
    return tf.cast(y_true, tf.int32), tf.cast(y_pred, tf.int32)


def _valid(y_true, num_classes: int, ignore_class: int | None):
    valid = (y_true >= 0) & (y_true < num_classes)
    if ignore_class is not None:
        valid &= tf.not_equal(y_true, ignore_class)
    return valid


def _pixel_weights(sample_weight, like):
    """Broadcasts a Keras sample weight (`[B]`, `[B, H, W]` or `[B, H, W, 1]`) to
    the label map's shape, as float64."""
    w = tf.cast(tf.convert_to_tensor(sample_weight), tf.float64)
    if w.shape.rank == 1:
        w = tf.reshape(w, [-1, 1, 1])
    elif w.shape.rank == 4:
        w = tf.squeeze(w, axis=-1)
    return tf.broadcast_to(w, tf.shape(like))


def _divide_or_zero(num, den):
    return tf.math.divide_no_nan(num, den)


@keras.saving.register_keras_serializable(package="segnet_tf")
class ConfusionMatrixMetric(keras.metrics.Metric):
    """Running confusion matrix (rows = ground truth, columns = prediction).

    Base class of the region metrics; used directly its `result()` is the
    `[num_classes, num_classes]` matrix, so prefer the subclasses in `compile()`.

    Args:
        num_classes: number of real classes (CamVid: 11).
        ignore_class: additional void id (CamVid: 11), or None. Ids outside
            `[0, num_classes)` are always void.
        use_sample_weight: weight the counts by `sample_weight`; off by default
            so that loss-balancing weights do not change the scores.
        name: metric name.
        dtype: dtype of `result()` (the counts are always float64).
    """

    def __init__(
        self,
        num_classes: int,
        ignore_class: int | None = None,
        use_sample_weight: bool = False,
        name: str | None = None,
        dtype=None,
    ):
        super().__init__(name=name, dtype=dtype)
        if int(num_classes) != num_classes or num_classes < 1:
            raise ValueError(f"num_classes must be a positive integer; got {num_classes!r}.")
        self.num_classes = int(num_classes)
        self.ignore_class = None if ignore_class is None else int(ignore_class)
        self.use_sample_weight = bool(use_sample_weight)
        self.total_cm = self.add_variable(
            shape=(self.num_classes, self.num_classes),
            initializer="zeros",
            dtype="float64",
            name="total_confusion_matrix",
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds one batch's (ground truth, prediction) pixel counts.

        Args:
            y_true: int ids `[B, H, W]` or `[B, H, W, 1]`.
            y_pred: scores `[B, H, W, num_classes]` or int ids `[B, H, W]`.
            sample_weight: optional weights, only used with `use_sample_weight`.
        """
        k = self.num_classes
        y_true, y_pred = _label_ids(y_true, y_pred, k)
        valid = _valid(y_true, k, self.ignore_class) & (y_pred >= 0) & (y_pred < k)
        if self.use_sample_weight and sample_weight is not None:
            weights = _pixel_weights(sample_weight, y_true)
        else:
            weights = tf.ones_like(y_true, dtype=tf.float64)
        # Void pixels go to bin 0 with weight 0, which keeps every shape static
        # (no boolean_mask), so the update also compiles under XLA.
        pairs = tf.where(valid, y_true * k + y_pred, 0)
        weights = tf.where(valid, weights, tf.zeros_like(weights))
        counts = tf.math.unsorted_segment_sum(
            tf.reshape(weights, [-1]), tf.reshape(pairs, [-1]), k * k
        )
        self.total_cm.assign_add(tf.reshape(counts, [k, k]))

    def result(self):
        return tf.cast(self.total_cm, self.dtype)

    def reset_state(self):
        self.total_cm.assign(tf.zeros((self.num_classes, self.num_classes), tf.float64))

    def _parts(self):
        cm = tf.convert_to_tensor(self.total_cm)
        tp = tf.linalg.diag_part(cm)
        return cm, tp, tf.reduce_sum(cm, axis=1), tf.reduce_sum(cm, axis=0)

    def confusion_matrix(self) -> np.ndarray:
        """Returns the accumulated matrix as a numpy int64 array (eager only)."""
        return np.rint(keras.ops.convert_to_numpy(self.total_cm)).astype(np.int64)

    def scores(self, class_names=None) -> dict:
        """Returns `scores_from_confusion` of the accumulated matrix (eager only)."""
        return scores_from_confusion(self.confusion_matrix(), class_names)

    def get_config(self):
        config = super().get_config()
        config.update(
            num_classes=self.num_classes,
            ignore_class=self.ignore_class,
            use_sample_weight=self.use_sample_weight,
        )
        return config


@keras.saving.register_keras_serializable(package="segnet_tf")
class GlobalAccuracy(ConfusionMatrixMetric):
    """Global pixel accuracy G: correctly classified / all non-void pixels.

    Args: see `ConfusionMatrixMetric`; `name` defaults to "global_accuracy".
    """

    def __init__(self, num_classes: int, ignore_class: int | None = None, name=None, **kwargs):
        super().__init__(num_classes, ignore_class, name=name or "global_accuracy", **kwargs)

    def result(self):
        cm, tp, _, _ = self._parts()
        return tf.cast(_divide_or_zero(tf.reduce_sum(tp), tf.reduce_sum(cm)), self.dtype)


@keras.saving.register_keras_serializable(package="segnet_tf")
class ClassAverageAccuracy(ConfusionMatrixMetric):
    """Class-average accuracy C: mean per-class recall over classes in the ground truth.

    Args: see `ConfusionMatrixMetric`; `name` defaults to "class_average_accuracy".
    """

    def __init__(self, num_classes: int, ignore_class: int | None = None, name=None, **kwargs):
        super().__init__(num_classes, ignore_class, name=name or "class_average_accuracy", **kwargs)

    def result(self):
        _, tp, gt, _ = self._parts()
        present = tf.cast(gt > 0, tf.float64)
        recall = _divide_or_zero(tp, gt)
        mean = _divide_or_zero(tf.reduce_sum(recall * present), tf.reduce_sum(present))
        return tf.cast(mean, self.dtype)


@keras.saving.register_keras_serializable(package="segnet_tf")
class MeanIoU(ConfusionMatrixMetric):
    """Mean intersection over union over classes in the ground truth or prediction.

    Computed from the data-set confusion matrix (not averaged per image), as in
    the SegNet paper. A class predicted but absent from the ground truth has
    IoU 0; a class in neither is left out of the mean.

    Args: see `ConfusionMatrixMetric`; `name` defaults to "mean_iou".
    """

    def __init__(self, num_classes: int, ignore_class: int | None = None, name=None, **kwargs):
        super().__init__(num_classes, ignore_class, name=name or "mean_iou", **kwargs)

    def _iou(self):
        _, tp, gt, pred = self._parts()
        union = gt + pred - tp
        return _divide_or_zero(tp, union), tf.cast(union > 0, tf.float64)

    def result(self):
        iou, present = self._iou()
        mean = _divide_or_zero(tf.reduce_sum(iou * present), tf.reduce_sum(present))
        return tf.cast(mean, self.dtype)

    def per_class_iou(self) -> np.ndarray:
        """Returns the IoU of every class as float64 numpy, NaN for classes in
        neither the ground truth nor the prediction (eager only)."""
        iou, present = (keras.ops.convert_to_numpy(x) for x in self._iou())
        return np.where(present > 0, iou, np.nan)


@keras.saving.register_keras_serializable(package="segnet_tf")
class BoundaryF1(keras.metrics.Metric):
    """Streaming mean over images of the per-image boundary F1 (BF) score.

    Each image is scored with `segnet_tf.metrics.boundary_f1_scores` (see
    `segnet_tf.metrics.boundary` for the definition); images without any
    non-void pixel are skipped. Uses `tf.numpy_function`, so it needs
    `jit_compile=False` (graph mode is fine). `sample_weight` is ignored.

    Args:
        num_classes: number of real classes.
        ignore_class: additional void id, or None.
        tolerance: matching distance as a fraction of the image diagonal
            (0.0075 as in the paper).
        name: metric name, "boundary_f1" by default.
        dtype: dtype of `result()`.
    """

    def __init__(
        self,
        num_classes: int,
        ignore_class: int | None = None,
        tolerance: float = DEFAULT_TOLERANCE,
        name: str | None = None,
        dtype=None,
    ):
        super().__init__(name=name or "boundary_f1", dtype=dtype)
        if int(num_classes) != num_classes or num_classes < 1:
            raise ValueError(f"num_classes must be a positive integer; got {num_classes!r}.")
        self.num_classes = int(num_classes)
        self.ignore_class = None if ignore_class is None else int(ignore_class)
        self.tolerance = float(tolerance)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype="float64", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", dtype="float64", name="count")

    def _batch_sum(self, y_true: np.ndarray, y_pred: np.ndarray):
        per_image = per_image_boundary_f1(
            boundary_f1_scores(y_true, y_pred, self.num_classes, self.ignore_class, self.tolerance)
        )
        defined = per_image[~np.isnan(per_image)]
        return np.float64(defined.sum()), np.float64(defined.size)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds the per-image BF of one batch.

        Args:
            y_true: int ids `[B, H, W]` or `[B, H, W, 1]`.
            y_pred: scores `[B, H, W, num_classes]` or int ids `[B, H, W]`.
            sample_weight: ignored.
        """
        del sample_weight
        y_true, y_pred = _label_ids(y_true, y_pred, self.num_classes)
        total, count = tf.numpy_function(
            self._batch_sum, [y_true, y_pred], [tf.float64, tf.float64], stateful=False
        )
        self.total.assign_add(tf.reshape(total, []))
        self.count.assign_add(tf.reshape(count, []))

    def result(self):
        return tf.cast(_divide_or_zero(self.total, self.count), self.dtype)

    def reset_state(self):
        self.total.assign(tf.constant(0.0, tf.float64))
        self.count.assign(tf.constant(0.0, tf.float64))

    def get_config(self):
        config = super().get_config()
        config.update(
            num_classes=self.num_classes,
            ignore_class=self.ignore_class,
            tolerance=self.tolerance,
        )
        return config
