"""Export to TensorFlow Lite.

`tf.nn.max_pool_with_argmax` has no TFLite builtin. By default the model is first
rewritten with builtin-only pooling/unpooling (:mod:`segnet_tf.export.portable`),
so the `.tflite` file runs on any TFLite/LiteRT interpreter. With
``builtin_only=False`` the original op is kept as a "Select TF op"
(``SELECT_TF_OPS``), which needs an interpreter with the Flex delegate: no longer
in the ``tensorflow`` pip package since 2.20; on Android link
``tensorflow-lite-select-tf-ops``.

Quantisation (``quantize``):

- ``"dynamic"``: dynamic-range quantisation. Weights are stored as int8 (a quarter of
  the size) and the convolutions quantise their activations on the fly; no data
  needed. The easy middle option.
- ``"int8"``: full-integer post-training quantisation. Weights and activations are
  int8 with scales calibrated on a representative set of images (a few dozen
  training images); the input stays the uint8 image and the probabilities come out
  float32, so the file is called exactly as the float one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from segnet_tf.atomic_files import make_folder, remove_stale_temp_files, write_bytes_atomic
from segnet_tf.config.exporting import QUANTIZATIONS
from segnet_tf.export.freeze import frozen_serving_default

RepresentativeImages = Callable[[], Iterable[np.ndarray]]
"""A function returning an iterable of uint8 RGB images ``[H, W, 3]`` for calibration."""


def check_quantize(quantize: str) -> str:
    """``quantize`` if it is one of :data:`QUANTIZATIONS`, else a ValueError saying so."""
    if quantize not in QUANTIZATIONS:
        raise ValueError(
            f"Unknown quantization {quantize!r}; expected one of {', '.join(QUANTIZATIONS)}."
        )
    return quantize


def _calibration_batches(images: RepresentativeImages):
    """The converter's ``representative_dataset``: one ``{"images": [1, H, W, 3]}`` a step."""

    def batches():
        count = 0
        for image in images():
            image = np.asarray(image)
            if image.ndim != 3 or image.shape[-1] != 3:
                raise ValueError(
                    f"Calibration images must be RGB [height, width, 3]; got shape {image.shape}."
                )
            count += 1
            yield {"images": np.clip(np.rint(image), 0, 255).astype(np.uint8)[None]}
        if count == 0:
            raise ValueError("The representative images are empty; int8 needs at least one.")

    return batches


def convert_tflite(
    model: keras.Model,
    pad_to_multiple: int = 1,
    builtin_only: bool = True,
    quantize: str = "none",
    representative_images: RepresentativeImages | None = None,
    scale: str = "training",
    domain_detector=None,
) -> bytes:
    """Convert the ``serving_default`` function (uint8 images -> ids, probabilities).

    Height and width stay dynamic: resize the input tensor (the signature runner does
    it by itself) before running.

    Args:
        model: The Keras segmentation model.
        pad_to_multiple: See :class:`~segnet_tf.export.serving.SegmentationServingModule`.
        builtin_only: Rewrite pooling/unpooling with builtin ops (see module doc).
        quantize: ``"none"``, ``"dynamic"`` or ``"int8"`` (see module doc).
        representative_images: For ``"int8"``: a function returning the calibration
            images (uint8 ``[H, W, 3]``, e.g. 32-100 training images).
        scale: See :class:`~segnet_tf.export.serving.SegmentationServingModule`.
        domain_detector: See :class:`~segnet_tf.export.serving.SegmentationServingModule`.

    Returns:
        The ``.tflite`` flatbuffer.

    Raises:
        ValueError: For an unknown ``quantize``, ``"int8"`` without representative
            images, or ``"int8"`` with ``builtin_only=False``.
    """
    check_quantize(quantize)
    if quantize == "int8" and representative_images is None:
        raise ValueError("int8 quantization needs `representative_images` to calibrate on.")
    if quantize == "int8" and not builtin_only:
        raise ValueError("int8 quantization needs the builtin-only pooling (builtin_only=True).")
    function, holder = frozen_serving_default(
        model, pad_to_multiple, builtin_only, scale=scale, domain_detector=domain_detector
    )
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [function.get_concrete_function()], holder
    )
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.TFLITE_BUILTINS,
        # Only used for ops without a builtin: MaxPoolWithArgmax when not builtin_only.
        tf.lite.OpsSet.SELECT_TF_OPS,
    ]
    if quantize != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "int8":
        converter.representative_dataset = _calibration_batches(representative_images)
        # int8 kernels for every op that has one; the few ops without (the uint8 -> float
        # cast of the input, the clamped-index gathers of "same" padding) stay builtin.
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
            tf.lite.OpsSet.TFLITE_BUILTINS,
        ]
    return converter.convert()


TFLITE_IDENTIFIER = b"TFL3"  # bytes 4-8 of every TFLite flatbuffer


def read_tflite_file(path: str | os.PathLike) -> bytes:
    """A ``.tflite`` file's bytes, after checking that it is a whole TFLite model.

    TensorFlow's interpreter trusts the offsets inside the file: a truncated model
    crashed the process (a segmentation fault, no message), so the flatbuffer is
    read here first, with Python's bounds checks: every table, vector and buffer of
    the model must lie inside the file.

    Args:
        path: The ``.tflite`` file.

    Returns:
        The file's bytes, for ``tf.lite.Interpreter(model_content=...)``.

    Raises:
        ValueError: The file is empty, not a TFLite model, or truncated or damaged;
            the message names it and says to export it again.
    """
    from tensorflow.lite.python import schema_py_generated as schema  # noqa: PLC0415

    path = Path(path)
    data = path.read_bytes()
    again = "export it again (segnet export --format tflite)"
    if len(data) < 8 or data[4:8] != TFLITE_IDENTIFIER:
        raise ValueError(
            f"{path}: not a TFLite model (a .tflite file starts with the identifier "
            f"{TFLITE_IDENTIFIER.decode()} at byte 4; this file has {len(data)} bytes); {again}."
        )
    try:
        model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
        # Large models keep their weights after the flatbuffer, at absolute offsets.
        for buffer in model.buffers or []:
            if buffer.offset > 1 and buffer.offset + buffer.size > len(data):
                raise ValueError("a weight buffer ends past the end of the file")
    except Exception as err:  # noqa: BLE001 - any failure to read the model means damage
        raise ValueError(
            f"{path}: truncated or damaged TFLite model: its {len(data):,} bytes do not hold "
            f"the whole model (reading it failed: {type(err).__name__}); {again}."
        ) from err
    if not model.subgraphs:
        raise ValueError(f"{path}: the TFLite model holds no graph; {again}.")
    return data


def export_tflite(
    model: keras.Model,
    path: str | os.PathLike,
    pad_to_multiple: int = 1,
    builtin_only: bool = True,
    quantize: str = "none",
    representative_images: RepresentativeImages | None = None,
    scale: str = "training",
    domain_detector=None,
) -> Path:
    """Write ``model`` as a ``.tflite`` file (atomically).

    Args:
        model: The Keras segmentation model.
        path: Output file.
        pad_to_multiple: See :class:`~segnet_tf.export.serving.SegmentationServingModule`.
        builtin_only: See :func:`convert_tflite`.
        quantize: See :func:`convert_tflite`.
        representative_images: See :func:`convert_tflite`.
        scale: See :func:`convert_tflite`.
        domain_detector: See :func:`convert_tflite`.

    Returns:
        ``path``.
    """
    check_quantize(quantize)
    path = Path(path)
    data = convert_tflite(
        model,
        pad_to_multiple,
        builtin_only,
        quantize,
        representative_images,
        scale,
        domain_detector,
    )
    make_folder(path.parent)
    remove_stale_temp_files(path.parent)  # of killed exports
    write_bytes_atomic(path, data)
    return path
