"""Run a trained model at a fraction of its input's resolution.

A network trained on images downscaled by ``scale`` (``segnet train --input-scale``)
has learned objects at that scale. :func:`with_input_scale` gives it back its
full-resolution interface: the returned model resizes its input by ``scale``, runs the
same layers and resizes the logits back to the input size, so that it is evaluated,
served and exported on full-resolution images like any other model, at ``scale**2``
of the compute.
"""

from __future__ import annotations

import keras

from segnet_tf.layers import ResizeToMatch, ScaleSpatial
from segnet_tf.layers.resize import check_scale
from segnet_tf.models.base import SegmentationModel
from segnet_tf.models.graph import producers


def with_input_scale(model: keras.Model, scale: float) -> keras.Model:
    """A copy of ``model`` that runs its layers on its input resized by ``scale``.

    A model of this package (`SegmentationModel`) is rebuilt from its config with
    ``input_scale=scale``; any other functional model is cloned with a resizing
    layer after its input and one after its output.

    Args:
        model: A functional model with one image input and one logits output.
        scale: Positive factor, e.g. 0.5; 1.0 returns ``model`` itself.

    Returns:
        A ``keras.Model`` with the same weights (copied) and name, whose output has
        the input's height and width.

    Raises:
        ValueError: a bad scale, a model with several inputs or outputs, or a model
            that already resizes its input.
    """
    if check_scale(scale) == 1.0:
        return model
    if isinstance(model, SegmentationModel):
        if model.input_scale != 1.0:
            raise ValueError(
                f"model {model.name!r} already resizes its input (input_scale={model.input_scale})."
            )
        return model.copy_with(input_scale=scale)
    if len(getattr(model, "inputs", None) or []) != 1 or len(model.outputs) != 1:
        raise ValueError(
            f"model {model.name!r} must be a functional model with one input and one output."
        )
    if any(isinstance(layer, ScaleSpatial) for layer in model.layers):
        raise ValueError(
            f"model {model.name!r} already resizes its input ({ScaleSpatial.__name__})."
        )
    output_name = producers(model)[id(model.outputs[0])].name
    images = keras.Input(batch_shape=model.input.shape, dtype=model.input.dtype, name="images")
    scaled = ScaleSpatial(scale, name="input_scale")(images)

    def call_function(layer, *args, **kwargs):
        # Every layer that read the original input reads the resized one instead.
        args, kwargs = keras.tree.map_structure(
            lambda arg: scaled if arg is images else arg, (args, kwargs)
        )
        outputs = layer(*args, **kwargs)
        if layer.name == output_name:  # the clone of the output layer
            outputs = ResizeToMatch(name="logits_resize", dtype="float32")([outputs, images])
        return outputs

    # Fresh layers with copied weights rather than shared ones: a shared layer would
    # belong to two graphs, and `layer.input` / `layer.output` (which the inside view
    # of the demo reads) would still point into the original one.
    scaled_model = keras.models.clone_model(
        model, input_tensors=images, call_function=call_function
    )
    scaled_model.set_weights(model.get_weights())
    return scaled_model
