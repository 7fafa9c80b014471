"""Evaluate a segmentation model on a data set: G, C, mIoU, BF, per class.

Used by ``segnet evaluate`` and at the end of training. Deterministic models are
evaluated with one forward pass, with test-time augmentation, or, Bayesian models
with ``mc_samples > 0``, by the mean softmax over Monte-Carlo dropout samples: a
:class:`~segnet_tf.inference.prediction_mode.PredictionMode`.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from segnet_tf.atomic_files import jsonable, write_json_atomic
from segnet_tf.class_count import check_class_count
from segnet_tf.inference.prediction_mode import PredictionMode, mode_or_settings
from segnet_tf.metrics import SegmentationEvaluator
from segnet_tf.visualize.figures import plot_confusion_matrix


def evaluate_model(
    model: keras.Model,
    dataset,
    num_classes: int,
    ignore_class: int | None = None,
    class_names: Sequence[str] | None = None,
    mc_samples: int = 0,
    flip: bool = False,
    boundary: bool = True,
    tta=None,
    steps: int | None = None,
    verbose: int = 1,
    mode: PredictionMode | None = None,
) -> dict:
    """Stream a data set through the model and score it.

    Args:
        model: Maps float32 images ``[B, H, W, 3]`` in [0, 255] to logits, or an
            exported model (``segnet_tf.export.runners.ExportedModel``) mapping them to
            probabilities.
        dataset: Iterable of ``(image [B, H, W, 3], mask int [B, H, W])`` batches,
            e.g. ``segnet_tf.data.make_eval_pipeline(...)`` (full resolution).
        num_classes: Number of real classes; the model must output that many.
        ignore_class: Void id (ignored by every score).
        class_names: Names of the real classes (for ``per_class["name"]``).
        mc_samples: Monte-Carlo dropout samples; 0 for a single deterministic pass.
        flip: Average each image's prediction with its mirror image's: adds ``flip``
            to ``tta`` (alone, the same as ``tta="flip"``).
        boundary: Also compute the boundary F1 score (the slowest part).
        tta: Test-time augmentation, a
            :class:`~segnet_tf.inference.tta.TestTimeAugmentation` or its text
            form (e.g. ``"flip+scales:0.75,1,1.25"``): the mean softmax over its
            passes is scored. None is one plain pass.
        steps: Evaluate only the first ``steps`` batches.
        verbose: 1 shows a progress bar, 2 one line at the end, 0 nothing.
        mode: A :class:`~segnet_tf.inference.prediction_mode.PredictionMode` instead
            of ``mc_samples``, ``flip`` and ``tta``.

    Returns:
        JSON-ready dict with ``global_accuracy``, ``class_average_accuracy``,
        ``mean_iou``, ``boundary_f1`` (fractions in [0, 1], None if undefined),
        ``per_class`` (lists ``name``, ``iou``, ``accuracy``, ``support``,
        ``boundary_f1``), ``confusion_matrix`` (rows = ground truth), ``num_images``,
        ``mc_samples``, ``flip``, ``tta`` (its text form) and
        ``seconds_per_image`` (the network's mean time per image, the first batch,
        which traces the graph, excluded; None with one batch).

    Raises:
        ValueError: the model's output channels differ from ``num_classes``, both
            ``mc_samples`` and ``flip``/``tta`` are set, ``mode`` is passed with any
            of them, or Monte-Carlo sampling is asked of a model without Monte-Carlo
            dropout.
    """
    mode = mode_or_settings(
        mode,
        lambda: PredictionMode.parse(mc_samples=mc_samples, tta=tta, flip=flip),
        mc_samples=mc_samples,
        flip=flip,
        tta=tta,
    )

    if isinstance(model, keras.Model):
        # One graph for every batch (all passes of an augmentation in it), so that the
        # time per image is the network's, not eager dispatch.
        predictor = mode.predictor(model)

        def probabilities_of(images):
            return predictor(images).probabilities

    else:
        # An exported artefact (segnet_tf.export.runners.ExportedModel) runs in its own
        # runtime, outside TF graphs, and already returns probabilities.
        if mode.is_monte_carlo or not mode.tta.is_identity:
            raise ValueError(
                f"{mode} applies to Keras models; an exported model runs as it was exported."
            )

        def probabilities_of(images):
            return np.asarray(
                model(tf.cast(images, tf.float32).numpy(), training=False), np.float32
            )

    check_class_count(model, num_classes)
    evaluator = SegmentationEvaluator(
        num_classes, ignore_class=ignore_class, class_names=class_names, boundary=boundary
    )
    if steps is None:
        try:
            total = int(dataset.cardinality())
            total = total if total >= 0 else None
        except (AttributeError, TypeError):
            total = None
    else:
        total = steps
    progbar = keras.utils.Progbar(total, verbose=verbose, unit_name="batch")
    seen, timed_images, timed_seconds = 0, 0, 0.0
    for step, (images, masks) in enumerate(dataset):
        if steps is not None and step >= steps:
            break
        seen = step + 1
        start = time.perf_counter()
        probabilities = probabilities_of(images)
        if step > 0:
            timed_seconds += time.perf_counter() - start
            timed_images += len(probabilities)
        predicted = np.argmax(probabilities, axis=-1)
        evaluator.update(np.asarray(masks), predicted.astype(np.int32))
        progbar.update(seen, values=[("mIoU", _current_miou(evaluator))], finalize=False)
    progbar.update(seen, finalize=True)
    result = evaluator.result()
    result["mc_samples"] = int(mode.mc_samples or 0)
    result["flip"] = mode.tta.flip
    result["tta"] = str(mode.tta)
    result["seconds_per_image"] = timed_seconds / timed_images if timed_images else None
    return jsonable(result)


def _current_miou(evaluator) -> float:
    cm = evaluator.confusion_matrix.astype(np.float64)
    tp = np.diag(cm)
    union = cm.sum(0) + cm.sum(1) - tp
    present = cm.sum(1) > 0
    iou = np.divide(tp, union, out=np.zeros_like(tp), where=union > 0)
    return float(iou[present].mean()) if present.any() else 0.0


def _pct(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "    -"
    return f"{100 * value:5.1f}"


def format_results(result: dict) -> str:
    """Plain-text table: per-class IoU / accuracy / BF, then G, C, mIoU and BF.

    Args:
        result: Output of :func:`evaluate_model`.
    """
    per_class = result["per_class"]
    names = per_class.get("name") or [str(i) for i in range(len(per_class["iou"]))]
    width = max(12, *(len(n) for n in names))
    lines = [f"{'class':<{width}}  {'IoU':>5}  {'acc':>5}  {'BF':>5}  {'pixels':>12}"]
    for i, name in enumerate(names):
        lines.append(
            f"{name:<{width}}  {_pct(per_class['iou'][i])}  {_pct(per_class['accuracy'][i])}  "
            f"{_pct(per_class['boundary_f1'][i])}  {int(per_class['support'][i]):>12d}"
        )
    lines.append("-" * len(lines[0]))
    lines.append(
        f"G {_pct(result['global_accuracy'])}   C {_pct(result['class_average_accuracy'])}   "
        f"mIoU {_pct(result['mean_iou'])}   BF {_pct(result['boundary_f1'])}   "
        f"({result.get('num_images', '?')} images)"
    )
    return "\n".join(lines)


def write_results(
    result: dict,
    output_dir: str | os.PathLike,
    class_names: Sequence[str],
    extra: dict | None = None,
) -> dict[str, Path]:
    """Write ``metrics.json`` and ``confusion_matrix.png`` atomically.

    Args:
        result: Output of :func:`evaluate_model`.
        output_dir: Destination folder (created if needed).
        class_names: Names for the confusion-matrix axes.
        extra: Additional top-level keys for ``metrics.json`` (e.g. the split).

    Returns:
        ``{"metrics": path, "confusion_matrix": path}``.
    """

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    png = output_dir / "confusion_matrix.png"
    plot_confusion_matrix(np.asarray(result["confusion_matrix"]), list(class_names), png)
    metrics = output_dir / "metrics.json"
    write_json_atomic(metrics, {**(extra or {}), **result})
    return {"metrics": metrics, "confusion_matrix": png}
