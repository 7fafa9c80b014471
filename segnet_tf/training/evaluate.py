"""Evaluate a segmentation model on a data set: G, C, mIoU, BF, per class.

Used by ``segnet evaluate`` and at the end of training. Deterministic models are
evaluated with one forward pass; Bayesian models with ``mc_samples > 0`` by the
mean softmax over Monte-Carlo dropout samples (``segnet_tf.models.mc_predict``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from segnet_tf.atomic_files import jsonable, write_json_atomic

SUMMARY_KEYS = ("global_accuracy", "class_average_accuracy", "mean_iou", "boundary_f1")


def evaluate_model(
    model: keras.Model,
    dataset,
    num_classes: int,
    ignore_class: int | None = None,
    class_names: Sequence[str] | None = None,
    mc_samples: int = 0,
    flip: bool = False,
    boundary: bool = True,
    steps: int | None = None,
    verbose: int = 1,
) -> dict:
    """Stream a data set through the model and score it.

    Args:
        model: Maps float32 images ``[B, H, W, 3]`` in [0, 255] to logits.
        dataset: Iterable of ``(image [B, H, W, 3], mask int [B, H, W])`` batches,
            e.g. ``segnet_tf.data.make_eval_pipeline(...)`` (full resolution).
        num_classes: Number of real classes; the model must output that many.
        ignore_class: Void id (ignored by every score).
        class_names: Names of the real classes (for ``per_class["name"]``).
        mc_samples: Monte-Carlo dropout samples; 0 for a single deterministic pass.
        flip: Average the logits of each image and of its mirror image
            (:func:`flip_averaged_logits`), at twice the compute.
        boundary: Also compute the boundary F1 score (the slowest part).
        steps: Evaluate only the first ``steps`` batches.
        verbose: 1 shows a progress bar, 2 one line at the end, 0 nothing.

    Returns:
        JSON-ready dict with ``global_accuracy``, ``class_average_accuracy``,
        ``mean_iou``, ``boundary_f1`` (fractions in [0, 1], None if undefined),
        ``per_class`` (lists ``name``, ``iou``, ``accuracy``, ``support``,
        ``boundary_f1``), ``confusion_matrix`` (rows = ground truth), ``num_images``,
        ``mc_samples`` and ``flip``.

    Raises:
        ValueError: the model's output channels differ from ``num_classes``, or both
            ``mc_samples`` and ``flip`` are set.
    """
    if mc_samples > 0 and flip:
        raise ValueError("choose Monte-Carlo sampling or flip averaging, not both.")
    from segnet_tf.metrics import SegmentationEvaluator
    from segnet_tf.models import mc_predict

    outputs = model.outputs[0].shape[-1] if getattr(model, "outputs", None) else None
    if outputs is not None and outputs != num_classes:
        raise ValueError(
            f"model {model.name!r} predicts {outputs} classes but the data set has "
            f"{num_classes}; expected the same number."
        )
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
    seen = 0
    for step, (images, masks) in enumerate(dataset):
        if steps is not None and step >= steps:
            break
        seen = step + 1
        if mc_samples > 0:
            probabilities = mc_predict(model, images, mc_samples).probabilities
            predicted = np.argmax(probabilities, axis=-1)
        else:
            logits = flip_averaged_logits(model, images) if flip else model(images, training=False)
            logits = keras.ops.convert_to_numpy(logits)
            predicted = np.argmax(logits.astype(np.float32), axis=-1)
        evaluator.update(np.asarray(masks), predicted.astype(np.int32))
        progbar.update(seen, values=[("mIoU", _current_miou(evaluator))], finalize=False)
    progbar.update(seen, finalize=True)
    result = evaluator.result()
    result["mc_samples"] = int(mc_samples)
    result["flip"] = bool(flip)
    return jsonable(result)


def flip_averaged_logits(model: keras.Model, images):
    """Test-time flip averaging: the mean of the logits of ``images`` and the mirrored
    logits of the mirrored images.

    A street scene mirrored left-right is still a street scene (training flips them
    too), so the two predictions err differently and their mean is usually better.

    Args:
        model: Maps images ``[B, H, W, 3]`` to logits ``[B, H, W, K]``.
        images: A batch of images.

    Returns:
        float32 logits ``[B, H, W, K]``.
    """
    images = keras.ops.convert_to_tensor(images, "float32")
    logits = keras.ops.cast(model(images, training=False), "float32")
    mirrored = model(keras.ops.flip(images, axis=2), training=False)
    mirrored = keras.ops.flip(keras.ops.cast(mirrored, "float32"), axis=2)
    return (logits + mirrored) / 2.0


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
    from segnet_tf.visualize.figures import plot_confusion_matrix

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    png = output_dir / "confusion_matrix.png"
    plot_confusion_matrix(np.asarray(result["confusion_matrix"]), list(class_names), png)
    metrics = output_dir / "metrics.json"
    write_json_atomic(metrics, {**(extra or {}), **result})
    return {"metrics": metrics, "confusion_matrix": png}
