"""The ``serving_default`` function with the weights frozen into constants.

Converters (TFLite, tf2onnx) handle Keras 3 variables badly: TF 2.21's TFLite
converter leaves them as never-initialised resource variables (NaN outputs), and
tf2onnx turns captured tensors into extra graph inputs. A function whose weights
are constants avoids both.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from segnet_tf._compat import convert_variables_to_constants_v2
from segnet_tf.export.input_checks import builtin_image_batch_check
from segnet_tf.export.portable import portable_clone, without_mc_dropout
from segnet_tf.export.serving import SegmentationServingModule


def frozen_serving_default(
    model: keras.Model,
    pad_to_multiple: int = 1,
    builtin_only: bool = False,
    scale: str = "training",
    domain_detector=None,
) -> tuple[tf.types.experimental.PolymorphicFunction, tf.Module]:
    """Build ``serving_default`` (uint8 images -> class ids, probabilities), frozen.

    Args:
        model: The Keras segmentation model.
        pad_to_multiple: See :class:`~segnet_tf.export.serving.SegmentationServingModule`.
        builtin_only: Replace pooling/unpooling with the builtin-op versions of
            :mod:`segnet_tf.export.portable` first.
        scale: See :class:`~segnet_tf.export.serving.SegmentationServingModule`; the
            training size is ``model.training_size``.
        domain_detector: See :class:`~segnet_tf.export.serving.SegmentationServingModule`.

    Monte-Carlo dropout is removed (see
    :func:`~segnet_tf.export.portable.without_mc_dropout`).

    The function first checks that its input is ``[batch, height, width, 3]`` with
    every dimension >= 1 (:func:`~segnet_tf.export.input_checks.builtin_image_batch_check`):
    the TFLite interpreter does not, and would answer another rank or channel count
    with a wrong-shaped result.

    Returns:
        ``(function, holder)``: the ``tf.function`` (input ``images``, outputs
        ``class_ids`` and ``probabilities``) and a module holding it, which the TFLite
        converter needs to name the signature.
    """
    training_size = getattr(model, "training_size", None)  # before the copies below
    # Bayesian models: frozen graphs cannot update the dropout seed variable.
    model = without_mc_dropout(model)
    if builtin_only:
        model = portable_clone(model)
    module = SegmentationServingModule(
        model,
        pad_to_multiple=pad_to_multiple,
        training_size=training_size,
        scale=scale,
        domain_detector=domain_detector,
    )
    concrete = module.segment_images.get_concrete_function()
    frozen = convert_variables_to_constants_v2(concrete)

    @tf.function(input_signature=concrete.structured_input_signature[0])
    def serving_default(images):
        checked = builtin_image_batch_check(images)
        checked.set_shape(images.shape)
        # Re-attach the output names, which the frozen function has lost.
        return tf.nest.pack_sequence_as(
            concrete.structured_outputs, tf.nest.flatten(frozen(checked))
        )

    holder = tf.Module()
    holder.serving_default = serving_default
    return serving_default, holder
