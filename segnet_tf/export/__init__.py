"""Export for deployment without segnet_tf: SavedModel (TF Serving), TFLite, ONNX."""

from segnet_tf.config.exporting import FORMATS
from segnet_tf.export.onnx import export_onnx
from segnet_tf.export.portable import portable_clone, without_mc_dropout
from segnet_tf.export.saved_model import export_saved_model, next_version
from segnet_tf.export.serving import SegmentationServingModule
from segnet_tf.export.tflite import convert_tflite, export_tflite

__all__ = [
    "FORMATS",
    "SegmentationServingModule",
    "convert_tflite",
    "export_onnx",
    "export_saved_model",
    "export_tflite",
    "next_version",
    "portable_clone",
    "without_mc_dropout",
]
