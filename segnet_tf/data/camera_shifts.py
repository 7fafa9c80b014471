"""What another camera does to a frame: white balance, exposure, blur, JPEG, noise, size.

Two uses: :func:`random_camera_shift` draws a plausible mix of these for fitting the
out-of-domain detector (``segnet calibrate``), so that a photo from another camera
of the same kind of scene is not called out of domain; :data:`FIXED_SHIFTS` are the
named shifts at one fixed severity each that the evidence scripts report, in the
spirit of Kamann & Rother, "Benchmarking the Robustness of Semantic Segmentation
Models", CVPR 2020.

Every function takes and returns uint8 RGB ``[H, W, 3]`` NumPy arrays (NumPy and
Pillow only).
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageFilter


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def channel_gains(rgb: np.ndarray, gains) -> np.ndarray:
    """White balance: each of R, G, B multiplied by its gain."""
    return _to_uint8(rgb.astype(np.float32) * np.asarray(gains, np.float32))


def exposure(rgb: np.ndarray, factor: float) -> np.ndarray:
    """Every channel multiplied by ``factor`` (0.6: darker; 1.4: brighter)."""
    return _to_uint8(rgb.astype(np.float32) * factor)


def gamma(rgb: np.ndarray, value: float) -> np.ndarray:
    """Tone curve ``255 * (x / 255) ** value``."""
    return _to_uint8(255.0 * (rgb.astype(np.float32) / 255.0) ** value)


def saturation(rgb: np.ndarray, factor: float) -> np.ndarray:
    """Colours pushed away from (``factor`` > 1) or towards (< 1) each pixel's grey."""
    x = rgb.astype(np.float32)
    grey = x.mean(axis=-1, keepdims=True)
    return _to_uint8(grey + (x - grey) * factor)


def blur(rgb: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of standard deviation ``sigma`` pixels (a soft lens, motion, focus)."""
    return np.asarray(Image.fromarray(rgb).filter(ImageFilter.GaussianBlur(sigma)))


def jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    """Encoded as JPEG at ``quality`` (1-95) and decoded again."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=int(quality))
    return np.asarray(Image.open(buffer).convert("RGB"))


def sensor_noise(rgb: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise of ``sigma`` grey levels added to every value."""
    return _to_uint8(rgb.astype(np.float32) + rng.normal(0.0, sigma, rgb.shape))


def enlarge(rgb: np.ndarray, factor: int) -> np.ndarray:
    """Bicubic enlargement by ``factor`` (a photo of the same view at higher resolution)."""
    height, width = rgb.shape[:2]
    size = (width * factor, height * factor)
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BICUBIC))


FIXED_SHIFTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "darker x0.6": lambda rgb: exposure(rgb, 0.6),
    "brighter x1.4": lambda rgb: exposure(rgb, 1.4),
    "warm white balance": lambda rgb: channel_gains(rgb, (1.10, 1.0, 0.87)),
    "cool white balance": lambda rgb: channel_gains(rgb, (0.87, 1.0, 1.10)),
    "blur 1.5 px": lambda rgb: blur(rgb, 1.5),
    "JPEG quality 25": lambda rgb: jpeg(rgb, 25),
    "noise 8 levels": lambda rgb: sensor_noise(rgb, 8.0, np.random.default_rng(0)),
    "4x size": lambda rgb: enlarge(rgb, 4),
}
"""Named camera shifts at one fixed severity each (size last: it makes large images)."""


def random_camera_shift(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random mix of the shifts above, at up to about the fixed severities.

    Per-channel gains 0.85-1.15, exposure 0.6-1.4, gamma 0.8-1.25, saturation 0.7-1.3,
    noise up to 8 levels, then blur (half the time, 0.3-1.5 px) and JPEG (half the
    time, quality 25-95).
    """
    x = rgb.astype(np.float32) * rng.uniform(0.85, 1.15, 3) * rng.uniform(0.6, 1.4)
    x = 255.0 * (np.clip(x, 0, 255) / 255.0) ** rng.uniform(0.8, 1.25)
    grey = x.mean(axis=-1, keepdims=True)
    x = grey + (x - grey) * rng.uniform(0.7, 1.3)
    x = _to_uint8(x + rng.normal(0.0, rng.uniform(0.0, 8.0), x.shape))
    if rng.random() < 0.5:
        x = blur(x, rng.uniform(0.3, 1.5))
    if rng.random() < 0.5:
        x = jpeg(x, int(rng.integers(25, 96)))
    return x
