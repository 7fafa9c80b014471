"""Choose the strength of post-hoc logit adjustment on validation data.

One pass over the data: each batch's logits are computed once and scored for every
candidate ``tau`` (``segnet_tf.models.class_prior_offsets``), so a sweep costs about
one evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from segnet_tf.class_count import check_class_count
from segnet_tf.config.adjustment import DEFAULT_TAUS, SELECTION_METRICS
from segnet_tf.metrics.confusion import confusion_matrix, scores_from_confusion
from segnet_tf.models.logit_adjustment import base_logits, class_prior_offsets


def sweep_logit_adjustment(
    model,
    dataset,
    class_frequencies,
    num_classes: int,
    ignore_class: int | None = None,
    taus: Sequence[float] = DEFAULT_TAUS,
    steps: int | None = None,
    verbose: int = 1,
) -> list[dict]:
    """Score the model with every candidate logit adjustment in one pass.

    Args:
        model: Maps float32 images ``[B, H, W, 3]`` in [0, 255] to logits (an
            adjustment it already carries is bypassed).
        dataset: Iterable of ``(image, mask)`` batches at evaluation resolution.
        class_frequencies: Training pixel share of each class
            (``segnet_tf.data.class_frequencies``).
        num_classes: Number of real classes.
        ignore_class: Void id, ignored by every score.
        taus: Candidate strengths (0 = the model as trained).
        steps: Use only the first ``steps`` batches.
        verbose: 1 shows a progress bar, 0 nothing.

    Returns:
        One dict per tau, in order: ``tau``, ``offsets``, ``global_accuracy``,
        ``class_average_accuracy``, ``mean_iou`` and ``per_class_iou``.
    """

    taus = [float(t) for t in taus]
    if not taus:
        raise ValueError("`taus` is empty; expected at least one strength to try.")
    offsets = [class_prior_offsets(class_frequencies, t).astype(np.float32) for t in taus]
    if offsets[0].size != num_classes:
        raise ValueError(
            f"{offsets[0].size} class frequencies for a data set of {num_classes} classes."
        )
    check_class_count(model, num_classes)
    logits_model = keras.Model(model.input, base_logits(model))
    matrices = [np.zeros((num_classes, num_classes), np.int64) for _ in taus]
    progbar = keras.utils.Progbar(steps, verbose=verbose, unit_name="batch")
    for step, (images, masks) in enumerate(dataset):
        if steps is not None and step >= steps:
            break
        logits = keras.ops.convert_to_numpy(logits_model(images, training=False))
        logits = logits.astype(np.float32)
        masks = np.asarray(masks)
        for matrix, offset in zip(matrices, offsets, strict=True):
            predicted = np.argmax(logits + offset, axis=-1).astype(np.int32)
            matrix += confusion_matrix(masks, predicted, num_classes, ignore_class)
        progbar.update(step + 1)
    results = []
    for tau, offset, matrix in zip(taus, offsets, matrices, strict=True):
        scores = scores_from_confusion(matrix)
        results.append(
            {
                "tau": tau,
                "offsets": offset.tolist(),
                "global_accuracy": scores["global_accuracy"],
                "class_average_accuracy": scores["class_average_accuracy"],
                "mean_iou": scores["mean_iou"],
                "per_class_iou": scores["per_class"]["iou"],
            }
        )
    return results


def best_logit_adjustment(results: Sequence[dict], metric: str = "mean_iou") -> dict:
    """The sweep entry with the highest ``metric`` (the smallest tau on a tie)."""
    if metric not in SELECTION_METRICS:
        raise ValueError(f"metric={metric!r}; expected one of {', '.join(SELECTION_METRICS)}.")
    if not results:
        raise ValueError("no sweep results to choose from.")
    return max(results, key=lambda r: (np.nan_to_num(r[metric], nan=-1.0), -r["tau"]))
