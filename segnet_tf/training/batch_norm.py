"""Recomputing batch-normalisation statistics after training.

Small training batches leave BN's moving averages a poor estimate of the population
statistics, the more so when training runs on crops and inference on whole frames.
The SegNet authors recompute them over the training set before testing; this module
does the same for any Keras model.
"""

from __future__ import annotations

from collections.abc import Iterable

import keras

from segnet_tf.models.graph import all_layers


def recompute_batch_norm_statistics(
    model: keras.Model, batches: Iterable, max_batches: int | None = None
) -> int:
    """Replace every BatchNormalization layer's moving mean and variance with the
    average of the per-batch statistics over `batches`.

    Each batch runs through the model in training mode with the layers' momentum set
    to k / (k + 1) for the k-th batch, which turns Keras' exponential moving average
    into an exact running mean; the momentum is restored afterwards. Weights other than
    the BN statistics are not changed. Layers such as Dropout also run in training mode
    while this happens, which is what the statistics saw during training.

    Args:
        model: keras.Model with BatchNormalization layers.
        batches: Iterable of image batches, or of `(images, ...)` tuples (e.g. a
            training pipeline without augmentation, at the resolution used at test time).
        max_batches: Stop after this many batches; None uses them all.

    Returns:
        Number of batches used.

    Raises:
        ValueError: if the model has no BatchNormalization layer or `batches` is empty.
    """
    layers = [
        layer for layer in all_layers(model) if isinstance(layer, keras.layers.BatchNormalization)
    ]
    if not layers:
        raise ValueError(f"Model {model.name!r} has no BatchNormalization layer to recompute.")
    momenta = [layer.momentum for layer in layers]
    used = 0
    try:
        for batch in batches:
            if max_batches is not None and used >= max_batches:
                break
            images = batch[0] if isinstance(batch, tuple | list) else batch
            for layer in layers:
                layer.momentum = used / (used + 1)
            # Eager call: the momentum attribute is read anew at every batch.
            model(images, training=True)
            used += 1
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum
    if used == 0:
        raise ValueError("No batches to recompute batch-normalisation statistics from.")
    return used
