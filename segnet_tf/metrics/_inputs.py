"""Shared numpy input handling for the standalone metrics: shapes, dtypes, void."""

from __future__ import annotations

import numpy as np


def as_label_maps(y_true, y_pred, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Returns `(y_true, y_pred_ids)` as int64 arrays of shape `[B, H, W]`.

    Args:
        y_true: class ids, `[B, H, W]`, `[B, H, W, 1]` or a single `[H, W]` map.
            Array-likes and eager tensors are accepted.
        y_pred: predicted class ids of the same shape as `y_true`, or scores
            `[..., num_classes]` (logits or probabilities, any float dtype
            including float16/bfloat16) from which the argmax is taken.
        num_classes: number of real classes.

    Raises:
        ValueError: if the shapes do not match or predicted ids are out of range.
    """
    t = np.asarray(y_true)
    p = np.asarray(y_pred)
    if t.ndim == 4 and t.shape[-1] == 1:
        t = t[..., 0]
    if t.ndim == 2:
        t = t[None]
        if p.ndim in (2, 3) and p.shape[:2] == t.shape[1:]:
            p = p[None]
    if t.ndim != 3:
        raise ValueError(f"y_true must be [B, H, W] or [B, H, W, 1]; got shape {np.shape(y_true)}.")
    if p.ndim == 4 and p.shape[:3] == t.shape and p.shape[-1] == num_classes and num_classes > 1:
        # Scores: argmax in float32 because ml_dtypes' bfloat16 has no reliable ufuncs.
        p = np.argmax(p.astype(np.float32), axis=-1)
    elif p.ndim == 4 and p.shape[-1] == 1:
        p = p[..., 0]
    if p.shape != t.shape:
        raise ValueError(
            f"y_pred of shape {np.shape(y_pred)} does not match y_true of shape "
            f"{np.shape(y_true)} (expected ids of the same shape or scores with "
            f"{num_classes} channels)."
        )
    if not np.issubdtype(t.dtype, np.integer):
        t = t.astype(np.float64)
        if not np.all(np.isfinite(t)) or np.any(t != np.round(t)):
            raise ValueError("y_true must hold integer class ids.")
    if not np.issubdtype(p.dtype, np.integer):
        p = p.astype(np.float64)
        if not np.all(np.isfinite(p)) or np.any(p != np.round(p)):
            raise ValueError("y_pred ids must be integers (pass scores with a class axis).")
    t = t.astype(np.int64)
    p = p.astype(np.int64)
    if p.size and (p.min() < 0 or p.max() >= num_classes):
        raise ValueError(
            f"Predicted class ids must lie in [0, {num_classes}); got range [{p.min()}, {p.max()}]."
        )
    return t, p


def valid_mask(y_true: np.ndarray, num_classes: int, ignore_class: int | None) -> np.ndarray:
    """Returns the boolean mask of non-void ground-truth pixels.

    Args:
        y_true: int array of class ids.
        num_classes: number of real classes; ids outside `[0, num_classes)` are void.
        ignore_class: an extra void id (e.g. 11 for CamVid), or None.
    """
    valid = (y_true >= 0) & (y_true < num_classes)
    if ignore_class is not None:
        valid &= y_true != ignore_class
    return valid


def check_num_classes(num_classes: int) -> int:
    """Validates and returns `num_classes` as a Python int."""
    if int(num_classes) != num_classes or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer; got {num_classes!r}.")
    return int(num_classes)
