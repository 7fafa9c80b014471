"""Export to ONNX with tf2onnx (optional dependency: ``pip install segnet_tf[onnx]``).

Only ``serving_default`` (uint8 images -> ``class_ids``, ``probabilities``) is
exported: ONNX has no image decoder, so ``serve_image_bytes`` has no equivalent.
Pooling and unpooling are exported in their window form
(:mod:`segnet_tf.export.portable`, as for TFLite): tf2onnx would turn the unpooling's
scatter-add (``UnsortedSegmentSum``) into a sort-based graph (``Unique``, ``TopK``),
while the window form maps to plain ``Slice``/``ArgMax``/``DepthToSpace`` nodes.

With ``quantize="int8"`` the float model is quantised statically by ONNX Runtime
(``quantize_static``: QDQ format, int8 weights per output channel, int8 activations
calibrated on representative images); the input stays uint8 images and the
probabilities float32. The weights use 7 of their 8 bits (``reduce_range``): x86 CPUs
without VNNI multiply int8 with ``VPMADDUBSW``, whose 16-bit sums saturate with full-range
weights, so the same file would lose accuracy there (on an AMD EPYC Zen 3, AVX2 only,
CamVid test mIoU 52.94 and BF 49.93 with 8-bit weights, 53.22 and 51.23 with 7-bit
ones, against 53.37 and 50.91 in float32).
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np

from segnet_tf.atomic_files import (
    make_folder,
    remove_stale_temp_files,
    scratch_folder,
    write_bytes_atomic,
)
from segnet_tf.config.exporting import (  # noqa: F401 - the opset limits: re-exported
    DEFAULT_OPSET,
    MAX_OPSET,
    MIN_INT8_OPSET,
    MIN_OPSET,
    opset_problem,
)
from segnet_tf.export.freeze import frozen_serving_default


def export_onnx(
    model: keras.Model,
    path: str | os.PathLike,
    opset: int = DEFAULT_OPSET,
    pad_to_multiple: int = 1,
    quantize: str = "none",
    representative_images=None,
    scale: str = "training",
    domain_detector=None,
) -> Path:
    """Write ``model`` as an ONNX file (atomically).

    Args:
        model: The Keras segmentation model.
        path: Output ``.onnx`` file.
        opset: ONNX opset, from :data:`MIN_OPSET` to :data:`MAX_OPSET`
            (:data:`MIN_INT8_OPSET` for int8). Defaults to 17.
        pad_to_multiple: See :class:`~segnet_tf.export.serving.SegmentationServingModule`.
        quantize: ``"none"`` or ``"int8"`` (static, calibrated; see module doc).
        representative_images: For ``"int8"``: a function returning the calibration
            images (uint8 ``[H, W, 3]``), as for :func:`~segnet_tf.export.export_tflite`.
        scale: See :class:`~segnet_tf.export.serving.SegmentationServingModule`.
        domain_detector: See :class:`~segnet_tf.export.serving.SegmentationServingModule`.

    Returns:
        ``path``.

    Raises:
        ValueError: If tf2onnx (or for int8 onnxruntime) is not installed, the opset
            is out of range, or ``quantize`` is unknown or ``"int8"`` has no
            representative images (all checked before anything is written).
    """
    if quantize not in ("none", "int8"):
        raise ValueError(f"Unknown ONNX quantization {quantize!r}; expected none or int8.")
    problem = opset_problem(opset, quantize)
    if problem is not None:
        raise ValueError(f"opset={opset!r} cannot be exported; expected {problem}.")
    if quantize == "int8" and representative_images is None:
        raise ValueError("int8 quantization needs `representative_images` to calibrate on.")
    try:
        import tf2onnx  # noqa: PLC0415 - optional dependency
    except ImportError as err:
        raise ValueError(
            "ONNX export needs tf2onnx: pip install 'segnet_tf[onnx]' (tf2onnx, onnxruntime)."
        ) from err
    path = Path(path)
    make_folder(path.parent)
    remove_stale_temp_files(path.parent)  # of killed exports
    function, _ = frozen_serving_default(
        model, pad_to_multiple, builtin_only=True, scale=scale, domain_detector=domain_detector
    )
    proto, _ = tf2onnx.convert.from_function(
        function, input_signature=function.input_signature, opset=opset
    )
    if quantize == "none":
        write_bytes_atomic(path, proto.SerializeToString())
        return path
    with scratch_folder(path) as work:
        float_path = work / "float.onnx"
        float_path.write_bytes(proto.SerializeToString())
        quantized = work / "int8.onnx"
        quantize_onnx_int8(float_path, quantized, representative_images)
        os.replace(quantized, path)
    return path


def quantize_onnx_int8(float_path: Path, path: Path, representative_images) -> None:
    """Static int8 quantisation (QDQ, per-channel 7-bit weights) of an ONNX model file.

    Args:
        float_path: The float32 ONNX model.
        path: Where to write the int8 model.
        representative_images: A function returning uint8 ``[H, W, 3]`` images.

    Raises:
        ValueError: If onnxruntime is not installed or there are no images.
    """
    try:
        from onnxruntime.quantization import (  # noqa: PLC0415 - optional dependency
            CalibrationDataReader,
            QuantType,
            quantize_static,
        )
        from onnxruntime.quantization.shape_inference import (  # noqa: PLC0415
            quant_pre_process,
        )
    except ImportError as err:
        raise ValueError(
            "int8 ONNX export needs onnxruntime: pip install 'segnet_tf[onnx]'."
        ) from err
    images = [np.asarray(image, np.uint8) for image in representative_images()]
    if not images:
        raise ValueError("The representative images are empty; int8 needs at least one.")

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter({"images": image[None]} for image in images)

        def get_next(self):
            return next(self.batches, None)

    prepared = Path(path).with_suffix(".pre.onnx")
    # Shape inference and graph cleanup first, as ONNX Runtime recommends.
    quant_pre_process(str(float_path), str(prepared), skip_symbolic_shape=True)
    try:
        quantize_static(
            str(prepared),
            str(path),
            Reader(),
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=True,  # no saturation on CPUs without VNNI (module docstring)
        )
    finally:
        prepared.unlink(missing_ok=True)
