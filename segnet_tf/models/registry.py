"""Registry of named model configurations: `get_model(name, ...)` and `list_models()`.

A name stands for a model class and the constructor arguments that make it that
variant, e.g. ``"segnet_basic"`` is ``SegNet(depth="basic")``; the caller's keyword
arguments are added on top.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import keras

from segnet_tf.config.registered_names import add_model_name


@dataclass(frozen=True)
class ModelEntry:
    """A registered name: the class (or builder) and the arguments it is called with."""

    builder: Callable[..., keras.Model]
    arguments: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))


_ENTRIES: dict[str, ModelEntry] = {}


def register_model(name: str, builder: Callable[..., keras.Model], **arguments) -> None:
    """Registers ``builder(num_classes=..., name=name, **arguments, **kwargs)`` as ``name``.

    Args:
        name: str. The name `get_model` accepts.
        builder: A model class (e.g. `SegNet`) or any callable taking ``num_classes``,
            ``name`` and keyword arguments and returning a keras.Model.
        **arguments: The constructor arguments that make this variant.
    """
    if name in _ENTRIES:
        raise ValueError(f"A model named {name!r} is already registered.")
    _ENTRIES[name] = ModelEntry(builder, MappingProxyType(dict(arguments)))
    add_model_name(name)  # the configs check model names there, without Keras


def list_models() -> list[str]:
    """Names accepted by `get_model`, sorted."""
    return sorted(_ENTRIES)


def model_arguments(name: str) -> dict[str, Any]:
    """The constructor arguments that the registered ``name`` stands for."""
    return dict(_entry(name).arguments)


def _entry(name: str) -> ModelEntry:
    if name not in _ENTRIES:
        raise ValueError(f"Unknown model {name!r}. Valid names: {', '.join(list_models())}")
    return _ENTRIES[name]


def get_model(name: str, num_classes: int, encoder_weights=None, **kwargs) -> keras.Model:
    """Builds a registered segmentation model.

    Every model maps float RGB images `[batch, height, width, 3]` with values in
    [0, 255] (any height and width) to float32 logits
    `[batch, height, width, num_classes]`.

    Args:
        name: str. One of `list_models()`.
        num_classes: int. Number of classes, at least 2.
        encoder_weights: None, `"imagenet"` (Keras' VGG16 ImageNet weights, downloaded
            by Keras) or the path to a VGG16 `.h5` / `.weights.h5` file, for the models
            with a VGG16 encoder at width 1.0.
        **kwargs: the model's own constructor arguments, e.g. `width=0.25`.

    Example:

    >>> model = get_model("segnet_basic", num_classes=11)
    """
    entry = _entry(name)
    model = entry.builder(num_classes=num_classes, **{"name": name, **entry.arguments, **kwargs})
    if encoder_weights is not None:
        if not getattr(model, "has_vgg16_encoder", False):
            raise ValueError(
                f"Model {name!r} has no VGG16 encoder, so `encoder_weights` cannot apply; "
                "use a model built on VGG16 (segnet, segnet_encoder_addition, "
                "bayesian_segnet, fcn8s, fcn32s)."
            )
        from segnet_tf.models.vgg16_weights import load_vgg16_encoder_weights

        load_vgg16_encoder_weights(model, encoder_weights)
    return model
