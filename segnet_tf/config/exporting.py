"""The config of ``segnet export``, :class:`ExportConfig`, and the names and limits
its fields take. No TensorFlow.

What :func:`segnet_tf.commands.export` exports, in which format, where and under
which name. The formats, quantizations and ONNX opset limits are defined here once;
the exporters (:mod:`segnet_tf.export`) read them from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from segnet_tf import config_fields
from segnet_tf.config.command_fields import data_dir_field, data_field, precision_field, tta_field
from segnet_tf.config.model_argument import model_field, preset_name
from segnet_tf.config.prediction_settings import TestTimeAugmentation
from segnet_tf.config_fields import CommandConfig, ConfigError

FORMATS = ("saved_model", "tflite", "onnx")
"""The export formats (:mod:`segnet_tf.export`)."""
QUANTIZATIONS = ("none", "dynamic", "int8")
"""Values of ``quantize``: float32, dynamic-range (TFLite), full-integer."""


DEFAULT_OPSET = 17
"""The ONNX opset exported when none is asked for."""
MIN_OPSET = 11
"""Below 11, ONNX has no Resize (input scaling) and no Slice with computed bounds (the
builtin-only pooling): tf2onnx wrote files that ``onnx.checker`` refuses."""
MIN_INT8_OPSET = 13
"""The int8 file's per-channel weight scales need ``DequantizeLinear`` with an axis."""
MAX_OPSET = 18
"""The highest opset tf2onnx 1.17 writes (``tf2onnx.constants.OPSET_TO_IR_VERSION``)."""


def opset_problem(opset, quantize: str = "none") -> str | None:
    """What an opset must be, if ``opset`` cannot be exported (None when it can).

    Args:
        opset: The requested ONNX opset.
        quantize: ``"none"`` or ``"int8"``.
    """
    low = MIN_INT8_OPSET if quantize == "int8" else MIN_OPSET
    if isinstance(opset, int) and not isinstance(opset, bool) and low <= opset <= MAX_OPSET:
        return None
    return (
        f"an opset from {MIN_OPSET} to {MAX_OPSET} ({MIN_INT8_OPSET} to {MAX_OPSET} with "
        f"--quantize int8): below {MIN_OPSET} ONNX lacks ops these models need (Resize, "
        f"Slice with computed bounds), and tf2onnx writes none above {MAX_OPSET}"
    )


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
        DEFAULT_OPSET, "ONNX opset, 11 to 18 (13 to 18 for int8)", check=config_fields.count(1)
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
            problem = opset_problem(self.opset, self.quantize)
            if problem is not None:
                raise ConfigError("opset", self.opset, problem)
        if self.tta is not None:
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
