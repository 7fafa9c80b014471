"""Reading a functional model's graph through Keras' public API only."""

from __future__ import annotations

import keras


def producers(model: keras.Model) -> dict[int, keras.layers.Layer]:
    """``id(tensor) -> layer`` for every output tensor of ``model``'s layers.

    Each layer's ``output`` is that of its first call, which is the call in
    ``model``'s graph for a layer used once (every layer of this package's models).

    Args:
        model: A functional keras.Model.
    """
    found = {}
    for layer in model.layers:
        for tensor in keras.tree.flatten(layer.output):
            found[id(tensor)] = layer
    return found


def all_layers(model: keras.layers.Layer):
    """``model`` and every layer nested in it, depth first (each once)."""
    seen = set()
    stack = [model]
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        yield layer
        stack.extend(reversed(getattr(layer, "layers", None) or []))


def clone_replacing(model: keras.Model, replace) -> keras.Model:
    """Copy of ``model``, weights included, with some layers swapped for others.

    Args:
        model: A functional keras.Model.
        replace: ``replace(layer)`` returns the layer to put in ``layer``'s place,
            or None to keep a fresh copy of ``layer`` (same config). A replacement
            must hold the same weights as the layer it replaces, in the same order
            (most replacements hold none), since the weights are copied by position.

    Returns:
        The copy; ``model`` is left unchanged.
    """

    def clone_layer(layer):
        replacement = replace(layer)
        if replacement is None:
            return layer.__class__.from_config(layer.get_config())
        return replacement

    clone = keras.models.clone_model(model, clone_function=clone_layer)
    clone.set_weights(model.get_weights())
    return clone
