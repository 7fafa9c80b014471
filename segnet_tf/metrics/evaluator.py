"""Streaming numpy evaluator for whole data sets (used by `segnet evaluate`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from segnet_tf.metrics._inputs import as_label_maps, check_num_classes, valid_mask
from segnet_tf.metrics.boundary import DEFAULT_TOLERANCE, boundary_f1_scores, per_image_boundary_f1
from segnet_tf.metrics.confusion import scores_from_confusion


class SegmentationEvaluator:
    """Accumulates G, C, mIoU (confusion matrix) and BF (per image) over batches.

    Example:

    >>> ev = SegmentationEvaluator(11, ignore_class=11)
    >>> for images, labels in dataset:
    ...     ev.update(labels, model.predict_on_batch(images))
    >>> ev.result()["mean_iou"]

    Args:
        num_classes: number of real classes.
        ignore_class: additional void id (CamVid: 11), or None.
        class_names: optional names for `per_class["name"]`.
        tolerance: BF matching distance as a fraction of the image diagonal.
        boundary: compute BF (the slowest part); when False `boundary_f1` is NaN.
    """

    def __init__(
        self,
        num_classes: int,
        ignore_class: int | None = None,
        class_names: Sequence[str] | None = None,
        tolerance: float = DEFAULT_TOLERANCE,
        boundary: bool = True,
    ):
        self.num_classes = check_num_classes(num_classes)
        self.ignore_class = ignore_class
        if class_names is not None and len(class_names) != self.num_classes:
            raise ValueError(f"Got {len(class_names)} class names for {self.num_classes} classes.")
        self.class_names = None if class_names is None else [str(n) for n in class_names]
        self.tolerance = float(tolerance)
        self.boundary = bool(boundary)
        self.reset()

    def reset(self) -> None:
        """Clears all accumulated counts."""
        k = self.num_classes
        self._cm = np.zeros((k, k), dtype=np.int64)
        self._bf_image_sum = 0.0
        self._bf_image_count = 0
        self._bf_class_sum = np.zeros(k, dtype=np.float64)
        self._bf_class_count = np.zeros(k, dtype=np.int64)
        self._num_images = 0

    def update(self, y_true, y_pred) -> None:
        """Adds one batch.

        Args:
            y_true: ground-truth ids `[B, H, W]`, `[B, H, W, 1]` or `[H, W]`
                (numpy or eager tensors).
            y_pred: predicted ids of the same shape, or scores
                `[B, H, W, num_classes]` in any float dtype (argmax taken).
        """
        k = self.num_classes
        t, p = as_label_maps(y_true, y_pred, k)
        valid = valid_mask(t, k, self.ignore_class)
        self._cm += np.bincount(t[valid] * k + p[valid], minlength=k * k).reshape(k, k)
        self._num_images += t.shape[0]
        if not self.boundary:
            return
        scores = boundary_f1_scores(t, p, k, self.ignore_class, self.tolerance)
        per_image = per_image_boundary_f1(scores)
        defined = ~np.isnan(per_image)
        self._bf_image_sum += float(per_image[defined].sum())
        self._bf_image_count += int(defined.sum())
        scored = ~np.isnan(scores)
        self._bf_class_sum += np.where(scored, scores, 0.0).sum(axis=0)
        self._bf_class_count += scored.sum(axis=0)

    @property
    def confusion_matrix(self) -> np.ndarray:
        """The accumulated `[K, K]` int64 matrix (rows = ground truth)."""
        return self._cm.copy()

    def result(self) -> dict:
        """Returns the scores so far, all fractions in [0, 1] (NaN if undefined).

        Returns:
            dict with `global_accuracy`, `class_average_accuracy`, `mean_iou`,
            `boundary_f1` (mean of per-image BF), `num_images`,
            `confusion_matrix` (int64 numpy) and `per_class`: lists `name`,
            `iou`, `accuracy`, `support` and `boundary_f1` (mean over the images
            where the class is in the ground truth or the prediction).
        """
        out = scores_from_confusion(self._cm, self.class_names)
        if self._bf_image_count:
            out["boundary_f1"] = self._bf_image_sum / self._bf_image_count
        else:
            out["boundary_f1"] = float("nan")
        class_bf = np.divide(
            self._bf_class_sum,
            self._bf_class_count,
            out=np.full(self.num_classes, np.nan),
            where=self._bf_class_count > 0,
        )
        out["per_class"]["boundary_f1"] = class_bf.tolist()
        out["confusion_matrix"] = self._cm.copy()
        out["num_images"] = self._num_images
        return out
