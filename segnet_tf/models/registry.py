"""Registry of model builders: `get_model(name, ...)` and `list_models()`."""

from collections.abc import Callable

import keras

_BUILDERS: dict[str, Callable[..., keras.Model]] = {}


def register_model(name: str):
    """Decorator registering a builder `fn(num_classes, **kwargs) -> keras.Model`."""

    def decorator(builder):
        if name in _BUILDERS:
            raise ValueError(f"A model named {name!r} is already registered.")
        _BUILDERS[name] = builder
        return builder

    return decorator


def list_models() -> list[str]:
    """Names accepted by `get_model`, sorted."""
    return sorted(_BUILDERS)


def get_model(name: str, num_classes: int, **kwargs) -> keras.Model:
    """Builds a registered segmentation model.

    Every model maps float RGB images `[batch, height, width, 3]` with values in
    [0, 255] (any height and width) to float32 logits
    `[batch, height, width, num_classes]`.

    Args:
        name: str. One of `list_models()`.
        num_classes: int. Number of classes, at least 2.
        **kwargs: the builder's own arguments, e.g. `width=0.25`.

    Example:

    >>> model = get_model("segnet_basic", num_classes=11)
    """
    if name not in _BUILDERS:
        raise ValueError(f"Unknown model {name!r}. Valid names: {', '.join(list_models())}")
    return _BUILDERS[name](num_classes, **kwargs)
