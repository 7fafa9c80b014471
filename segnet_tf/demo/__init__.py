"""The interactive demo: a Streamlit page (``page.py``) and everything it needs.

``segnet demo`` (or ``streamlit run demo/app.py`` in a checkout) serves ``page.py``,
the only module here that imports Streamlit. The page imports what it uses by name
from the modules here: images (:mod:`~segnet_tf.demo.images`), samples
(:mod:`~segnet_tf.demo.samples`), the model (:mod:`~segnet_tf.demo.models`), one
prediction as shown (:mod:`~segnet_tf.demo.results`), video clips
(:mod:`~segnet_tf.demo.clips`) and the drawing functions of
:mod:`segnet_tf.visualize`. This module gathers their names for scripts and tests.
"""

from pathlib import Path

from segnet_tf.demo.clips import (
    CLIP_TYPES,
    DEFAULT_CLIP_FRAMES,
    MAX_CLIP_FRAMES,
    ClipInputError,
    ClipResult,
    segment_clip,
)
from segnet_tf.demo.images import (
    IMAGE_TYPES,
    MAX_UPLOAD_MB,
    WORKING_MAX_SIDE,
    ImageInputError,
    InputImage,
    decode_image_bytes,
    prepare_image,
)
from segnet_tf.demo.models import (
    MODEL_ENV,
    ModelInfo,
    ModelRef,
    ModelSource,
    default_model_source,
    describe_model,
    load_segmenter,
    store_uploaded_model,
)
from segnet_tf.demo.results import (
    LOW_CONFIDENCE,
    Analysis,
    ClassShare,
    class_entries,
    class_shares,
    domain_notice,
    png_bytes,
    segment,
    stem,
    to_hex,
)
from segnet_tf.demo.samples import Sample, camvid_hint, list_samples, load_sample
from segnet_tf.image_decoding import FORMAT_NAMES
from segnet_tf.inference import Segmenter
from segnet_tf.visualize import (
    FeatureMaps,
    InsideSegNet,
    colorize,
    colorize_scalar_map,
    highlight_class,
    mask_png_bytes,
    overlay,
    pick_channels,
    render_panels,
    split_view,
    with_colorbar,
    zoom_panels,
)

PAGE = Path(__file__).resolve().with_name("page.py")
"""The Streamlit page file that ``streamlit run`` serves."""

__all__ = [
    "CLIP_TYPES",
    "DEFAULT_CLIP_FRAMES",
    "FORMAT_NAMES",
    "MAX_CLIP_FRAMES",
    "ClipInputError",
    "ClipResult",
    "segment_clip",
    "IMAGE_TYPES",
    "LOW_CONFIDENCE",
    "MAX_UPLOAD_MB",
    "MODEL_ENV",
    "PAGE",
    "WORKING_MAX_SIDE",
    "Analysis",
    "ClassShare",
    "FeatureMaps",
    "ImageInputError",
    "InputImage",
    "InsideSegNet",
    "ModelInfo",
    "ModelRef",
    "ModelSource",
    "Sample",
    "Segmenter",
    "camvid_hint",
    "class_entries",
    "class_shares",
    "colorize",
    "colorize_scalar_map",
    "decode_image_bytes",
    "default_model_source",
    "describe_model",
    "domain_notice",
    "highlight_class",
    "list_samples",
    "load_sample",
    "load_segmenter",
    "mask_png_bytes",
    "overlay",
    "pick_channels",
    "png_bytes",
    "prepare_image",
    "render_panels",
    "segment",
    "split_view",
    "stem",
    "store_uploaded_model",
    "to_hex",
    "with_colorbar",
    "zoom_panels",
]
