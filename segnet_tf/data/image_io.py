"""Robust reading and validation of image and mask files.

Everything that can go wrong with a user's files is detected here, in Python, so the
error is a :class:`DataError` (a ``ValueError``) naming the file, what was wrong and
what was expected. Files are only ever opened for reading.

Conversions applied to *images* (where the intent is obvious):

- grayscale (``L``, ``LA``, ``1``) -> RGB by repeating the channel;
- RGBA / LA / palette with transparency -> RGB by dropping alpha;
- palette (``P``), CMYK, YCbCr -> RGB through Pillow;
- 16-bit (``I;16``) and 32-bit integer grayscale -> 8-bit by keeping the top 8 bits
  (``value >> 8`` for 16-bit), then RGB.

*Masks* are never colour-converted implicitly: a single-channel mask (8-bit, palette
indices or 16-bit with values < 256) holds class ids; an RGB(A) mask is mapped through
the class list's colours (only when a palette is given).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from PIL import Image

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm")


class DataError(ValueError):
    """A data file is missing, unreadable or inconsistent; the message names it."""


# Modes that TensorFlow's own decoders turn into exactly what Pillow would give; files
# in these modes can be decoded in the tf.data graph instead of through Python.
_TF_IMAGE_FORMATS = {"PNG", "JPEG", "BMP"}


@dataclass(frozen=True)
class FileInfo:
    """Header information of an image file.

    Args:
        path: File path.
        format: Pillow format name (``"PNG"``, ``"JPEG"``...).
        mode: Pillow mode (``"RGB"``, ``"L"``, ``"P"``, ``"I;16"``...).
        size: ``(height, width)``.
    """

    path: str
    format: str
    mode: str
    size: tuple[int, int]

    @property
    def tf_decodable_image(self) -> bool:
        """True if TensorFlow decodes the file to the same RGB as Pillow.

        That is ``tf.io.decode_image(channels=3)``, except for JPEG files:
        ``tf.io.decode_jpeg(dct_method="INTEGER_ACCURATE")``, Pillow's DCT.
        """
        return self.format in _TF_IMAGE_FORMATS and self.mode == "RGB"

    @property
    def tf_decodable_ids(self) -> bool:
        """True if ``tf.io.decode_png(channels=1)`` gives the class ids unchanged.

        Palette PNGs are excluded on purpose: TensorFlow expands the palette to
        colours, whereas for a mask the palette *index* is the class id.
        """
        return self.format == "PNG" and self.mode == "L"

    @property
    def tf_decodable_rgb(self) -> bool:
        """True if ``tf.io.decode_png(channels=3)`` gives the mask colours unchanged."""
        return self.format == "PNG" and self.mode == "RGB"


def _too_large(path: str, width: int, height: int) -> DataError:
    limit = Image.MAX_IMAGE_PIXELS
    return DataError(
        f"{path}: image of {width}x{height} pixels ({width * height / 1e6:.0f} MP) is larger "
        f"than Pillow's decompression-bomb limit of {limit} pixels ({limit / 1e6:.0f} MP); "
        "expected a smaller image (for a file you trust, raise PIL.Image.MAX_IMAGE_PIXELS)."
    )


def _check_pixel_limit(path: str, im: Image.Image) -> None:
    """Refuse images above ``PIL.Image.MAX_IMAGE_PIXELS``.

    Pillow itself only warns between one and two times that limit (and raises
    ``DecompressionBombError`` above); decoding such a file would take gigabytes of
    memory, so this package treats both alike.
    """
    limit = Image.MAX_IMAGE_PIXELS
    width, height = im.size
    if limit is not None and width * height > limit:
        raise _too_large(path, width, height)


def _open(path: str) -> Image.Image:
    """``Image.open`` with every failure turned into a DataError naming the file."""
    try:
        im = Image.open(path)
    except FileNotFoundError as err:
        raise DataError(f"{path}: file not found.") from err
    except IsADirectoryError as err:
        raise DataError(f"{path}: is a folder; expected an image file.") from err
    except Image.DecompressionBombError as err:
        raise DataError(
            f"{path}: image larger than Pillow's decompression-bomb limit ({err}); expected a "
            "smaller image (for a file you trust, raise PIL.Image.MAX_IMAGE_PIXELS)."
        ) from err
    except Exception as err:
        # Pillow's format plugins raise many types (OSError, SyntaxError, struct.error,
        # EOFError, IndexError...) on malformed headers: all mean "not a readable image".
        raise DataError(
            f"{path}: not a readable image ({type(err).__name__}: {err}); expected a "
            "PNG/JPEG/BMP image file."
        ) from err
    try:
        _check_pixel_limit(path, im)
    except DataError:
        im.close()
        raise
    return im


def probe(path: str) -> FileInfo:
    """Read an image header (cheap) and check that the file is an image.

    Args:
        path: File to inspect.

    Returns:
        The file's :class:`FileInfo`.

    Raises:
        DataError: If the file is missing, not an image, has an empty size or more
            pixels than ``PIL.Image.MAX_IMAGE_PIXELS``.
    """
    with _open(path) as im:
        info = FileInfo(path=str(path), format=im.format or "", mode=im.mode, size=im.size[::-1])
    if info.size[0] == 0 or info.size[1] == 0:
        raise DataError(f"{path}: image has an empty size {info.size}.")
    return info


def _load(path: str) -> Image.Image:
    """Open and fully decode ``path``, turning truncation/corruption into DataError."""
    im = _open(path)
    try:
        im.load()  # Forces full decoding, so truncated files fail here.
    except Exception as err:  # Decoders raise OSError, SyntaxError, ValueError...
        im.close()
        raise DataError(
            f"{path}: corrupt or unreadable image ({type(err).__name__}: {err}); expected a "
            "valid PNG/JPEG/BMP file."
        ) from err
    if im.size[0] == 0 or im.size[1] == 0:
        raise DataError(f"{path}: image has an empty size {im.size[::-1]}.")
    return im


def _high_bits_to_uint8(arr: np.ndarray, path: str) -> np.ndarray:
    """Convert a >8-bit integer array to uint8 keeping the most significant bits."""
    if arr.dtype == np.uint8:
        return arr
    if arr.min(initial=0) < 0:
        raise DataError(f"{path}: image has negative pixel values; expected unsigned pixels.")
    # 16-bit data is stored in I;16 (uint16) or I (int32) modes; in both, values up to
    # 65535 are the norm, so scale from 16 bits unless the data needs more.
    bits = 16 if arr.max(initial=0) <= 0xFFFF else 32
    return (arr.astype(np.uint64) >> (bits - 8)).astype(np.uint8)


def read_image(path: str) -> np.ndarray:
    """Read an image file as RGB uint8, converting grayscale/RGBA/16-bit images.

    Args:
        path: Image file.

    Returns:
        uint8 array ``[H, W, 3]``.

    Raises:
        DataError: If the file is unreadable or in an unsupported mode.
    """
    im = _load(path)
    mode = im.mode
    if mode == "RGB":
        return np.asarray(im, dtype=np.uint8)
    if mode in ("I;16", "I;16B", "I;16L", "I", "I;16N"):
        gray = _high_bits_to_uint8(np.asarray(im), path)
        return np.repeat(gray[..., None], 3, axis=-1)
    if mode == "F":
        raise DataError(
            f"{path}: floating-point image (mode F) is not supported; expected 8/16-bit RGB or "
            "grayscale."
        )
    try:
        # L, LA, 1, P, PA, RGBA, CMYK, YCbCr...: Pillow's conversion drops alpha and
        # expands palettes/grayscale, which is the obvious intent for a photo.
        return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (ValueError, OSError) as err:
        raise DataError(f"{path}: cannot convert image mode {mode!r} to RGB ({err}).") from err


def read_mask_ids(path: str) -> np.ndarray:
    """Read a single-channel class-id mask.

    Args:
        path: Mask file (8-bit grayscale, palette-indexed, or 16-bit with ids < 256).

    Returns:
        uint8 array ``[H, W]`` of raw ids (range is checked by the caller).

    Raises:
        DataError: If the mask is unreadable, multi-channel or has ids > 255.
    """
    im = _load(path)
    mode = im.mode
    if mode in ("L", "P", "1"):
        # For palette masks the palette index is the class id: do not convert.
        return np.asarray(im, dtype=np.uint8)
    if mode in ("I;16", "I;16B", "I;16L", "I", "I;16N"):
        arr = np.asarray(im)
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise DataError(
                f"{path}: 16/32-bit mask holds ids up to {int(arr.max())}; expected class ids "
                "in 0..255."
            )
        return arr.astype(np.uint8)
    raise DataError(
        f"{path}: mask has mode {mode!r} ({len(im.getbands())} channels) but class-id masks are "
        "expected (single-channel 8-bit PNG). For colour-coded masks pass mask_format='rgb' "
        "with a ClassList."
    )


def read_mask_rgb(path: str, palette: np.ndarray) -> np.ndarray:
    """Read a colour-coded mask and map its colours to class ids.

    Args:
        path: RGB (or RGBA, alpha ignored) mask file.
        palette: uint8 ``[num_labels, 3]``, colour of each id.

    Returns:
        uint8 array ``[H, W]`` of class ids.

    Raises:
        DataError: If the file is unreadable or contains a colour not in the palette.
    """
    im = _load(path)
    if im.mode not in ("RGB", "RGBA", "P", "PA"):
        raise DataError(
            f"{path}: colour-coded mask expected (RGB), got mode {im.mode!r}. For class-id "
            "masks use mask_format='ids'."
        )
    rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    return colors_to_ids(rgb, palette, path)


def _pack(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.int32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def colors_to_ids(rgb: np.ndarray, palette: np.ndarray, path: str = "<array>") -> np.ndarray:
    """Map an RGB mask to ids through ``palette``.

    Args:
        rgb: uint8 ``[H, W, 3]``.
        palette: uint8 ``[num_labels, 3]``.
        path: Name used in error messages.

    Returns:
        uint8 ``[H, W]`` ids.

    Raises:
        DataError: If a colour is not in the palette.
    """
    codes = _pack(rgb)
    keys = _pack(np.asarray(palette, dtype=np.uint8))
    order = np.argsort(keys)
    sorted_keys = keys[order]
    pos = np.clip(np.searchsorted(sorted_keys, codes), 0, len(keys) - 1)
    found = sorted_keys[pos] == codes
    if not found.all():
        y, x = np.argwhere(~found)[0]
        bad = tuple(int(v) for v in rgb[y, x])
        raise DataError(
            f"{path}: colour {bad} at pixel (row {y}, col {x}) is not in the class palette "
            f"{[tuple(int(v) for v in c) for c in palette]}; expected only palette colours."
        )
    return order[pos].astype(np.uint8)


def check_ids(ids: np.ndarray, num_classes: int, void_id: int | None, path: str) -> None:
    """Check that every id is a real class or void.

    Args:
        ids: Integer mask.
        num_classes: Number of real classes (ids ``0..num_classes-1``).
        void_id: Allowed void id or ``None``.
        path: Name used in error messages.

    Raises:
        DataError: Naming the first invalid id, its count and position.
    """
    bad = ids >= num_classes
    if void_id is not None:
        bad &= ids != void_id
    if bad.any():
        y, x = np.argwhere(bad)[0]
        values = sorted(int(v) for v in np.unique(ids[bad]))
        allowed = f"0..{num_classes - 1}" + (f" or void {void_id}" if void_id is not None else "")
        raise DataError(
            f"{path}: label id(s) {values} ({int(bad.sum())} pixels, first at row {y}, col {x}) "
            f"outside the class range; expected {allowed}."
        )


def list_images(folder: str, extensions: tuple[str, ...] = IMAGE_EXTENSIONS) -> list[str]:
    """List image files (by extension) directly inside ``folder``, sorted.

    Args:
        folder: Directory to list.
        extensions: Lower-case file endings to keep; callers that also take other
            media (``segnet predict``'s videos) add theirs.

    Raises:
        DataError: If the folder does not exist.
    """
    if not os.path.isdir(folder):
        raise DataError(f"{folder}: folder not found; expected a directory of image files.")
    names = [
        n
        for n in os.listdir(folder)
        if not n.startswith(".")
        and os.path.isfile(os.path.join(folder, n))
        and n.lower().endswith(extensions)
    ]
    return [os.path.join(folder, n) for n in sorted(names)]
