"""Bring a photo to the scale a model learned: one size rule and one resampler for every path.

A segmentation network learns objects at the size they had in its training frames: a
car in CamVid is about 100 pixels long in a 480x360 frame. The same street photographed
by a phone at 4000x3000 shows that car 8 times larger, and a network run on the photo
at full resolution (or on 1024-pixel tiles of it) sees shapes it has never seen. So by
default every inference path (``Segmenter``, ``segnet predict``, the demo and the
exported SavedModel / TFLite / ONNX signatures) resizes an image to the *area* of the
model's training frames, keeping its aspect ratio, predicts there, and resizes the
result back to the image's own size.

A model records its training frame size as ``training_size`` in its config
(``segnet train`` sets it to ``--image-size``); a model without one (a ``.keras`` file
saved by an older version, or built by hand) is run at the image's own resolution, as
``scale="native"`` does. ``"native"`` is the choice for imagery that is already at the
training scale whatever its pixel count, e.g. large aerial tiles at the training
data's ground resolution: the image is then cut into overlapping tiles instead.

The size rule is written twice, in NumPy (:func:`working_size`) and in TensorFlow
(:func:`tf_working_size`), with the same float32 operations so that both give the same
size for every image (tested); the resampler (:func:`resize_images`) is TensorFlow ops
only, so the SavedModel, TFLite and ONNX graphs compute what ``Segmenter`` computes.
"""

from __future__ import annotations

import numpy as np

SCALE_MODES = ("training", "native")
"""``"training"``: resize to the training frames' area; ``"native"``: the image as it is."""

SUPERSAMPLING = 4
"""The resampler's intermediate factor: bilinear to 4x the target, then 4x4 averages."""


def check_training_size(value) -> tuple[int, int] | None:
    """``value`` as ``(height, width)`` of positive ints, or None.

    Raises:
        ValueError: Naming the value received and the form expected.
    """
    if value is None:
        return None
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value)
    ):
        raise ValueError(
            "`training_size` must be None or (height, width), two positive ints: the size "
            f"of the frames the model was trained on. Received: {value!r}"
        )
    return int(value[0]), int(value[1])


def check_scale_mode(value) -> str:
    """``value`` if it is one of :data:`SCALE_MODES`.

    Raises:
        ValueError: Listing the accepted modes.
    """
    if value not in SCALE_MODES:
        raise ValueError(
            f"`scale` must be one of {', '.join(map(repr, SCALE_MODES))}; got {value!r}. "
            "'training' resizes every image to the area of the model's training frames; "
            "'native' segments it at its own resolution (in tiles when it is large)."
        )
    return value


def _round_half_up(x):
    return np.floor(x + np.float32(0.5))


def working_size(height: int, width: int, training_size: tuple[int, int]) -> tuple[int, int]:
    """``(height, width)`` with the area of ``training_size`` and the aspect ratio of
    the image (each side at least 1).

    Float32 arithmetic, as :func:`tf_working_size`, so both give the same size.
    """
    area = np.float32(training_size[0] * training_size[1])
    scale = np.sqrt(area / (np.float32(height) * np.float32(width)), dtype=np.float32)
    new_height = max(1, int(_round_half_up(np.float32(height) * scale)))
    new_width = max(1, int(_round_half_up(np.float32(width) * scale)))
    return new_height, new_width


def tf_working_size(height, width, training_size: tuple[int, int]):
    """:func:`working_size` as TensorFlow ops on scalar int32 ``height`` and ``width``.

    Returns:
        int32 ``[2]``: the new height and width.
    """
    import tensorflow as tf

    area = tf.constant(training_size[0] * training_size[1], tf.float32)
    h, w = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    scale = tf.sqrt(area / (h * w))
    size = tf.floor(tf.stack([h * scale, w * scale]) + 0.5)
    return tf.maximum(tf.cast(size, tf.int32), 1)


def resize_images(images, size):
    """Resize float ``[B, H, W, C]`` images to ``size`` (int32 ``[2]``), both ways.

    Not the identity for ``size`` equal to the images' size (it blurs by a quarter
    pixel): callers skip it then, as :func:`to_size` does.

    Bilinear to :data:`SUPERSAMPLING` times ``size``, then the average of each
    4x4 block: down to a quarter of the input's resolution every output pixel averages
    the pixels it covers (no aliasing, close to an area resize), and enlarging is
    bilinear. Built only of ``ResizeBilinear`` and ``AvgPool``, which TFLite and ONNX
    run natively, unlike TensorFlow's area resize.
    """
    import tensorflow as tf

    k = SUPERSAMPLING
    x = tf.image.resize(images, size * k, method="bilinear")
    return tf.nn.avg_pool2d(x, k, k, "VALID")


def to_size(images, size):
    """``images`` resized to ``size`` by :func:`resize_images`, or as they are when they
    have that size already (a ``tf.cond``, which TFLite and ONNX run as If)."""
    import tensorflow as tf

    same = tf.reduce_all(tf.equal(tf.shape(images)[1:3], size))
    return tf.cond(same, lambda: images, lambda: resize_images(images, size))
