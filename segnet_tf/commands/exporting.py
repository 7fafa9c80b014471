"""``export(ExportConfig)``: export a trained model for deployment without segnet_tf.

- ``saved_model``: ``out/<name>/<version>/`` in TensorFlow Serving's layout, with
  signatures ``serving_default`` (uint8 images) and ``serve_image_bytes`` (encoded
  JPEG/PNG strings);
- ``tflite``: ``out/<name>.tflite``, ``serving_default`` only, builtin ops only;
- ``onnx``: ``out/<name>.onnx``, ``serving_default`` only (needs ``segnet_tf[onnx]``).

Faster variants: ``precision="bfloat16"`` (SavedModel computing in bfloat16, uint8 in
and float32 out, for CPUs with AMX or AVX512-BF16); ``quantize="dynamic"`` (TFLite
with int8 weights, ``<name>_dynamic.tflite``); ``quantize="int8"`` (full-integer TFLite
or static QDQ ONNX, calibrated on ``calibration_images`` training images of ``data`` /
``data_dir``, ``<name>_int8.tflite`` / ``<name>_int8.onnx``).

The resolved config goes beside the export, to ``<export>.config.json`` (e.g.
``serving/camvid_segnet/1.config.json``; TensorFlow Serving loads only all-digit
version folders).

The config, :class:`~segnet_tf.config.exporting.ExportConfig`, lives with the
other configs in :mod:`segnet_tf.config` (no TensorFlow); it is importable from here too.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from segnet_tf.commands.model_arg import load_segmenter, model_file, preset_name
from segnet_tf.commands.model_data import resolve_data_source
from segnet_tf.config.exporting import (  # noqa: F401 - FORMATS, QUANTIZATIONS: re-exported
    FORMATS,
    QUANTIZATIONS,
    ExportConfig,
)


@dataclass
class ExportResult:
    """What :func:`export` returns.

    Args:
        path: The export (a SavedModel version folder, a ``.tflite`` or ``.onnx``).
        removed_mc_dropout: A Bayesian model was exported without Monte-Carlo dropout.
        config: The resolved config (as written to ``<path>.config.json``).
    """

    path: Path
    removed_mc_dropout: bool
    config: ExportConfig = field(repr=False)


def config_path(export_path: str | Path) -> Path:
    """Where the resolved config of the export at ``export_path`` is written."""
    export_path = Path(export_path)
    return export_path.with_name(export_path.name + ".config.json")


def export(config: ExportConfig) -> ExportResult:
    """Export a trained model as SavedModel, TFLite or ONNX.

    Args:
        config: What to export (validated here, before anything is written).

    Returns:
        An :class:`ExportResult`.

    Raises:
        ValueError: an invalid config (naming the field), an unknown preset, a model
            that cannot be loaded or converted, or an existing SavedModel version.
    """
    config.validate()
    # Imported when called: these import TensorFlow (see segnet_tf.commands).
    from segnet_tf.export import export_onnx, export_saved_model, export_tflite

    representative = None
    if config.quantize == "int8":
        from segnet_tf.export.calibration import training_images

        data, source = resolve_data_source(model_file(config.model), config.data, config.data_dir)
        representative = training_images(data, config.calibration_images, **source)

    segmenter = load_segmenter(config.model)
    model = segmenter.model
    # A preset exports under its own name (serving/camvid_segnet/1/), which says which
    # weights are served; a file's Keras model name says only the architecture.
    name = config.name or preset_name(config.model) or model.name
    out = Path(config.out)
    if config.format == "saved_model":
        path = export_saved_model(
            model,
            out,
            name=name,
            version=config.version,
            classes=segmenter.classes,
            pad_to_multiple=config.pad_to_multiple,
            keep_mc_dropout=config.keep_mc_dropout,
            precision=config.precision,
            tta=config.tta,
            scale=config.scale,
            domain_detector=segmenter.domain_detector,
        )
    elif config.format == "tflite":
        path = export_tflite(
            model,
            out / f"{name}{_quantized_suffix(config)}.tflite",
            config.pad_to_multiple,
            quantize=config.quantize,
            representative_images=representative,
            scale=config.scale,
            domain_detector=segmenter.domain_detector,
        )
    else:
        path = export_onnx(
            model,
            out / f"{name}{_quantized_suffix(config)}.onnx",
            config.opset,
            config.pad_to_multiple,
            quantize=config.quantize,
            representative_images=representative,
            scale=config.scale,
            domain_detector=segmenter.domain_detector,
        )
    path = Path(path)
    version = int(path.name) if config.format == "saved_model" else config.version
    resolved = dataclasses.replace(config, name=name, version=version)
    resolved.save(config_path(path))
    return ExportResult(
        path=path,
        removed_mc_dropout=segmenter.is_bayesian and not config.keep_mc_dropout,
        config=resolved,
    )


def _quantized_suffix(config: ExportConfig) -> str:
    """``_dynamic`` / ``_int8`` for a quantized file, so it never replaces the float one."""
    return "" if config.quantize == "none" else f"_{config.quantize}"
