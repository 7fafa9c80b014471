"""Export to ONNX with tf2onnx (optional dependency: ``pip install segnet_tf[onnx]``).

Only ``serving_default`` (uint8 images -> ``class_ids``, ``probabilities``) is
exported: ONNX has no image decoder, so ``serve_image_bytes`` has no equivalent.
Pooling and unpooling are exported in their window form
(:mod:`segnet_tf.export.portable`, as for TFLite): tf2onnx would turn the unpooling's
scatter-add (``UnsortedSegmentSum``) into a sort-based graph (``Unique``, ``TopK``),
while the window form maps to plain ``Slice``/``ArgMax``/``DepthToSpace`` nodes.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras

from segnet_tf.atomic_files import write_bytes_atomic
from segnet_tf.export.freeze import frozen_serving_default

DEFAULT_OPSET = 17


def export_onnx(
    model: keras.Model,
    path: str | os.PathLike,
    opset: int = DEFAULT_OPSET,
    pad_to_multiple: int = 1,
) -> Path:
    """Write ``model`` as an ONNX file (atomically).

    Args:
        model: The Keras segmentation model.
        path: Output ``.onnx`` file.
        opset: ONNX opset. Defaults to 17.
        pad_to_multiple: See :class:`~segnet_tf.export.serving.SegmentationServingModule`.

    Returns:
        ``path``.

    Raises:
        ValueError: If tf2onnx is not installed.
    """
    try:
        import tf2onnx  # noqa: PLC0415 - optional dependency
    except ImportError as err:
        raise ValueError(
            "ONNX export needs tf2onnx: pip install 'segnet_tf[onnx]' (tf2onnx, onnxruntime)."
        ) from err
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    function, _ = frozen_serving_default(model, pad_to_multiple, builtin_only=True)
    proto, _ = tf2onnx.convert.from_function(
        function, input_signature=function.input_signature, opset=opset
    )
    write_bytes_atomic(path, proto.SerializeToString())
    return path
