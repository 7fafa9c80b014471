"""Export to TensorFlow Lite.

`tf.nn.max_pool_with_argmax` has no TFLite builtin. By default the model is first
rewritten with builtin-only pooling/unpooling (:mod:`segnet_tf.export.portable`),
so the `.tflite` file runs on any TFLite/LiteRT interpreter. With
``builtin_only=False`` the original op is kept as a "Select TF op"
(``SELECT_TF_OPS``), which needs an interpreter with the Flex delegate: no longer
in the ``tensorflow`` pip package since 2.20; on Android link
``tensorflow-lite-select-tf-ops``.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import tensorflow as tf

from segnet_tf.atomic_files import write_bytes_atomic
from segnet_tf.export.freeze import frozen_serving_default


def convert_tflite(
    model: keras.Model, pad_to_multiple: int = 1, builtin_only: bool = True
) -> bytes:
    """Convert the ``serving_default`` function (uint8 images -> ids, probabilities).

    Height and width stay dynamic: resize the input tensor (the signature runner does
    it by itself) before running.

    Args:
        model: The Keras segmentation model.
        pad_to_multiple: See :class:`~segnet_tf.export.serving.SegmentationServingModule`.
        builtin_only: Rewrite pooling/unpooling with builtin ops (see module doc).

    Returns:
        The ``.tflite`` flatbuffer.
    """
    function, holder = frozen_serving_default(model, pad_to_multiple, builtin_only)
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [function.get_concrete_function()], holder
    )
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.TFLITE_BUILTINS,
        # Only used for ops without a builtin: MaxPoolWithArgmax when not builtin_only.
        tf.lite.OpsSet.SELECT_TF_OPS,
    ]
    return converter.convert()


def export_tflite(
    model: keras.Model,
    path: str | os.PathLike,
    pad_to_multiple: int = 1,
    builtin_only: bool = True,
) -> Path:
    """Write ``model`` as a ``.tflite`` file (atomically).

    Args:
        model: The Keras segmentation model.
        path: Output file.
        pad_to_multiple: See :class:`~segnet_tf.export.serving.SegmentationServingModule`.
        builtin_only: See :func:`convert_tflite`.

    Returns:
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = convert_tflite(model, pad_to_multiple, builtin_only)
    write_bytes_atomic(path, data)
    return path
