"""Uploaded and sampled images for the demo, on the package's one path.

An upload goes page -> :func:`~segnet_tf.image_decoding.decode_image` (the decoder of
the whole package: same accepted formats, conversions and error messages as
``segnet predict``) -> the working size of a :class:`~segnet_tf.inference.ResizePolicy`
(Segmenter's rule and resampler; the demo only sets a smaller size so that pages stay
light) -> Segmenter -> drawing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from segnet_tf.errors import DataError
from segnet_tf.image_decoding import IMAGE_EXTENSIONS, decode_image
from segnet_tf.inference import ResizePolicy

IMAGE_TYPES = tuple(ext.lstrip(".") for ext in IMAGE_EXTENSIONS)
"""File extensions offered by the uploader: the package's image extensions."""
MAX_UPLOAD_MB = 50
"""Upload limit; the same value is ``server.maxUploadSize`` in the demo's .streamlit/config.toml."""
WORKING_MAX_SIDE = 1024
"""Images are downscaled so that their longer side is at most this before inference."""

ImageInputError = DataError
"""The demo's name for the package's one bad-input error (the same class)."""


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
        ImageInputError: If the image is too small to segment (ResizePolicy.check).
    """
    height, width = rgb.shape[:2]
    original_size = tuple(original_size or (height, width))
    policy = ResizePolicy(max_side=max_side)
    policy.check(*original_size, name)
    rgb = policy.apply(rgb)
    if rgb.shape[0] * rgb.shape[1] < original_size[0] * original_size[1]:
        megapixels = original_size[0] * original_size[1] / 1e6
        notes = (
            *notes,
            f"downscaled from {original_size[1]}×{original_size[0]} ({megapixels:.1f} MP) "
            f"to {rgb.shape[1]}×{rgb.shape[0]} for inference",
        )
    return InputImage(name, rgb, original_size, tuple(notes), _digest(rgb))


def decode_image_bytes(
    data: bytes, name: str, max_side: int = WORKING_MAX_SIDE, max_pixels: int | None = None
) -> InputImage:
    """Decode an uploaded file into an :class:`InputImage` at the working size.

    Conversions are those of :func:`~segnet_tf.image_decoding.decode_image`, listed in
    ``notes`` (mode, EXIF orientation, first frame), plus the downscaling.

    Args:
        data: File contents.
        name: File name, for messages.
        max_side: Longest side of the working image.
        max_pixels: Largest accepted image, in pixels; defaults to
            ``PIL.Image.MAX_IMAGE_PIXELS``, as everywhere in the package.

    Raises:
        ImageInputError: For an empty file, a file that is not an image, a truncated or
            corrupt image, an image above ``max_pixels`` or one too small to segment.
    """
    decoded = decode_image(data, name, max_pixels=max_pixels, draft_side=max_side)
    return prepare_image(decoded.rgb, name, decoded.original_size, decoded.notes, max_side)
