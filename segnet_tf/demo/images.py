"""Uploaded and sampled images for the demo: decoding with clear errors, the working size."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from segnet_tf.inference import load_rgb

IMAGE_TYPES = ("jpg", "jpeg", "png", "webp", "bmp")
"""File extensions offered by the uploader."""
MAX_UPLOAD_MB = 50
"""Upload limit; the same value is ``server.maxUploadSize`` in the demo's .streamlit/config.toml."""
MAX_DECODE_PIXELS = 80_000_000
"""Larger images are refused before decoding (they would need gigabytes of memory)."""
MIN_SIDE = 8
"""Smallest accepted width and height, in pixels."""
WORKING_MAX_SIDE = 1024
"""Images are downscaled so that their longer side is at most this before inference."""
_EXIF_ORIENTATION = 0x0112


class ImageInputError(ValueError):
    """An uploaded file cannot be used as an image; the message says why and what to do."""


@dataclass(frozen=True)
class InputImage:
    """An image ready for the model.

    Attributes:
        name: File or sample name.
        rgb: uint8 ``[H, W, 3]`` at the working size.
        original_size: ``(height, width)`` of the file.
        notes: Human-readable conversions applied (mode, orientation, downscaling).
        digest: SHA-256 of the pixels, a cache key.
    """

    name: str
    rgb: np.ndarray
    original_size: tuple[int, int]
    notes: tuple[str, ...] = ()
    digest: str = ""

    @property
    def working_size(self) -> tuple[int, int]:
        """``(height, width)`` the model sees."""
        return int(self.rgb.shape[0]), int(self.rgb.shape[1])


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


def _mode_note(mode: str) -> str | None:
    """Describe the conversion of a Pillow mode to 8-bit RGB, or None if there is none."""
    if mode == "RGB":
        return None
    if mode.startswith("I;16") or mode == "I":
        return f"{'16' if mode.startswith('I;16') else '32'}-bit grayscale converted to 8-bit RGB"
    if mode == "CMYK":
        return "CMYK converted to RGB"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        return "transparency dropped"
    if mode in ("L", "1"):
        return "grayscale converted to RGB"
    if mode == "P":
        return "palette image converted to RGB"
    return f"{mode} converted to RGB"


def prepare_image(
    rgb: np.ndarray,
    name: str,
    original_size: tuple[int, int] | None = None,
    notes: tuple[str, ...] = (),
    max_side: int = WORKING_MAX_SIDE,
) -> InputImage:
    """Check the size of an RGB image and downscale it to the working size.

    Args:
        rgb: uint8 ``[H, W, 3]``.
        name: Name shown in messages.
        original_size: Size of the file when ``rgb`` was already shrunk while decoding.
        notes: Conversions already applied.
        max_side: Longest side after downscaling.

    Raises:
        ImageInputError: If the image is smaller than :data:`MIN_SIDE` pixels.
    """
    height, width = rgb.shape[:2]
    original_size = original_size or (height, width)
    if min(original_size) < MIN_SIDE:
        raise ImageInputError(
            f"{name}: the image is only {original_size[1]}×{original_size[0]} pixels; the "
            f"demo needs at least {MIN_SIDE}×{MIN_SIDE} pixels to segment anything."
        )
    if max(height, width) > max_side:
        scale = max_side / max(height, width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        rgb = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS), np.uint8)
    if rgb.shape[:2] != tuple(original_size):
        megapixels = original_size[0] * original_size[1] / 1e6
        notes = (
            *notes,
            f"downscaled from {original_size[1]}×{original_size[0]} ({megapixels:.1f} MP) "
            f"to {rgb.shape[1]}×{rgb.shape[0]} for inference",
        )
    return InputImage(name, rgb, tuple(original_size), tuple(notes), _digest(rgb))


def decode_image_bytes(
    data: bytes, name: str, max_side: int = WORKING_MAX_SIDE, max_pixels: int = MAX_DECODE_PIXELS
) -> InputImage:
    """Decode an uploaded file into an :class:`InputImage`.

    Obvious conversions are applied and listed in ``notes``: CMYK, grayscale, palette
    and 16-bit images become 8-bit RGB, alpha is dropped, EXIF orientation is applied,
    animated files give their first frame, and large images are downscaled.

    Args:
        data: File contents.
        name: File name, for messages.
        max_side: Longest side of the working image.
        max_pixels: Largest accepted image, in pixels.

    Raises:
        ImageInputError: For an empty file, a file that is not an image, a truncated or
            corrupt image, an image above ``max_pixels`` or below :data:`MIN_SIDE`.
    """
    if not data:
        raise ImageInputError(f"{name}: the file is empty (0 bytes); expected an image file.")
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as err:
        raise ImageInputError(
            f"{name}: not an image (or a format Pillow cannot read); expected a JPEG, PNG, "
            "WebP or BMP file."
        ) from err
    except Image.DecompressionBombError as err:
        raise ImageInputError(
            f"{name}: the image is too large ({err}); the demo accepts up to "
            f"{max_pixels / 1e6:.0f} MP. Please downscale it first."
        ) from err
    except Exception as err:  # Pillow's plugins raise OSError, SyntaxError, struct.error...
        raise ImageInputError(f"{name}: unreadable image header ({err}).") from err
    width, height = image.size
    if width * height > max_pixels:
        raise ImageInputError(
            f"{name}: the image is {width}×{height} ({width * height / 1e6:.0f} MP); the demo "
            f"accepts up to {max_pixels / 1e6:.0f} MP. Please downscale it first."
        )
    notes: list[str] = []
    if getattr(image, "n_frames", 1) > 1:
        notes.append(f"first of {image.n_frames} frames used")
    if image.format == "JPEG" and max(width, height) > 2 * max_side:
        # Let the JPEG decoder shrink by 2/4/8 while decoding: much faster on big photos.
        image.draft("RGB", (max_side, max_side))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as err:
        what = "truncated" if "truncated" in str(err).lower() else "corrupt or unreadable"
        raise ImageInputError(
            f"{name}: the image is {what} ({err}); please upload the complete file."
        ) from err
    mode_note = _mode_note(image.mode)
    if mode_note:
        notes.append(mode_note)
    oriented = image
    if image.getexif().get(_EXIF_ORIENTATION, 1) not in (0, 1):
        oriented = ImageOps.exif_transpose(image)
        notes.append("rotated as its EXIF orientation says")
    try:
        rgb = load_rgb(oriented)
    except ValueError as err:
        raise ImageInputError(f"{name}: cannot convert the image to RGB ({err}).") from err
    return prepare_image(rgb, name, (height, width), tuple(notes), max_side)
