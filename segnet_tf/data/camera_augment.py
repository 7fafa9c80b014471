"""Camera-robust augmentation: random camera shifts as TensorFlow ops of the training map.

What another phone or another street does to a frame, drawn per training example:
white balance (per-channel gains), exposure, a tone curve (gamma), saturation, sensor
noise, a soft lens (Gaussian blur) and JPEG compression, each applied with its own
probability. The ranges are those of the NumPy shifts in
:mod:`segnet_tf.data.camera_shifts` (``random_camera_shift``, which the out-of-domain
detector's calibration and ``benchmarks/photos.py`` use), so the model trains on the
shifts it is measured against; contrast is not repeated here because the pipeline's
colour jitter already draws it (0.7-1.3) for every example. Training on corrupted
copies is the remedy studied by Kamann & Rother, "Benchmarking the Robustness of
Semantic Segmentation Models", CVPR 2020.

Every draw is stateless, from the example's seed, so the augmented stream is a
deterministic function of the run's seed (which exact resume relies on) whatever the
parallelism. JPEG goes through ``tf.image.adjust_jpeg_quality``: encoding and decoding
are deterministic for a given image and quality, and the quality is drawn here with a
stateless op (``tf.image.random_jpeg_quality`` would use a stateful generator).

Severities are in the pixels of the training images: with ``--input-scale 0.5`` a
blur of 1.5 px there is 3 px at full resolution, so the training shifts cover, rather
than match, the full-resolution ones the benchmarks apply.
"""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf

# Ranges of segnet_tf.data.camera_shifts.random_camera_shift.
GAIN_RANGE = (0.85, 1.15)
EXPOSURE_RANGE = (0.6, 1.4)
GAMMA_RANGE = (0.8, 1.25)
SATURATION_RANGE = (0.7, 1.3)
NOISE_SIGMA_MAX = 8.0
BLUR_SIGMA_RANGE = (0.3, 1.5)
JPEG_QUALITY_RANGE = (25, 95)
# Each shift applied to this share of the examples: 1 - 0.5**4 * 0.7**3, about 98%
# of the examples get at least one shift, and any one shift leaves most examples as
# the camera took them.
PROBABILITY = {
    "gains": 0.5,
    "exposure": 0.5,
    "gamma": 0.5,
    "saturation": 0.5,
    "noise": 0.3,
    "blur": 0.3,
    "jpeg": 0.3,
}
# Radius of the blur kernel: 3 sigma at the largest sigma (11 taps).
BLUR_RADIUS = 5


class CameraShift(NamedTuple):
    """The parameters of one example's shift (a shift not drawn has its identity).

    Attributes:
        gains: float32 ``[3]``, R, G, B multipliers (1 when not drawn).
        exposure: float32 scalar multiplier (1).
        gamma: float32 scalar tone-curve exponent (1).
        saturation: float32 scalar (1).
        noise_sigma: float32 scalar, grey levels (0).
        blur_sigma: float32 scalar, pixels (0).
        jpeg_quality: int32 scalar in 25-95 (0 when not drawn).
    """

    gains: tf.Tensor
    exposure: tf.Tensor
    gamma: tf.Tensor
    saturation: tf.Tensor
    noise_sigma: tf.Tensor
    blur_sigma: tf.Tensor
    jpeg_quality: tf.Tensor


def _seed(seed: tf.Tensor, index: int) -> tf.Tensor:
    # Folded-in seeds are independent of the seed + k offsets the geometric and
    # colour-jitter draws of the same example use.
    return tf.random.experimental.stateless_fold_in(seed, 1_000 + index)


def _maybe(seed: tf.Tensor, index: int, name: str, value: tf.Tensor, identity) -> tf.Tensor:
    """``value`` for the share ``PROBABILITY[name]`` of the seeds, else ``identity``."""
    drawn = tf.random.stateless_uniform([], _seed(seed, index)) < PROBABILITY[name]
    return tf.where(drawn, value, tf.cast(identity, value.dtype))


def draw_camera_shift(seed: tf.Tensor) -> CameraShift:
    """Draw one example's camera shift.

    Args:
        seed: int32/int64 ``[2]`` stateless seed of the example.

    Returns:
        A :class:`CameraShift`.
    """
    seed = tf.cast(seed, tf.int64)

    def uniform(index, shape, bounds, dtype=tf.float32):
        return tf.random.stateless_uniform(
            shape, _seed(seed, index), bounds[0], bounds[1], dtype=dtype
        )

    return CameraShift(
        gains=_maybe(seed, 0, "gains", uniform(1, [3], GAIN_RANGE), 1.0),
        exposure=_maybe(seed, 2, "exposure", uniform(3, [], EXPOSURE_RANGE), 1.0),
        gamma=_maybe(seed, 4, "gamma", uniform(5, [], GAMMA_RANGE), 1.0),
        saturation=_maybe(seed, 6, "saturation", uniform(7, [], SATURATION_RANGE), 1.0),
        noise_sigma=_maybe(seed, 8, "noise", uniform(9, [], (0.0, NOISE_SIGMA_MAX)), 0.0),
        blur_sigma=_maybe(seed, 10, "blur", uniform(11, [], BLUR_SIGMA_RANGE), 0.0),
        # maxval is exclusive for integers.
        jpeg_quality=_maybe(
            seed,
            12,
            "jpeg",
            uniform(13, [], (JPEG_QUALITY_RANGE[0], JPEG_QUALITY_RANGE[1] + 1), tf.int32),
            0,
        ),
    )


def gaussian_blur(image: tf.Tensor, sigma: tf.Tensor) -> tf.Tensor:
    """Gaussian blur of ``sigma`` pixels: two depthwise 1-D convolutions, edges repeated.

    Args:
        image: float32 ``[H, W, C]``.
        sigma: float32 scalar > 0, at most about ``BLUR_RADIUS / 3``.

    Returns:
        float32 ``[H, W, C]``.
    """
    taps = tf.range(-BLUR_RADIUS, BLUR_RADIUS + 1, dtype=tf.float32)
    kernel = tf.exp(-0.5 * tf.square(taps / sigma))
    kernel /= tf.reduce_sum(kernel)
    channels = tf.shape(image)[-1]
    r = BLUR_RADIUS
    # Edge pixels repeated (zero padding would darken a frame's border; mirroring
    # needs sides longer than the radius, which tiny training crops may not have).
    x = tf.concat([tf.repeat(image[:1], r, 0), image, tf.repeat(image[-1:], r, 0)], 0)
    x = tf.concat([tf.repeat(x[:, :1], r, 1), x, tf.repeat(x[:, -1:], r, 1)], 1)[None]
    rows = tf.tile(tf.reshape(kernel, [-1, 1, 1, 1]), [1, 1, channels, 1])
    cols = tf.tile(tf.reshape(kernel, [1, -1, 1, 1]), [1, 1, channels, 1])
    x = tf.nn.depthwise_conv2d(x, rows, [1, 1, 1, 1], "VALID")
    x = tf.nn.depthwise_conv2d(x, cols, [1, 1, 1, 1], "VALID")
    return x[0]


def jpeg(image: tf.Tensor, quality: tf.Tensor) -> tf.Tensor:
    """Encoded as JPEG at ``quality`` (1-100) and decoded again.

    Args:
        image: float32 ``[H, W, 3]`` in [0, 255].
        quality: int32 scalar.

    Returns:
        float32 ``[H, W, 3]`` of whole grey levels.
    """
    pixels = tf.cast(tf.round(tf.clip_by_value(image, 0.0, 255.0)), tf.uint8)
    return tf.cast(tf.image.adjust_jpeg_quality(pixels, quality), tf.float32)


def apply_camera_shift(image: tf.Tensor, shift: CameraShift, seed: tf.Tensor) -> tf.Tensor:
    """Apply ``shift`` in the order of ``camera_shifts.random_camera_shift``.

    Gains and exposure, gamma, saturation, noise, then blur and JPEG (skipped, at no
    cost, when not drawn).

    Args:
        image: float32 ``[H, W, 3]`` in [0, 255].
        shift: From :func:`draw_camera_shift`.
        seed: The example's seed (draws the noise).

    Returns:
        float32 ``[H, W, 3]`` in [0, 255].
    """
    seed = tf.cast(seed, tf.int64)
    # Every shift not drawn is skipped (tf.cond), not applied as its identity: most
    # examples draw only some of them, and each costs a pass over the image.
    x = tf.clip_by_value(image * (shift.gains * shift.exposure), 0.0, 255.0)
    x = tf.cond(shift.gamma != 1.0, lambda: _gamma(x, shift.gamma), lambda: x)
    x = tf.cond(shift.saturation != 1.0, lambda: _saturation(x, shift.saturation), lambda: x)
    x = tf.cond(
        shift.noise_sigma > 0,
        lambda: x + shift.noise_sigma * tf.random.stateless_normal(tf.shape(x), _seed(seed, 14)),
        lambda: x,
    )
    x = tf.clip_by_value(x, 0.0, 255.0)
    x = tf.cond(shift.blur_sigma > 0, lambda: gaussian_blur(x, shift.blur_sigma), lambda: x)
    x = tf.cond(shift.jpeg_quality > 0, lambda: jpeg(x, shift.jpeg_quality), lambda: x)
    # The blur's weights sum to 1 only up to rounding.
    return tf.ensure_shape(tf.clip_by_value(x, 0.0, 255.0), image.shape)


def _gamma(x: tf.Tensor, value: tf.Tensor) -> tf.Tensor:
    # exp(g log(x)) rather than pow: TensorFlow's CPU pow is scalar code, exp and log
    # are vectorised (0.55 against 2.0 ms of CPU for a 180x240x3 image). log(0) = -inf gives
    # exp(-inf) = 0, as pow does.
    return 255.0 * tf.exp(value * tf.math.log(x / 255.0))


def _saturation(x: tf.Tensor, factor: tf.Tensor) -> tf.Tensor:
    grey = tf.reduce_mean(x, axis=-1, keepdims=True)
    return tf.clip_by_value(grey + (x - grey) * factor, 0.0, 255.0)


def random_camera_shift(image: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """One example's random camera shift (:func:`draw_camera_shift` then apply it).

    Args:
        image: float32 ``[H, W, 3]`` in [0, 255].
        seed: int32/int64 ``[2]`` stateless seed of the example.

    Returns:
        float32 ``[H, W, 3]`` in [0, 255].
    """
    return apply_camera_shift(image, draw_camera_shift(seed), seed)
