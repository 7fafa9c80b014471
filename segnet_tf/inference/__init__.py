"""Inference: `Segmenter` (image -> mask in one call), videos and visualisation helpers."""

from segnet_tf.image_decoding import DecodedImage, array_to_rgb, decode_image, load_rgb
from segnet_tf.inference.class_info import default_classes, generic_palette, read_sidecar_classes
from segnet_tf.inference.prediction_mode import PredictionMode
from segnet_tf.inference.segmenter import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_TILE_OVERLAP,
    DEFAULT_TILE_SIZE,
    SegmentationResult,
    Segmenter,
)
from segnet_tf.inference.video import (
    VideoError,
    VideoResult,
    VideoSupportMissing,
    is_video_file,
    segment_video,
)
from segnet_tf.preset_folders import PRESETS_DIR, list_presets
from segnet_tf.resize_policy import MIN_SIDE, ResizePolicy
from segnet_tf.visualize import colorize, draw_legend, overlay, with_legend

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_TILE_OVERLAP",
    "DEFAULT_TILE_SIZE",
    "MIN_SIDE",
    "PRESETS_DIR",
    "DecodedImage",
    "PredictionMode",
    "ResizePolicy",
    "SegmentationResult",
    "Segmenter",
    "VideoError",
    "VideoResult",
    "VideoSupportMissing",
    "array_to_rgb",
    "colorize",
    "decode_image",
    "default_classes",
    "draw_legend",
    "generic_palette",
    "is_video_file",
    "list_presets",
    "load_rgb",
    "overlay",
    "read_sidecar_classes",
    "segment_video",
    "with_legend",
]
