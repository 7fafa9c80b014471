"""One decoder for every image that enters segnet_tf: files, uploads, PIL images, arrays.

Training data (:mod:`segnet_tf.data`), :class:`~segnet_tf.inference.Segmenter`,
``segnet predict`` and the demo all read images through :func:`decode_image`, so the
same file gets the same answer everywhere. It returns RGB uint8 pixels plus notes
saying what was converted, and raises one error type, :class:`DataError`, whose
message names the source once and says what is expected.

Rules, for every source:

- empty files, files Pillow cannot identify, truncated or corrupt files, and images
  above the pixel limit (``PIL.Image.MAX_IMAGE_PIXELS`` unless ``max_pixels`` is
  given: Pillow only warns between one and two times its limit, but decoding would
  take gigabytes) are refused;
- grayscale (``L``, ``1``) -> RGB by repeating the channel; alpha (``RGBA``, ``LA``,
  ``PA``) is dropped; palette, CMYK and YCbCr images are converted by Pillow;
- 16-bit and 32-bit integer images keep their top 8 bits (``value >> 8`` for 16-bit);
  float images (mode ``F``, float arrays) are taken on the models' 0..255 scale;
- the EXIF orientation is applied (``apply_exif=False`` for training images, whose
  masks carry no orientation and whose TensorFlow decode path ignores it);
- animated files give their first frame.

Any non-empty size is decoded; whether an image is large enough to *segment* is
:class:`~segnet_tf.inference.ResizePolicy`'s rule, since training data is resized by
the input pipeline anyway.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from segnet_tf.errors import DataError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm")
"""File endings listed as images in folders and offered by the demo's uploader."""
FORMAT_NAMES = "PNG, JPEG, WebP, BMP, GIF, TIFF or PPM"
"""The formats of :data:`IMAGE_EXTENSIONS`, as messages name them."""

ImageSource = str | os.PathLike | bytes | BinaryIO | Image.Image | np.ndarray

_EXIF_ORIENTATION = 0x0112
_INTEGER_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


@dataclass(frozen=True)
class DecodedImage:
    """An image as the models see it, and what was done to get there.

    Attributes:
        rgb: uint8 ``[H, W, 3]``.
        name: The file name (or ``"image array"``...), used in messages.
        notes: Human-readable conversions applied, e.g. ``"transparency dropped"``.
        original_size: ``(height, width)`` of the source, before any EXIF rotation or
            reduced JPEG decoding.
        format: Pillow's format name (``"PNG"``, ``"JPEG"``...); empty for arrays.
    """

    rgb: np.ndarray
    name: str
    notes: tuple[str, ...] = ()
    original_size: tuple[int, int] = (0, 0)
    format: str = ""

    @property
    def size(self) -> tuple[int, int]:
        """``(height, width)`` of :attr:`rgb`."""
        return int(self.rgb.shape[0]), int(self.rgb.shape[1])


def source_name(source: object, name: str | None = None) -> str:
    """The name messages use for ``source``: ``name``, else a path or a description."""
    if name:
        return name
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    if isinstance(source, Image.Image):
        return getattr(source, "filename", "") or "PIL image"
    if isinstance(source, np.ndarray):
        return "image array"
    return getattr(source, "name", None) or "image data"


def _detail(err: BaseException, name: str) -> str:
    """``Type: message`` of a Pillow error, without the file name it may repeat."""
    text = str(err).replace(f"'{name}'", "").replace(name, "").strip(" :")
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _megapixels(pixels: int) -> str:
    return f"{pixels:,} pixels ({pixels / 1e6:.1f} MP)"


def too_large_error(
    name: str, pixels: int, limit: int, size: tuple[int, int] | None = None
) -> DataError:
    """The message for an image above the pixel limit (``size`` is ``(width, height)``)."""
    what = f"{size[0]}x{size[1]} pixels ({pixels / 1e6:.1f} MP)" if size else _megapixels(pixels)
    bomb = ""
    if limit == Image.MAX_IMAGE_PIXELS:
        bomb = (
            " (Pillow's decompression-bomb limit; for a file you trust, raise "
            "PIL.Image.MAX_IMAGE_PIXELS)"
        )
    return DataError(
        f"{name}: image of {what} is too large; segnet_tf accepts up to {_megapixels(limit)}"
        f"{bomb}. Expected a smaller image: downscale it first."
    )


def open_image(
    source: str | os.PathLike | bytes | BinaryIO, name: str | None = None, max_pixels=None
) -> Image.Image:
    """``Image.open`` (header only) with every failure turned into a :class:`DataError`.

    Args:
        source: File path, file contents or a binary file object.
        name: Name used in messages; defaults to the path.
        max_pixels: Largest accepted image; defaults to ``PIL.Image.MAX_IMAGE_PIXELS``
            (read at call time; None there means no limit).

    Raises:
        DataError: For a missing or empty file, a folder, a file that is not an image
            and an image above the pixel limit.
    """
    name = source_name(source, name)
    expected = f"expected an image file ({FORMAT_NAMES})."
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if os.path.isdir(path):
            raise DataError(f"{name}: is a folder; {expected}")
        if not os.path.exists(path):
            raise DataError(f"{name}: file not found; {expected}")
        if os.path.getsize(path) == 0:
            raise DataError(f"{name}: the file is empty (0 bytes); {expected}")
        opened = path
    elif isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise DataError(f"{name}: the file is empty (0 bytes); {expected}")
        opened = io.BytesIO(bytes(source))
    else:
        opened = source
    try:
        image = Image.open(opened)
    except UnidentifiedImageError as err:
        raise DataError(
            f"{name}: not an image, or not a readable image format; {expected}"
        ) from err
    except Image.DecompressionBombError as err:
        found = re.search(r"\((\d+) pixels\)", str(err))
        pixels = int(found.group(1)) if found else 0
        limit = Image.MAX_IMAGE_PIXELS or 0
        raise too_large_error(name, pixels, limit) from err
    except OSError as err:
        raise DataError(f"{name}: cannot read the file ({_detail(err, name)}).") from err
    except Exception as err:
        # Pillow's format plugins raise many types (SyntaxError, struct.error, EOFError,
        # ValueError...) on malformed headers: all mean "not a readable image".
        raise DataError(
            f"{name}: not an image, or not a readable image format ({_detail(err, name)}); "
            f"{expected}"
        ) from err
    limit = Image.MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    width, height = image.size
    if limit is not None and width * height > limit:
        image.close()
        raise too_large_error(name, width * height, limit, (width, height))
    if width == 0 or height == 0:
        image.close()
        raise DataError(f"{name}: image has an empty size {height}x{width}; {expected}")
    return image


def load_pixels(image: Image.Image, name: str) -> None:
    """Decode the pixels of an opened image, so that truncated or corrupt files fail now.

    Raises:
        DataError: If the pixel data is truncated or corrupt.
    """
    try:
        image.load()
    except Exception as err:  # Decoders raise OSError, SyntaxError, ValueError...
        raise DataError(
            f"{name}: the image is truncated, corrupt or unreadable ({_detail(err, name)}); "
            "expected a complete image file."
        ) from err


def _high_bits_to_uint8(array: np.ndarray, name: str) -> tuple[np.ndarray, int]:
    """A >8-bit unsigned integer array as uint8 keeping its top bits, and its bit depth."""
    if array.size and array.min() < 0:
        raise DataError(f"{name}: image has negative pixel values; expected unsigned pixels.")
    if array.size and array.max() > 0xFFFFFFFF:
        raise DataError(
            f"{name}: image of dtype {array.dtype} has values up to {array.max()}; expected "
            "8-, 16- or 32-bit pixel values (at most 4294967295)."
        )
    # 16-bit data is stored as uint16, or int32 in Pillow's "I" mode; values up to
    # 65535 are the norm, so scale from 16 bits unless the data needs more.
    bits = 16 if array.max(initial=0) <= 0xFFFF else 32
    return (array.astype(np.uint64) >> (bits - 8)).astype(np.uint8), bits


def _array_to_rgb(array: np.ndarray, name: str) -> tuple[np.ndarray, list[str]]:
    notes: list[str] = []
    if array.ndim == 3 and array.shape[-1] in (1, 3, 4):
        if array.shape[-1] == 4:
            notes.append("transparency dropped")
        array = array[..., :3] if array.shape[-1] != 1 else array[..., 0]
    elif array.ndim != 2:
        raise DataError(
            f"{name}: image array has shape {array.shape}; expected [height, width], "
            "[height, width, 1], [height, width, 3] or [height, width, 4]."
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise DataError(f"{name}: image array has an empty size {array.shape[:2]}.")
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif np.issubdtype(array.dtype, np.floating):
        finite = np.isfinite(array)
        if not finite.all() or array.min() < 0 or array.max() > 255:
            # The range of the finite values only: NumPy's nanmin warns on an all-NaN array.
            values = array[finite]
            bad = int(array.size - np.count_nonzero(finite))
            found = f"values in [{values.min()}, {values.max()}]" if values.size else ""
            if bad:
                found = (f"finite {found} and " if found else "") + f"{bad:,} NaN/inf values"
            raise DataError(
                f"{name}: float image has {found}; expected finite values in 0..255 (the "
                "models' scale; multiply 0..1 images by 255)."
            )
        array = np.round(array).astype(np.uint8)
    elif np.issubdtype(array.dtype, np.integer) and array.dtype != np.uint8:
        array, bits = _high_bits_to_uint8(array, name)
        notes.append(f"{bits}-bit image converted to 8-bit")
    elif array.dtype != np.uint8:
        raise DataError(
            f"{name}: image array has dtype {array.dtype}; expected an integer or float type."
        )
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=-1)
        if not any("bit" in note for note in notes):
            notes.append("grayscale converted to RGB")
    return np.ascontiguousarray(array), notes


def _mode_note(mode: str) -> str | None:
    """Describe the conversion of a Pillow mode to 8-bit RGB, or None if there is none."""
    if mode == "RGB":
        return None
    if mode.startswith("I;16") or mode == "I":
        return f"{'16' if mode.startswith('I;16') else '32'}-bit grayscale converted to 8-bit RGB"
    if mode == "F":
        return "floating-point grayscale rounded to 8-bit RGB"
    if mode == "CMYK":
        return "CMYK converted to RGB"
    if mode in _ALPHA_MODES:
        return "transparency dropped"
    if mode in ("L", "1"):
        return "grayscale converted to RGB"
    if mode == "P":
        return "palette image converted to RGB"
    return f"{mode} converted to RGB"


def _pil_to_rgb(image: Image.Image, name: str, apply_exif: bool) -> DecodedImage:
    original_size = (image.height, image.width)
    image_format = image.format or ""
    notes: list[str] = []
    if getattr(image, "n_frames", 1) > 1:
        notes.append(f"first of {image.n_frames} frames used")
    load_pixels(image, name)
    mode = image.mode
    if apply_exif and image.getexif().get(_EXIF_ORIENTATION, 1) not in (0, 1):
        image = ImageOps.exif_transpose(image)
        notes.append("rotated as its EXIF orientation says")
    mode_note = _mode_note(mode)
    if mode in _INTEGER_MODES or mode == "F":
        rgb, _ = _array_to_rgb(np.asarray(image), name)
    elif mode == "RGB":
        rgb = np.asarray(image, dtype=np.uint8)
    else:
        try:
            # L, LA, 1, P, PA, RGBA, CMYK, YCbCr...: Pillow's conversion drops alpha and
            # expands palettes/grayscale, the obvious intent for a photo.
            rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
        except (ValueError, OSError) as err:
            raise DataError(
                f"{name}: cannot convert image mode {mode!r} to RGB ({_detail(err, name)}); "
                "expected an RGB, grayscale, palette, CMYK or 16-bit image."
            ) from err
    if mode_note:
        notes.append(mode_note)
    return DecodedImage(rgb, name, tuple(notes), original_size, image_format)


def decode_image(
    source: ImageSource | DecodedImage,
    name: str | None = None,
    *,
    apply_exif: bool = True,
    max_pixels: int | None = None,
    draft_side: int | None = None,
) -> DecodedImage:
    """Decode an image from a path, bytes, a file object, a PIL image or an array.

    Args:
        source: File path, file contents, binary file object, ``PIL.Image.Image`` (any
            mode), numpy array (``[H, W]`` or ``[H, W, 1|3|4]``; uint8, 16/32-bit,
            bool or float on the 0..255 scale), or an already decoded image (returned
            as is).
        name: Name used in messages; defaults to the path, or a description.
        apply_exif: Whether to rotate as the EXIF orientation says.
        max_pixels: Largest accepted image; defaults to ``PIL.Image.MAX_IMAGE_PIXELS``.
        draft_side: For JPEG files whose longer side exceeds twice this, let the JPEG
            decoder shrink by 2, 4 or 8 while decoding (much faster on big photos);
            ``original_size`` keeps the file's size.

    Returns:
        A :class:`DecodedImage`.

    Raises:
        DataError: Naming the source, for anything that is not a usable image.
    """
    if isinstance(source, DecodedImage):
        return source
    label = source_name(source, name)
    if isinstance(source, np.ndarray):
        rgb, notes = _array_to_rgb(source, label)
        return DecodedImage(rgb, label, tuple(notes), rgb.shape[:2], "")
    if isinstance(source, Image.Image):
        return _pil_to_rgb(source, label, apply_exif)
    if not isinstance(source, (str, os.PathLike, bytes, bytearray, memoryview)) and not hasattr(
        source, "read"
    ):
        raise DataError(
            f"Cannot read an image from a {type(source).__name__}; expected a file path, "
            "bytes, a file object, a PIL image or a numpy array."
        )
    image = open_image(source, label, max_pixels)
    try:
        size = (image.height, image.width)
        if draft_side and image.format == "JPEG" and max(size) > 2 * draft_side:
            image.draft("RGB", (draft_side, draft_side))
        decoded = _pil_to_rgb(image, label, apply_exif)
    finally:
        image.close()
    return DecodedImage(decoded.rgb, label, decoded.notes, size, decoded.format)


def load_rgb(image: ImageSource) -> np.ndarray:
    """The RGB uint8 ``[H, W, 3]`` pixels of :func:`decode_image`, for any source.

    Args:
        image: See :func:`decode_image`.

    Raises:
        DataError: (a ``ValueError``) naming the source, if it is not a usable image.
    """
    return decode_image(image).rgb


def array_to_rgb(array: np.ndarray) -> np.ndarray:
    """Convert an image array to RGB uint8 ``[H, W, 3]`` (see :func:`decode_image`).

    Args:
        array: ``[H, W]``, ``[H, W, 1]``, ``[H, W, 3]`` or ``[H, W, 4]`` (alpha dropped),
            of dtype uint8, uint16/int32 (16-bit: top 8 bits kept), bool, or float on
            the 0..255 scale.

    Raises:
        DataError: On other shapes, negative or out-of-range values, or NaNs.
    """
    return decode_image(np.asarray(array)).rgb
