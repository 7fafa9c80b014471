"""Reading and validation of the image and mask files of a data set.

Images are decoded by :func:`segnet_tf.image_decoding.decode_image`, the decoder every
part of the package uses (its module docstring lists the conversions), without EXIF
rotation: masks carry no orientation, and TensorFlow's decode path ignores it too.
Errors are :class:`DataError` (a ``ValueError``) naming the file, what was wrong and
what was expected. Files are only ever opened for reading.

*Masks* are never colour-converted implicitly: a single-channel mask (8-bit, palette
indices or 16-bit with values < 256) holds class ids; an RGB(A) mask is mapped through
the class list's colours (only when a palette is given).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from PIL import Image

from segnet_tf.errors import DataError
from segnet_tf.image_decoding import IMAGE_EXTENSIONS, decode_image, load_pixels, open_image

__all__ = [
    "IMAGE_EXTENSIONS",
    "DataError",
    "FileInfo",
    "check_ids",
    "colors_to_ids",
    "list_images",
    "probe",
    "read_image",
    "read_mask_ids",
    "read_mask_rgb",
]


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
    with open_image(path) as im:
        return FileInfo(path=str(path), format=im.format or "", mode=im.mode, size=im.size[::-1])


def _load(path: str) -> Image.Image:
    """Open and fully decode ``path`` (a mask: no conversion), errors as DataError."""
    im = open_image(path)
    try:
        load_pixels(im, path)
    except DataError:
        im.close()
        raise
    return im


def read_image(path: str) -> np.ndarray:
    """Read an image file as RGB uint8, converting grayscale/RGBA/16-bit/CMYK images.

    Args:
        path: Image file.

    Returns:
        uint8 array ``[H, W, 3]``.

    Raises:
        DataError: If the file is not a usable image (see
            :mod:`segnet_tf.image_decoding`).
    """
    return decode_image(path, apply_exif=False).rgb


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
