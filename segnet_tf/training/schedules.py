"""Learning-rate schedules with linear warm-up: poly and cosine (serialisable)."""

from __future__ import annotations

import math

import keras
from keras import ops


def _decay_progress(step, warmup_steps: int, total_steps: int):
    """0 at the end of warm-up to 1 at ``total_steps``, clamped to [0, 1]."""
    span = max(total_steps - warmup_steps, 1)
    return ops.clip((step - warmup_steps) / span, 0.0, 1.0)


def _warmup_then(step, base_lr: float, warmup_steps: int, decayed):
    """Linear ramp from base_lr/warmup_steps to base_lr, then ``decayed``."""
    if warmup_steps <= 0:
        return decayed
    warm = base_lr * (step + 1.0) / float(warmup_steps)
    return ops.where(step < warmup_steps, warm, decayed)


@keras.saving.register_keras_serializable(package="segnet_tf")
class PolyDecay(keras.optimizers.schedules.LearningRateSchedule):
    """``lr = base_lr * (1 - t) ** power`` after warm-up, ``t`` the decay progress.

    The "poly" policy of DeepLab/PSPNet. ``t`` runs from 0 at the end of warm-up to 1
    at ``total_steps`` and is clamped there (a resumed run that overshoots by a few
    steps keeps lr = end_lr).

    Args:
        base_lr: Peak learning rate.
        total_steps: Steps of the whole run (warm-up included).
        power: Decay exponent.
        warmup_steps: Linear warm-up steps.
        end_lr: Floor of the learning rate.
    """

    def __init__(
        self,
        base_lr: float,
        total_steps: int,
        power: float = 0.9,
        warmup_steps: int = 0,
        end_lr: float = 0.0,
    ):
        if total_steps < 1 or warmup_steps < 0 or base_lr <= 0:
            raise ValueError(
                f"PolyDecay needs base_lr > 0, total_steps >= 1 and warmup_steps >= 0; got "
                f"{base_lr}, {total_steps}, {warmup_steps}."
            )
        self.base_lr = float(base_lr)
        self.total_steps = int(total_steps)
        self.power = float(power)
        self.warmup_steps = int(warmup_steps)
        self.end_lr = float(end_lr)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        t = _decay_progress(step, self.warmup_steps, self.total_steps)
        decayed = self.end_lr + (self.base_lr - self.end_lr) * ops.power(1.0 - t, self.power)
        return _warmup_then(step, self.base_lr, self.warmup_steps, decayed)

    def get_config(self) -> dict:
        return {
            "base_lr": self.base_lr,
            "total_steps": self.total_steps,
            "power": self.power,
            "warmup_steps": self.warmup_steps,
            "end_lr": self.end_lr,
        }


@keras.saving.register_keras_serializable(package="segnet_tf")
class WarmupCosineDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to ``base_lr``, then half a cosine down to ``min_lr``.

    Args:
        base_lr: Peak learning rate.
        total_steps: Steps of the whole run (warm-up included).
        warmup_steps: Linear warm-up steps.
        min_lr: Final learning rate.
    """

    def __init__(
        self, base_lr: float, total_steps: int, warmup_steps: int = 0, min_lr: float = 0.0
    ):
        if total_steps < 1 or warmup_steps < 0 or base_lr <= 0:
            raise ValueError(
                f"WarmupCosineDecay needs base_lr > 0, total_steps >= 1 and warmup_steps >= "
                f"0; got {base_lr}, {total_steps}, {warmup_steps}."
            )
        self.base_lr = float(base_lr)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.min_lr = float(min_lr)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        t = _decay_progress(step, self.warmup_steps, self.total_steps)
        cosine = 0.5 * (1.0 + ops.cos(math.pi * t))
        decayed = self.min_lr + (self.base_lr - self.min_lr) * cosine
        return _warmup_then(step, self.base_lr, self.warmup_steps, decayed)

    def get_config(self) -> dict:
        return {
            "base_lr": self.base_lr,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "min_lr": self.min_lr,
        }


def make_schedule(name: str, base_lr: float, total_steps: int, warmup_steps: int = 0):
    """Build the learning rate for an optimizer.

    Args:
        name: ``"constant"``, ``"poly"`` or ``"cosine"``.
        base_lr: Peak learning rate.
        total_steps: Steps of the whole run.
        warmup_steps: Linear warm-up steps (ignored by ``constant``).

    Returns:
        A float (constant) or a ``LearningRateSchedule``.
    """
    if name == "constant":
        return float(base_lr)
    if name == "poly":
        return PolyDecay(base_lr, total_steps, warmup_steps=warmup_steps)
    if name == "cosine":
        return WarmupCosineDecay(base_lr, total_steps, warmup_steps=warmup_steps)
    raise ValueError(f"unknown learning-rate schedule {name!r}; expected constant, poly, cosine.")
