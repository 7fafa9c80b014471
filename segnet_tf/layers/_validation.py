"""Argument checks shared by the pooling-with-indices layers."""


def normalize_pair(value, name: str) -> tuple[int, int]:
    """Returns `value` as a `(height, width)` pair of positive ints.

    Args:
        value: int or sequence of two ints.
        name: str. The argument's name, for the error message.
    """
    if isinstance(value, int):
        pair = (value, value)
    elif isinstance(value, (tuple, list)):
        pair = tuple(value)
    else:
        pair = ()
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair):
        raise ValueError(f"`{name}` must be an int or a pair of ints. Received: {name}={value!r}")
    if min(pair) < 1:
        raise ValueError(f"`{name}` must be positive. Received: {name}={value!r}")
    return pair


def check_rank4(shape, layer_name: str, what: str) -> None:
    """Raises a ValueError unless `shape` is a [batch, height, width, channels] shape."""
    if shape is not None and len(shape) != 4:
        raise ValueError(
            f"{layer_name} expects {what} of rank 4 [batch, height, width, channels]. "
            f"Received shape: {tuple(shape)}"
        )
