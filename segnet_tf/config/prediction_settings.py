"""How a model's predictions are computed, as the configs name it: the compute
precision, the test-time augmentation spec, and the rule that Monte-Carlo sampling
and test-time augmentation exclude each other. No TensorFlow.

The configs (``segnet evaluate``, ``predict``, ``export``) check their fields with
these, so that the ``segnet`` parser needs no TensorFlow; what runs the settings
lives above: :mod:`segnet_tf.precision` (the Keras policy),
:mod:`segnet_tf.inference.tta` (the augmented passes) and
:class:`~segnet_tf.inference.prediction_mode.PredictionMode`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PRECISIONS = ("float32", "bfloat16")
"""Values accepted by ``precision`` options (``Segmenter``, ``segnet predict``...)."""

MIN_SCALE, MAX_SCALE = 0.125, 4.0
_SCALES_PREFIX = "scales:"


@dataclass(frozen=True)
class TestTimeAugmentation:
    """Which passes to average: each scale, and with ``flip`` also its mirror image.

    The text form (:meth:`parse`, ``str()``) is what the command line takes:
    ``none``, ``flip``, ``scales:0.75,1,1.25`` or ``flip+scales:0.75,1,1.25``.

    Args:
        flip: Also run every scale on the left-right mirror image.
        scales: Factors the input is resized by (1 is the image as it is), each in
            [0.125, 4]; duplicates are an error.
    """

    __test__ = False  # not a pytest test class, despite its name

    flip: bool = False
    scales: tuple[float, ...] = (1.0,)

    def __post_init__(self) -> None:
        if not isinstance(self.flip, bool):
            raise ValueError(f"`flip` must be True or False; got {self.flip!r}.")
        scales = tuple(self.scales) if isinstance(self.scales, list | tuple) else None
        if not scales:
            raise ValueError(f"`scales` must be a non-empty list of numbers; got {self.scales!r}.")
        for scale in scales:
            if (
                isinstance(scale, bool)
                or not isinstance(scale, int | float)
                or not math.isfinite(scale)
                or not MIN_SCALE <= scale <= MAX_SCALE
            ):
                raise ValueError(
                    f"test-time scale {scale!r} is invalid; expected a number in "
                    f"[{MIN_SCALE:g}, {MAX_SCALE:g}]."
                )
        if len(set(scales)) != len(scales):
            raise ValueError(f"test-time scales {list(scales)} repeat a value; list each once.")
        object.__setattr__(self, "scales", tuple(float(s) for s in scales))

    @property
    def passes(self) -> int:
        """Forward passes per image (the compute relative to no augmentation)."""
        return len(self.scales) * (2 if self.flip else 1)

    @property
    def is_identity(self) -> bool:
        """True when the only pass is the image as it is."""
        return not self.flip and self.scales == (1.0,)

    def __str__(self) -> str:
        parts = ["flip"] if self.flip else []
        if self.scales != (1.0,):
            parts.append(_SCALES_PREFIX + ",".join(f"{s:g}" for s in self.scales))
        return "+".join(parts) or "none"

    @classmethod
    def parse(cls, spec: str | TestTimeAugmentation | None) -> TestTimeAugmentation:
        """Read the text form; None, ``""`` and ``none`` mean no augmentation.

        Args:
            spec: E.g. ``"flip+scales:0.75,1,1.25"``, or an instance (returned as is).

        Raises:
            ValueError: An unknown part or a bad scale, with the expected form.
        """
        if isinstance(spec, cls):
            return spec
        if spec is None:
            return cls()
        if not isinstance(spec, str):
            raise ValueError(f"test-time augmentation must be a string; got {spec!r}.")
        expected = "expected 'none', 'flip', 'scales:S1,S2,...' or 'flip+scales:S1,S2,...'"
        text = spec.strip().lower()
        if text in ("", "none"):
            return cls()
        flip, scales = False, (1.0,)
        for part in text.split("+"):
            part = part.strip()
            if part == "flip" and not flip:
                flip = True
            elif part.startswith(_SCALES_PREFIX) and scales == (1.0,):
                try:
                    scales = tuple(float(s) for s in part[len(_SCALES_PREFIX) :].split(","))
                except ValueError:
                    raise ValueError(
                        f"test-time augmentation {spec!r}: {part!r} holds a non-number; {expected}."
                    ) from None
            else:
                raise ValueError(f"test-time augmentation {spec!r} is invalid; {expected}.")
        return cls(flip=flip, scales=scales)


def monte_carlo_conflict(mc_samples: int | None, tta: TestTimeAugmentation) -> str | None:
    """Why ``mc_samples`` and ``tta`` make no one prediction mode, or None when they do.

    Both average over passes: both at once would multiply the passes, and the
    Monte-Carlo variance is defined over dropout samples of one input, not over
    augmented inputs.

    Args:
        mc_samples: Monte-Carlo dropout passes; None for none.
        tta: The test-time augmentation (its identity for none).
    """
    if mc_samples is not None and not tta.is_identity:
        return (
            f"choose Monte-Carlo sampling (mc_samples={mc_samples}) or test-time "
            f"augmentation (tta={str(tta)!r}), not both."
        )
    return None
