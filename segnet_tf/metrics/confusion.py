"""Confusion matrix and the region scores of the SegNet paper (G, C, mIoU).

All scores are fractions in [0, 1] (not percent). Void pixels -- ground-truth
ids outside `[0, num_classes)` or equal to `ignore_class` -- are dropped before
counting, so they affect no score.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from segnet_tf.metrics._inputs import as_label_maps, check_num_classes, valid_mask


def confusion_matrix(
    y_true,
    y_pred_ids,
    num_classes: int,
    ignore_class: int | None = None,
) -> np.ndarray:
    """Counts (ground truth, prediction) pairs over all non-void pixels.

    Args:
        y_true: ground-truth class ids, `[B, H, W]`, `[B, H, W, 1]` or `[H, W]`.
        y_pred_ids: predicted class ids of the same shape, or scores
            `[B, H, W, num_classes]` (the argmax is taken).
        num_classes: number of real classes.
        ignore_class: additional void id (CamVid: 11), or None.

    Returns:
        int64 array `[num_classes, num_classes]`; entry `[i, j]` is the number
        of pixels of true class `i` predicted as class `j`.
    """
    num_classes = check_num_classes(num_classes)
    t, p = as_label_maps(y_true, y_pred_ids, num_classes)
    valid = valid_mask(t, num_classes, ignore_class)
    # One bincount over the flattened pair index; int64 so 40M+ pixels count exactly.
    pairs = t[valid] * num_classes + p[valid]
    counts = np.bincount(pairs, minlength=num_classes * num_classes)
    return counts.astype(np.int64).reshape(num_classes, num_classes)


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.full(num.shape, np.nan, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _nanmean(values: np.ndarray) -> float:
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else float("nan")


def per_class_scores(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class accuracy (recall), IoU and support from a confusion matrix.

    Args:
        cm: `[K, K]` confusion matrix, rows = ground truth, columns = prediction.

    Returns:
        dict of float64 arrays `[K]`: `accuracy` = TP / (TP + FN), NaN for a
        class absent from the ground truth; `iou` = TP / (TP + FP + FN), NaN for
        a class absent from both ground truth and prediction; `support` = number
        of ground-truth pixels.
    """
    cm = np.asarray(cm, dtype=np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"Confusion matrix must be square; got shape {cm.shape}.")
    tp = np.diag(cm)
    gt = cm.sum(axis=1)
    pred = cm.sum(axis=0)
    return {
        "accuracy": _safe_ratio(tp, gt),
        "iou": _safe_ratio(tp, gt + pred - tp),
        "support": gt,
    }


def scores_from_confusion(cm: np.ndarray, class_names: Sequence[str] | None = None) -> dict:
    """Global accuracy, class-average accuracy and mean IoU from a confusion matrix.

    Conventions (documented because papers differ):
      * `global_accuracy` (G): correctly classified / all counted pixels.
      * `class_average_accuracy` (C): mean per-class recall over the classes
        present in the ground truth (a class with no ground-truth pixel has no
        recall and is left out).
      * `mean_iou`: mean of TP / (TP + FP + FN) over classes present in the
        ground truth or the prediction; a class predicted but never in the
        ground truth has IoU 0 and counts, a class in neither is left out.
      * Every score is NaN when the matrix is empty.

    Args:
        cm: `[K, K]` confusion matrix, rows = ground truth, columns = prediction
            (e.g. from `confusion_matrix`), accumulated over the whole data set.
        class_names: optional K names, copied into `per_class["name"]`.

    Returns:
        dict with float keys `global_accuracy`, `class_average_accuracy`,
        `mean_iou` (fractions in [0, 1]) and `per_class`, a dict of equal-length
        lists: `name`, `iou`, `accuracy` (NaN where undefined) and `support`
        (ground-truth pixel count).
    """
    cm = np.asarray(cm)
    per = per_class_scores(cm)
    k = cm.shape[0]
    if class_names is None:
        names = [str(i) for i in range(k)]
    else:
        names = [str(n) for n in class_names]
        if len(names) != k:
            raise ValueError(f"Got {len(names)} class names for {k} classes.")
    total = float(cm.sum())
    return {
        "global_accuracy": float(np.trace(cm)) / total if total > 0 else float("nan"),
        "class_average_accuracy": _nanmean(per["accuracy"]),
        "mean_iou": _nanmean(per["iou"]),
        "per_class": {
            "name": names,
            "iou": per["iou"].tolist(),
            "accuracy": per["accuracy"].tolist(),
            "support": [int(s) for s in per["support"]],
        },
    }
