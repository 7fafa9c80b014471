"""Test-time augmentation: average a model's softmax over mirrored and rescaled inputs.

Each image is segmented as it is, mirrored left-right and/or resized by a few factors;
every prediction is mapped back to the image's own geometry (mirrored back, its
logits resized bilinearly to the input size) and the softmax probabilities are
averaged. Street scenes mirrored or seen a little nearer or farther are still street
scenes (training shows them so), so the passes err differently and their mean is
usually better than any one, at the cost of one forward pass each.

Probabilities, not logits, are averaged: each pass then casts a bounded vote, so one
pass at a scale the network handles badly (larger logits, overconfident) cannot
outvote the others, and the mean is itself a distribution that ``Segmenter`` can blend
across tiles and return.

Everything is TensorFlow ops with dynamic sizes, so :func:`tta_probabilities` runs
eagerly on a batch as well as inside a ``tf.function`` (``Segmenter``) or a SavedModel
signature (``segnet export --tta``). The spec itself,
:class:`~segnet_tf.config.prediction_settings.TestTimeAugmentation`, is plain Python
and lives with the configs that check it.
"""

from __future__ import annotations

import tensorflow as tf

# The spec is plain Python, with the configs that check it (no TensorFlow there);
# imported here too, where the passes it names are run.
from segnet_tf.config.prediction_settings import (  # noqa: F401 - re-exported
    MAX_SCALE,
    MIN_SCALE,
    TestTimeAugmentation,
)

NO_TTA = TestTimeAugmentation()

CAMVID_VAL_CHOICE = TestTimeAugmentation(flip=True, scales=(0.75, 1.0, 1.25, 1.5))
"""The setting of best mean IoU on CamVid's validation split for the bundled
``camvid_segnet`` preset (README, "CamVid results"); the demo's toggle uses it."""


def _resize(x: tf.Tensor, size: tf.Tensor) -> tf.Tensor:
    # Bilinear without antialiasing, as the training pipeline and the models' own
    # input scaling resize, so that a rescaled image looks like the training data.
    return tf.cast(tf.image.resize(x, size, method="bilinear"), x.dtype)


def scaled_size(size: tf.Tensor, scale: float) -> tf.Tensor:
    """``round(size * scale)``, at least 1: the ``(height, width)`` a scale resizes to.

    Args:
        size: int32 ``[2]`` height and width.
        scale: The factor.
    """
    scaled = tf.round(tf.cast(size, tf.float32) * scale)
    return tf.maximum(tf.cast(scaled, tf.int32), 1)


def tta_probabilities(model, images, tta: TestTimeAugmentation | str | None = None) -> tf.Tensor:
    """The softmax of ``model`` on ``images``, averaged over the passes of ``tta``.

    Args:
        model: Maps float32 RGB ``[B, H, W, 3]`` (0..255) to logits ``[B, H, W, C]``
            for any ``H, W`` (every ``segnet_tf`` model).
        images: A batch ``[B, H, W, 3]``, any real dtype (cast to float32).
        tta: A :class:`TestTimeAugmentation` or its text form; None is no
            augmentation (one plain pass).

    Returns:
        float32 probabilities ``[B, H, W, C]``.
    """
    tta = TestTimeAugmentation.parse(tta)
    images = tf.cast(images, tf.float32)
    size = tf.shape(images)[1:3]
    total = None
    for scale in tta.scales:
        scaled = images if scale == 1.0 else _resize(images, scaled_size(size, scale))
        for mirrored in (False, True) if tta.flip else (False,):
            x = tf.reverse(scaled, axis=[2]) if mirrored else scaled
            logits = tf.cast(model(x, training=False), tf.float32)
            if mirrored:
                logits = tf.reverse(logits, axis=[2])
            if scale != 1.0:
                # Logits, not probabilities, are interpolated: the usual way a
                # segmentation network's output is upsampled.
                logits = _resize(logits, size)
            probabilities = tf.nn.softmax(logits, axis=-1)
            total = probabilities if total is None else total + probabilities
    return total / float(tta.passes)
