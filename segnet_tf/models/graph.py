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
