"""One input check for every export and every runner.

Every export's ``serving_default`` takes uint8 images ``[batch, height, width, 3]``
with every dimension >= 1, and refuses any other shape instead of answering with a
wrong-shaped result:

- SavedModel: runtime assertions in the signature
  (:mod:`segnet_tf.export.serving`), ``InvalidArgument`` with the message
  :data:`IMAGES_FORM`;
- ONNX: ONNX Runtime checks the declared rank and channels itself (``Invalid rank
  for input``), and the graph holds :func:`builtin_image_batch_check` too;
- TFLite: its interpreter checks nothing (the signature runner resizes the input to
  whatever it is given: a ``[24, 32, 3]`` request used to give class ids of shape
  ``[1, 24, 3]``) and has no assertion op, so the converted function starts with
  :func:`builtin_image_batch_check`, builtin ops that fail the call (``gather index
  out of bounds``) for any other shape.

:class:`~segnet_tf.export.runners.ExportedModel`, which ``segnet evaluate`` runs
exports through, checks with :func:`check_image_batch` first, for a message that
names the problem whatever the format. (The class-count check of models, Keras or
exported, is :func:`segnet_tf.class_count.check_class_count`.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

IMAGES_FORM = "`images` must be uint8 [batch, height, width, 3] with every dimension >= 1"
"""How every export's ``serving_default`` input is described when it is refused."""


def image_batch_problem(shape: Sequence[int]) -> str | None:
    """Why a batch of this shape is refused, or None if it is ``[B, H, W, 3]``, all >= 1."""
    shape = tuple(int(d) for d in shape)
    if len(shape) == 4 and shape[-1] == 3 and min(shape) >= 1:
        return None
    return f"{IMAGES_FORM}; got shape {list(shape)}"


def check_image_batch(images, name: str = "the model") -> np.ndarray:
    """``images`` as an array after checking its shape (see :func:`image_batch_problem`).

    Args:
        images: A batch of images (any numeric dtype; the runners convert it).
        name: The model, for the message.

    Raises:
        ValueError: For any other shape, naming it.
    """
    images = np.asarray(images)
    problem = image_batch_problem(images.shape)
    if problem is not None:
        raise ValueError(f"{name}: {problem}.")
    return images


def builtin_image_batch_check(images):
    """``images`` reshaped to ``[B, H, W, 3]``, with ops that fail for any other shape.

    Only TFLite builtin ops, and no comparison the converters can fold away (they
    take the declared ``[None, None, None, 3]`` for the truth): the rank and the
    number of elements come from the runtime shape. A wrong shape selects index 1 of
    a one-element constant, which TFLite (``gather index out of bounds``) and ONNX
    Runtime (``indices element out of data bounds``) refuse.

    Args:
        images: The ``serving_default`` input, declared ``[None, None, None, 3]``.
    """
    import tensorflow as tf  # noqa: PLC0415 - the rest of this module needs no TF

    shape = tf.shape(images)
    # The number of dimensions >= 1 (tf.rank and tf.size of the shape fold to 4).
    positive = tf.reduce_sum(tf.minimum(shape, 1))
    ok = tf.logical_and(tf.equal(positive, 4), tf.reduce_min(shape) >= 1)
    # The channels, from the element count: the converters fold shape[3] to 3.
    ok = tf.logical_and(ok, tf.equal(tf.size(images), shape[0] * shape[1] * shape[2] * 3))
    refused = tf.gather(tf.constant([0]), 1 - tf.cast(ok, tf.int32))
    return tf.reshape(images, tf.stack([shape[0], shape[1], shape[2], 3 + refused]))
