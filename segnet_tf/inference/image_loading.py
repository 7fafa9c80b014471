"""Turn whatever the user passes (path, PIL image, numpy array) into RGB uint8.

Files are read with :func:`segnet_tf.data.image_io.read_image`, which validates the
file and converts every common mode; PIL images and arrays follow the same rules:

- grayscale -> RGB by repeating the channel; alpha is dropped; palette and CMYK
  images are converted by Pillow;
- 16-bit images keep their top 8 bits (``value >> 8``);
- float arrays are taken on the models' 0..255 scale (not 0..1) and rounded.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from segnet_tf.data.image_io import DataError, read_image

ImageLike = str | os.PathLike | Image.Image | np.ndarray


def _pil_to_rgb(image: Image.Image) -> np.ndarray:
    # An image from ``Image.open`` is decoded lazily, here: a truncated or corrupt
    # file fails now, and is reported under its file name when it has one.
    name = getattr(image, "filename", "") or "PIL image"
    try:
        image.load()
        if image.mode == "RGB":
            return np.asarray(image, dtype=np.uint8)
        if image.mode.startswith("I") or image.mode == "F":
            # I;16, I;16B, I (32-bit), F: scaled like image_io does.
            array = np.asarray(image)
        else:
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except Exception as err:  # Pillow's decoders raise OSError, SyntaxError, ValueError...
        raise DataError(
            f"{name}: corrupt or unreadable image ({type(err).__name__}: {err}); expected a "
            "complete image."
        ) from err
    return array_to_rgb(array)


def array_to_rgb(array: np.ndarray) -> np.ndarray:
    """Convert an image array to RGB uint8 ``[H, W, 3]``.

    Args:
        array: ``[H, W]``, ``[H, W, 1]``, ``[H, W, 3]`` or ``[H, W, 4]`` (alpha dropped),
            of dtype uint8, uint16/int32 (16-bit: top 8 bits kept), bool, or float on
            the 0..255 scale.

    Raises:
        ValueError: On other shapes, negative or out-of-range values, or NaNs.
    """
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[-1] in (1, 3, 4):
        array = array[..., :3] if array.shape[-1] != 1 else array[..., 0]
    elif array.ndim != 2:
        raise ValueError(
            f"Image array has shape {array.shape}; expected [height, width], "
            "[height, width, 1], [height, width, 3] or [height, width, 4]."
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"Image array has an empty size {array.shape[:2]}.")
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all() or array.min() < 0 or array.max() > 255:
            raise ValueError(
                f"Float image has values in [{np.nanmin(array)}, {np.nanmax(array)}]; expected "
                "finite values in 0..255 (the models' scale; multiply 0..1 images by 255)."
            )
        array = np.round(array).astype(np.uint8)
    elif np.issubdtype(array.dtype, np.integer) and array.dtype != np.uint8:
        if array.min() < 0:
            raise ValueError(f"Image array of dtype {array.dtype} has negative values.")
        if array.max() > 0xFFFFFFFF:
            raise ValueError(
                f"Image array of dtype {array.dtype} has values up to {array.max()}; expected "
                "8-, 16- or 32-bit pixel values (at most 4294967295)."
            )
        # 16-bit data (uint16 or Pillow's int32 "I" mode) -> keep the top 8 bits; wider
        # data is scaled from 32 bits so that nothing wraps around.
        bits = 16 if array.max() <= 0xFFFF else 32
        array = (array.astype(np.uint64) >> (bits - 8)).astype(np.uint8)
    elif array.dtype != np.uint8:
        raise ValueError(f"Image array has dtype {array.dtype}; expected an integer or float type.")
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=-1)
    return np.ascontiguousarray(array)


def load_rgb(image: ImageLike) -> np.ndarray:
    """Load an image given as a path, a PIL image or an array, as RGB uint8.

    Args:
        image: File path, ``PIL.Image.Image`` (any mode) or numpy array
            (see :func:`array_to_rgb`).

    Returns:
        uint8 ``[H, W, 3]``.

    Raises:
        ValueError: If the file is missing or corrupt (a
            :class:`~segnet_tf.data.image_io.DataError`), or the array is not an image.
    """
    if isinstance(image, (str, os.PathLike)):
        return read_image(os.fspath(image))
    if isinstance(image, Image.Image):
        return _pil_to_rgb(image)
    if isinstance(image, np.ndarray):
        return array_to_rgb(image)
    raise ValueError(
        f"Cannot read an image from a {type(image).__name__}; expected a file path, a PIL "
        "image or a numpy array."
    )
