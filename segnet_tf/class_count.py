"""The check that a model predicts as many classes as the data it is scored on has.

Shared by ``segnet evaluate``, ``segnet adjust`` and the functions behind them
(:func:`segnet_tf.training.evaluate.evaluate_model`, the logit adjustment), for Keras
models and exported ones (:class:`~segnet_tf.export.runners.ExportedModel`) alike. It
reads only attributes, so it sits below all of them and imports nothing of the
package.
"""

from __future__ import annotations

import os


def output_classes(model) -> int | None:
    """The number of classes a Keras model or an exported model predicts (None: unknown)."""
    count = getattr(model, "num_classes", None)
    if count is None and getattr(model, "outputs", None):
        count = model.outputs[0].shape[-1]
    return None if count is None else int(count)


def model_label(model) -> str:
    """How messages name a model: an exported model's path, else the Keras name."""
    path = getattr(model, "path", None)  # (a Keras layer's `path` is a name, a str)
    return str(path) if isinstance(path, os.PathLike) else f"model {model.name!r}"


def check_class_count(
    model, num_classes: int, data: str = "the data set", label: str | None = None
) -> None:
    """Refuse a model whose class count is not the data's, naming both.

    Scoring 11-class data with a 6-class model gave metrics under the wrong class
    names (or, the other way round, an error naming neither); the logit adjustment
    failed with a NumPy broadcast error.

    Args:
        model: A Keras model or an :class:`~segnet_tf.export.runners.ExportedModel`.
        num_classes: The data's number of real classes.
        data: How the message names the data, e.g. ``"the camvid data (../camvid)"``.
        label: How the message names the model; defaults to :func:`model_label`.

    Raises:
        ValueError: If the counts differ.
    """
    predicted = output_classes(model)
    if predicted is None or predicted == num_classes:
        return
    raise ValueError(
        f"{label or model_label(model)} predicts {predicted} classes but {data} has "
        f"{num_classes}; expected the same number: score a model on the data (--data, "
        "--data-dir) it was trained for."
    )
