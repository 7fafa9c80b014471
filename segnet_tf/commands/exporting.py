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
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from segnet_tf import config_fields
from segnet_tf.commands.model_arg import load_segmenter, model_field, model_file, preset_name
from segnet_tf.commands.model_data import (
    data_dir_field,
    data_field,
    precision_field,
    resolve_data_source,
    tta_field,
)
from segnet_tf.config_fields import CommandConfig, ConfigError

FORMATS = ("saved_model", "tflite", "onnx")
QUANTIZATIONS = ("none", "dynamic", "int8")  # segnet_tf.export.tflite's, without TF


def _plain_name(value) -> str | None:
    if value is None or (
        isinstance(value, str) and value not in ("", ".", "..") and not set("/\\") & set(value)
    ):
        return None
    return "a plain file or folder name (no path separator), or unset"


@dataclass(frozen=True)
class ExportConfig(CommandConfig):
    """Which model is exported, in which format, where and under which name.

    Args:
        model: A ``.keras`` model file or the name of a bundled preset.
        format: ``saved_model``, ``tflite`` or ``onnx``.
        out: Output folder.
        name: The folder or file name of the export; None: the preset's name for a
            preset, else the Keras model's name.
        version: SavedModel version; None: the next free number.
        pad_to_multiple: Pad inputs to multiples of this and crop back (1: no padding,
            which segnet_tf models do not need).
        opset: ONNX opset, 11 to 18 (13 to 18 with ``quantize="int8"``).
        keep_mc_dropout: SavedModel of a Bayesian model: keep Monte-Carlo dropout on
            (one random sample per request) instead of the deterministic
            weight-averaging prediction.
        precision: SavedModel compute precision, ``float32`` or ``bfloat16`` (uint8 in
            and float32 out either way).
        quantize: ``none``; ``dynamic`` (TFLite, int8 weights); ``int8`` (TFLite full
            integer, or ONNX static QDQ), calibrated on training images.
        calibration_images: ``quantize="int8"``: training images to calibrate on.
        data: ``quantize="int8"``: the data source of the calibration images; None: the
            run's (from the ``config.json`` beside the model).
        data_dir: Its folder; None: the run's.
        tta: SavedModel: add a ``serve_images_tta`` signature averaging this test-time
            augmentation in-graph (e.g. ``"flip+scales:0.75,1,1.25"``); None adds none.
        scale: ``training``: the exported graph resizes every image to the area of
            the model's training frames and its results back, as ``segnet predict``
            does; ``native``: the network runs on the images as they are. The model's
            domain detector (``<stem>.domain.npz``), when it has one, is exported too:
            the outputs then include ``domain_score`` and ``out_of_domain``.
    """

    model: str = model_field()
    format: str = config_fields.option(
        help_text="export format",
        required=True,
        choices=FORMATS,
        check=config_fields.choice(FORMATS),
    )
    out: str = config_fields.option(
        "exported", "output folder", metavar="DIR", check=config_fields.path(False)
    )
    name: str | None = config_fields.option(
        None,
        "model name, the folder or file name of the export (default: the preset's name "
        "for a preset, else the Keras model's name)",
        check=_plain_name,
    )
    version: int | None = config_fields.option(
        None,
        "SavedModel version (default: next free number)",
        check=config_fields.count(1, optional=True),
    )
    pad_to_multiple: int = config_fields.option(
        1,
        "pad inputs to multiples of M and crop back (1: not needed for segnet_tf models)",
        metavar="M",
        check=config_fields.count(1),
    )
    opset: int = config_fields.option(
        17, "ONNX opset, 11 to 18 (13 to 18 for int8)", check=config_fields.count(1)
    )
    keep_mc_dropout: bool = config_fields.option(
        False,
        "SavedModel of a Bayesian model: keep dropout on (one random sample per request)",
        check=config_fields.flag_value,
    )

    precision: str = precision_field(
        "SavedModel compute precision; bfloat16 keeps uint8 in and float32 out"
    )
    quantize: str = config_fields.option(
        "none",
        "TFLite: dynamic (int8 weights) or int8 (full integer, calibrated); ONNX: int8",
        choices=QUANTIZATIONS,
        check=config_fields.choice(QUANTIZATIONS),
    )
    calibration_images: int = config_fields.option(
        64,
        "--quantize int8: training images to calibrate on",
        metavar="N",
        check=config_fields.count(1),
    )
    data: str | None = data_field()
    data_dir: str | None = data_dir_field()
    tta: str | None = tta_field(
        "SavedModel: add a serve_images_tta signature averaging test-time augmentation "
        "in-graph, e.g. flip or flip+scales:0.75,1,1.25",
        empty_fix="leave --tta out to add no serve_images_tta signature",
    )

    scale: str = config_fields.option(
        "training",
        "training: the export resizes images to the area of the model's training frames "
        "(photos of any size); native: runs the network on them as they are",
        choices=("training", "native"),
        check=config_fields.choice(lambda: ("training", "native")),
    )

    def check_fields(self) -> None:
        if self.version is not None and self.format != "saved_model":
            raise ConfigError(
                "version", self.version, "unset outside the saved_model format (a version folder)"
            )
        if self.format == "onnx":
            from segnet_tf.export.onnx import opset_problem

            problem = opset_problem(self.opset, self.quantize)
            if problem is not None:
                raise ConfigError("opset", self.opset, problem)
        if self.tta is not None:
            from segnet_tf.inference.tta import TestTimeAugmentation

            if self.format != "saved_model":
                raise ConfigError(
                    "tta", self.tta, "unset outside the saved_model format (a serving signature)"
                )
            if TestTimeAugmentation.parse(self.tta).is_identity:
                raise ConfigError("tta", self.tta, "an augmentation that adds a pass, e.g. flip")
        if self.keep_mc_dropout and self.format != "saved_model":
            raise ConfigError(
                "keep_mc_dropout", True, "false: it only applies to the saved_model format"
            )
        if self.precision != "float32" and self.format != "saved_model":
            raise ConfigError(
                "precision",
                self.precision,
                "float32 outside the saved_model format (a faster TFLite or ONNX file is "
                "a quantized one: dynamic or int8)",
            )
        if self.quantize != "none" and self.format == "saved_model":
            raise ConfigError(
                "quantize", self.quantize, "none for saved_model (it applies to tflite and onnx)"
            )
        if self.quantize == "dynamic" and self.format == "onnx":
            raise ConfigError("quantize", self.quantize, "none or int8 for the onnx format")
        if (
            self.quantize == "int8"
            and self.data is None
            and self.data_dir is None
            and preset_name(self.model) is not None
        ):
            # A preset has no run config to take the calibration data from.
            raise ConfigError(
                "data",
                None,
                "a data source to calibrate int8 on (e.g. camvid, with its data folder "
                "../shared/camvid): a preset has no training run to take it from",
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
