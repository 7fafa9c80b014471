"""Test-time augmentation: average a model's softmax over mirrored and rescaled inputs.

Each image is segmented as it is, mirrored left-right and/or resized by a few factors;
every prediction is mapped back to the image's own geometry (mirrored back, its
logits resized bilinearly to the input size) and the softmax probabilities are
averaged. Street scenes mirrored or seen a little nearer or farther are still street
scenes (training shows them so), so the passes err differently and their mean is
usually better than any one, at the cost of one forward pass each.

Probabilities, not logits, are averaged: each pass then casts a bounded vote, so one
pass at a scale the network handles badly (larger logits, overconfident) cannot
outvote the others, and the mean is itself a distribution that ``Segmenter`` can blend
across tiles and return.

Everything is TensorFlow ops with dynamic sizes, so :func:`tta_probabilities` runs
eagerly on a batch as well as inside a ``tf.function`` (``Segmenter``) or a SavedModel
signature (``segnet export --tta``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import tensorflow as tf

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


NO_TTA = TestTimeAugmentation()

CAMVID_VAL_CHOICE = TestTimeAugmentation(flip=True, scales=(0.75, 1.0, 1.25, 1.5))
"""The setting of best mean IoU on CamVid's validation split for the bundled
``camvid_segnet`` preset (README, "CamVid results"); the demo's toggle uses it."""


def _resize(x: tf.Tensor, size: tf.Tensor) -> tf.Tensor:
    # Bilinear without antialiasing, as the training pipeline and the models' own
    # input scaling resize, so that a rescaled image looks like the training data.
    return tf.cast(tf.image.resize(x, size, method="bilinear"), x.dtype)


def scaled_size(size: tf.Tensor, scale: float) -> tf.Tensor:
    """``round(size * scale)``, at least 1: the ``(height, width)`` a scale resizes to.

    Args:
        size: int32 ``[2]`` height and width.
        scale: The factor.
    """
    scaled = tf.round(tf.cast(size, tf.float32) * scale)
    return tf.maximum(tf.cast(scaled, tf.int32), 1)


def tta_probabilities(model, images, tta: TestTimeAugmentation | str | None = None) -> tf.Tensor:
    """The softmax of ``model`` on ``images``, averaged over the passes of ``tta``.

    Args:
        model: Maps float32 RGB ``[B, H, W, 3]`` (0..255) to logits ``[B, H, W, C]``
            for any ``H, W`` (every ``segnet_tf`` model).
        images: A batch ``[B, H, W, 3]``, any real dtype (cast to float32).
        tta: A :class:`TestTimeAugmentation` or its text form; None is no
            augmentation (one plain pass).

    Returns:
        float32 probabilities ``[B, H, W, C]``.
    """
    tta = TestTimeAugmentation.parse(tta)
    images = tf.cast(images, tf.float32)
    size = tf.shape(images)[1:3]
    total = None
    for scale in tta.scales:
        scaled = images if scale == 1.0 else _resize(images, scaled_size(size, scale))
        for mirrored in (False, True) if tta.flip else (False,):
            x = tf.reverse(scaled, axis=[2]) if mirrored else scaled
            logits = tf.cast(model(x, training=False), tf.float32)
            if mirrored:
                logits = tf.reverse(logits, axis=[2])
            if scale != 1.0:
                # Logits, not probabilities, are interpolated: the usual way a
                # segmentation network's output is upsampled.
                logits = _resize(logits, size)
            probabilities = tf.nn.softmax(logits, axis=-1)
            total = probabilities if total is None else total + probabilities
    return total / float(tta.passes)
