"""A `tf.Module` holding the serving signatures of a segmentation model.

The module's functions use only TensorFlow ops (our custom layers' `call` bodies are
plain TF ops), so the exported SavedModel loads with `tensorflow` alone: no
`segnet_tf`, no Keras.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from segnet_tf.export.image_header import checked_image_sizes
from segnet_tf.inference.domain import DomainDetector, encoder_model, pooled_statistics
from segnet_tf.inference.prediction_mode import PLAIN, PredictionMode
from segnet_tf.inference.tta import TestTimeAugmentation
from segnet_tf.training_scale import check_scale_mode, tf_working_size, to_size

IMAGES_KEY = "images"
IMAGE_BYTES_KEY = "image_bytes"  # the "_bytes" suffix lets REST clients send {"b64": ...}
CLASS_IDS_KEY = "class_ids"
PROBABILITIES_KEY = "probabilities"
DOMAIN_SCORE_KEY = "domain_score"
OUT_OF_DOMAIN_KEY = "out_of_domain"
TTA_SIGNATURE = "serve_images_tta"


def _pad_to_multiple(images: tf.Tensor, multiple: int) -> tf.Tensor:
    """Pad bottom and right to multiples of ``multiple`` by repeating the edge pixels.

    Edge repetition (a gather with clamped indices) works for any size, unlike
    reflection, which needs the padding to be smaller than the image.
    """
    height, width = tf.shape(images)[1], tf.shape(images)[2]
    padded_h = (height + multiple - 1) // multiple * multiple
    padded_w = (width + multiple - 1) // multiple * multiple
    rows = tf.minimum(tf.range(padded_h), height - 1)
    cols = tf.minimum(tf.range(padded_w), width - 1)
    return tf.gather(tf.gather(images, rows, axis=1), cols, axis=2)


def _require(condition: tf.Tensor, message: str, *data: tf.Tensor) -> tf.Tensor:
    """A runtime check: fails the request with ``InvalidArgument: message data``."""
    return tf.debugging.Assert(condition, [message, *data], summarize=8)


_IMAGES_SHAPE_ERROR = (
    f"`{IMAGES_KEY}` must be uint8 [batch, height, width, 3] with every dimension >= 1; got shape"
)


def _checked_images(images: tf.Tensor) -> tf.Tensor:
    """``images`` after checking it is ``[batch, height, width, 3]``, every dim >= 1."""
    shape = tf.shape(images)
    # Rank first, in its own assertion: indexing the shape of a rank-2 input would
    # fail with an obscure slicing error.
    rank_ok = _require(
        tf.equal(tf.size(shape), 4),
        _IMAGES_SHAPE_ERROR,
        shape,
    )
    with tf.control_dependencies([rank_ok]):
        shape = tf.identity(shape)
    shape_ok = _require(
        tf.logical_and(tf.equal(shape[-1], 3), tf.reduce_all(shape >= 1)),
        _IMAGES_SHAPE_ERROR,
        shape,
    )
    with tf.control_dependencies([shape_ok]):
        images = tf.identity(images)
    return tf.ensure_shape(images, [None, None, None, 3])


def _checked_image_bytes(image_bytes: tf.Tensor) -> tf.Tensor:
    """``image_bytes`` after checking it is a non-empty vector of non-empty strings."""
    shape = tf.shape(image_bytes)
    rank_ok = _require(
        tf.equal(tf.size(shape), 1),
        f"`{IMAGE_BYTES_KEY}` must be a vector [batch] of encoded images (one string each); "
        "got shape",
        shape,
    )
    with tf.control_dependencies([rank_ok]):
        image_bytes = tf.reshape(image_bytes, [-1])
    size_ok = _require(
        tf.size(image_bytes) > 0,
        f"`{IMAGE_BYTES_KEY}` is empty; expected at least one encoded image.",
    )
    lengths = tf.strings.length(image_bytes)
    strings_ok = _require(
        tf.reduce_all(lengths > 0),
        f"`{IMAGE_BYTES_KEY}` holds an empty string; expected encoded JPEG/PNG/BMP/GIF/WebP "
        "images. Lengths of the strings:",
        lengths,
    )
    with tf.control_dependencies([size_ok, strings_ok]):
        return tf.identity(image_bytes)


def _decode_rgb(data: tf.Tensor) -> tf.Tensor:
    """One encoded image -> uint8 ``[height, width, 3]``, the pixels Pillow decodes.

    JPEG goes through the accurate integer DCT (Pillow's; TensorFlow's default fast
    DCT differs by up to about 10 levels), so that a served JPEG gives the pixels
    that ``Segmenter`` and the training data read.
    """
    return tf.cond(
        tf.io.is_jpeg(data),
        lambda: tf.io.decode_jpeg(data, channels=3, dct_method="INTEGER_ACCURATE"),
        lambda: tf.io.decode_image(data, channels=3, expand_animations=False),
    )


class SegmentationServingModule(tf.Module):
    """Serving wrapper: uint8 images or encoded image bytes in, class ids out.

    With a ``training_size`` (and ``scale="training"``), each request's images are
    resized to the area of the model's training frames before the network and its
    probabilities resized back to the request's size, as ``Segmenter`` does
    (`segnet_tf.training_scale`). With a ``domain_detector``, every signature also
    returns ``domain_score`` (float32 ``[batch]``, higher: less like the training
    frames) and ``out_of_domain`` (bool ``[batch]``), computed on the same resized
    images (`segnet_tf.inference.domain`).

    Args:
        model: Keras model mapping float32 RGB ``[B, H, W, 3]`` in 0..255 to logits.
        pad_to_multiple: Pad inputs (edge repetition, bottom/right) to a multiple of
            this before the network and crop the outputs back. Our models accept any
            size (SegNet unpools to the exact pre-pool shape, U-Net/FCN crop), so the
            default 1 (no padding) gives exactly the Keras outputs; use e.g. 32 for a
            model that needs sizes divisible by its total stride.
        tta: Test-time augmentation of the extra ``serve_images_tta`` signature (a
            :class:`~segnet_tf.inference.tta.TestTimeAugmentation` or its text
            form); None adds no such signature. The other signatures stay one pass.
        training_size: ``(height, width)`` of the model's training frames, or None to
            run the network on requests as they are.
        scale: ``"training"`` (default) or ``"native"`` (ignore ``training_size``).
        domain_detector: A fitted :class:`~segnet_tf.inference.domain.DomainDetector`
            of ``model``, or None for no domain outputs.
    """

    def __init__(
        self,
        model: keras.Model,
        pad_to_multiple: int = 1,
        tta: TestTimeAugmentation | str | None = None,
        training_size: tuple[int, int] | None = None,
        scale: str = "training",
        domain_detector: DomainDetector | None = None,
    ):
        super().__init__(name="segmentation_serving")
        if isinstance(pad_to_multiple, bool) or not isinstance(pad_to_multiple, int):
            raise ValueError(f"`pad_to_multiple` must be a positive int; got {pad_to_multiple!r}.")
        if pad_to_multiple < 1:
            raise ValueError(f"`pad_to_multiple` must be >= 1; got {pad_to_multiple}.")
        self.model = model  # tracked, so its variables are saved with the module
        self.pad_to_multiple = pad_to_multiple
        self.num_classes = int(model.output_shape[-1])
        self.tta = TestTimeAugmentation.parse(tta)
        self.tta_mode = PredictionMode(tta=self.tta)  # of the extra signature
        check_scale_mode(scale)
        self.training_size = None if scale == "native" else training_size
        self.domain_detector = domain_detector
        self.encoder = None
        if domain_detector is not None:
            self.encoder = encoder_model(model)  # shares the model's layers
            domain_detector.check_model(self.encoder)

    def _segment(self, images: tf.Tensor, mode: PredictionMode = PLAIN):
        height, width = tf.shape(images)[1], tf.shape(images)[2]
        x = tf.cast(images, tf.float32)
        if self.training_size is not None:
            x = to_size(x, tf_working_size(height, width, self.training_size))
        net_height, net_width = tf.shape(x)[1], tf.shape(x)[2]
        outputs = {}
        detector = self.domain_detector
        if detector is not None:
            if tuple(detector.image_size) != self.training_size:
                seen = to_size(
                    tf.cast(images, tf.float32),
                    tf_working_size(height, width, tuple(detector.image_size)),
                )
            else:
                seen = x
            scores = detector.tf_scores(pooled_statistics(self.encoder(seen)))
            outputs[DOMAIN_SCORE_KEY] = scores
            outputs[OUT_OF_DOMAIN_KEY] = scores > detector.threshold
        if self.pad_to_multiple > 1:
            x = _pad_to_multiple(x, self.pad_to_multiple)
        probabilities = mode.graph_probabilities(self.model, x)[:, :net_height, :net_width, :]
        if self.training_size is not None:
            probabilities = tf.cond(
                tf.logical_and(tf.equal(net_height, height), tf.equal(net_width, width)),
                lambda: probabilities,
                lambda: tf.image.resize(probabilities, [height, width], method="bilinear"),
            )
        return {
            CLASS_IDS_KEY: tf.argmax(probabilities, axis=-1, output_type=tf.int32),
            PROBABILITIES_KEY: probabilities,
            **outputs,
        }

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8, name=IMAGES_KEY)])
    def segment_images(self, images):
        """uint8 RGB ``[batch, height, width, 3]`` -> class ids and probabilities, unchecked.

        The function that the TFLite and ONNX converters freeze: their runtimes fix
        the input's rank and channels to the declared ones.
        """
        return self._segment(images)

    # The SavedModel signatures declare inputs of unknown shape on purpose: a loaded
    # signature does not check a request against its declared shape (a [24, 32, 3]
    # request to a [None, None, None, 3] input runs and gives garbage), and a declared
    # rank makes in-graph rank checks constant-fold away. The checks are runtime ops.
    @tf.function(input_signature=[tf.TensorSpec(None, tf.uint8, name=IMAGES_KEY)])
    def serve_images(self, images):
        """uint8 RGB ``[batch, height, width, 3]`` -> class ids and probabilities.

        Any other rank or channel count, or a dimension of size 0, fails the request
        with ``InvalidArgument`` (another dtype is refused by TensorFlow itself).
        """
        return self._segment(_checked_images(images))

    @tf.function(input_signature=[tf.TensorSpec(None, tf.uint8, name=IMAGES_KEY)])
    def serve_images_tta(self, images):
        """Like :meth:`serve_images`, with the probabilities averaged over the passes of
        the module's test-time augmentation (flipped and rescaled copies), in-graph."""
        return self._segment(_checked_images(images), self.tta_mode)

    @tf.function(input_signature=[tf.TensorSpec(None, tf.string, name=IMAGE_BYTES_KEY)])
    def serve_image_bytes(self, image_bytes):
        """A batch of encoded JPEG/PNG/BMP/GIF/WebP strings -> class ids and probabilities.

        ``image_bytes`` must be a vector of at least one non-empty string, and every
        image of a batch must have the same size; otherwise, or for a string that is
        not a valid image, the request fails with ``InvalidArgument``.
        """
        image_bytes = _checked_image_bytes(image_bytes)
        # The declared sizes, from the headers, before anything is decoded.
        image_bytes = checked_image_sizes(image_bytes)
        first = tf.shape(_decode_rgb(image_bytes[0]))

        def decode(data):
            image = _decode_rgb(data)
            # Checked per image so the error names the problem instead of a failed stack.
            tf.debugging.assert_equal(
                tf.shape(image),
                first,
                message="All images of a serve_image_bytes request must have the same size.",
            )
            return image

        images = tf.map_fn(
            decode, image_bytes, fn_output_signature=tf.TensorSpec([None, None, 3], tf.uint8)
        )
        return self._segment(images)

    def signatures(self) -> dict[str, tf.types.experimental.ConcreteFunction]:
        """The signatures to pass to ``tf.saved_model.save`` (``serve_images_tta``
        only with a test-time augmentation)."""
        signatures = {
            "serving_default": self.serve_images.get_concrete_function(),
            "serve_image_bytes": self.serve_image_bytes.get_concrete_function(),
        }
        if not self.tta.is_identity:
            signatures[TTA_SIGNATURE] = self.serve_images_tta.get_concrete_function()
        return signatures
