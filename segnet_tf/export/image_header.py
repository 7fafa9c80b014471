"""The size an encoded image declares, read from its header inside a TensorFlow graph.

A few hundred kilobytes of PNG can declare 10000x10000 pixels: decoding it takes
300 MB for the pixels alone and gigabytes in the network, so one such request to
``serve_image_bytes`` could take down a serving host. :func:`checked_image_sizes`
reads the width and height each image's header declares, before anything is
decoded, and fails the request with ``InvalidArgument`` naming the limit when one is
above it. The limit is the one :func:`segnet_tf.image_decoding.decode_image` (so
``Segmenter`` and the data loaders) applies: Pillow's decompression-bomb limit,
``PIL.Image.MAX_IMAGE_PIXELS`` (89,478,485 pixels unless changed), read when the
model is exported.

Only TensorFlow ops, so a SavedModel keeps loading with ``tensorflow`` alone. The
header layouts are those of the formats the signature decodes:

- PNG: the IHDR chunk, big-endian width and height at bytes 16 and 20;
- JPEG: the frame header (SOF), through ``tf.image.extract_jpeg_shape``;
- GIF: the logical screen, little-endian 16-bit width and height at bytes 6 and 8
  (TensorFlow decodes every frame at that size);
- BMP: the info header, little-endian 32-bit width and height at bytes 18 and 22
  (a negative height means top-down rows);
- WebP: the ``VP8X`` canvas (24-bit sizes minus one), else the ``VP8L`` (14-bit sizes
  minus one) or ``VP8`` (14-bit sizes) bitstream header.

Anything else declares no size here and is left to the decoder, which refuses it.
"""

from __future__ import annotations

import tensorflow as tf
from PIL import Image

_HEAD_BYTES = 32
# Pillow's default decompression-bomb limit, for when PIL.Image.MAX_IMAGE_PIXELS is None.
_PILLOW_DEFAULT_LIMIT = 1024 * 1024 * 1024 // 4 // 3


def pixel_limit() -> int:
    """The largest image, in pixels, that segnet_tf decodes (Pillow's bomb limit)."""
    return int(Image.MAX_IMAGE_PIXELS or _PILLOW_DEFAULT_LIMIT)


def _head(data: tf.Tensor) -> tf.Tensor:
    """The first 32 bytes of ``data`` as int64 values, zero-padded if it is shorter."""
    padded = tf.strings.join([tf.strings.substr(data, 0, _HEAD_BYTES), b"\0" * _HEAD_BYTES])
    raw = tf.io.decode_raw(tf.strings.substr(padded, 0, _HEAD_BYTES), tf.uint8)
    return tf.cast(raw, tf.int64)


def _starts_with(head: tf.Tensor, magic: bytes, at: int = 0) -> tf.Tensor:
    return tf.reduce_all(tf.equal(head[at : at + len(magic)], tf.constant(list(magic), tf.int64)))


def _unsigned(head: tf.Tensor, at: int, size: int, big_endian: bool = False) -> tf.Tensor:
    """An unsigned integer of ``size`` bytes at byte ``at``."""
    order = range(size) if big_endian else reversed(range(size))
    value = tf.constant(0, tf.int64)
    for i in order:
        value = value * 256 + head[at + i]
    return value


def _signed32(head: tf.Tensor, at: int) -> tf.Tensor:
    value = _unsigned(head, at, 4)
    return tf.where(value >= 2**31, value - 2**32, value)


def _webp_size(head: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """(height, width) of a WebP file's first chunk."""
    # VP8X: 24-bit canvas width - 1 and height - 1 at bytes 24 and 27.
    vp8x = (_unsigned(head, 27, 3) + 1, _unsigned(head, 24, 3) + 1)
    # VP8L: after the signature byte 0x2f, 14 bits of width - 1, then of height - 1.
    bits = _unsigned(head, 21, 4)
    vp8l = ((bits // 2**14) % 2**14 + 1, bits % 2**14 + 1)
    # VP8 (lossy): 14-bit width and height (2 bits of scaling above) at bytes 26 and 28.
    vp8 = (_unsigned(head, 28, 2) % 2**14, _unsigned(head, 26, 2) % 2**14)
    is_vp8x, is_vp8l = _starts_with(head, b"VP8X", 12), _starts_with(head, b"VP8L", 12)
    return tuple(
        tf.where(is_vp8x, x, tf.where(is_vp8l, lossless, lossy))
        for x, lossless, lossy in zip(vp8x, vp8l, vp8, strict=True)
    )


def declared_size(data: tf.Tensor) -> tf.Tensor:
    """int64 ``[height, width]`` that one encoded image's header declares.

    ``[0, 0]`` for a format this module does not read (the decoder refuses those).
    A JPEG whose header cannot be read fails with TensorFlow's own ``InvalidArgument``.

    Args:
        data: A scalar string tensor, the encoded image.
    """
    head = _head(data)
    png = (_unsigned(head, 20, 4, big_endian=True), _unsigned(head, 16, 4, big_endian=True))
    gif = (_unsigned(head, 8, 2), _unsigned(head, 6, 2))
    bmp = (tf.abs(_signed32(head, 22)), tf.abs(_signed32(head, 18)))
    webp = _webp_size(head)
    zero = tf.constant(0, tf.int64)
    choices = [
        (_starts_with(head, b"\x89PNG\r\n\x1a\n"), png),
        (_starts_with(head, b"GIF8"), gif),
        (_starts_with(head, b"BM"), bmp),
        (tf.logical_and(_starts_with(head, b"RIFF"), _starts_with(head, b"WEBP", 8)), webp),
    ]
    height, width = zero, zero
    for matches, (h, w) in reversed(choices):
        height, width = tf.where(matches, h, height), tf.where(matches, w, width)
    size = tf.stack([height, width])
    return tf.cond(
        tf.io.is_jpeg(data),
        lambda: tf.cast(tf.image.extract_jpeg_shape(data)[:2], tf.int64),
        lambda: size,
    )


def checked_image_sizes(image_bytes: tf.Tensor, max_pixels: int | None = None) -> tf.Tensor:
    """``image_bytes`` after checking that no image declares more than ``max_pixels``.

    Nothing is decoded: the sizes come from the headers (see the module doc). An
    image above the limit fails the whole request with ``InvalidArgument`` naming the
    limit, the image's index in the batch and its declared height and width.

    Args:
        image_bytes: A vector of encoded images.
        max_pixels: The limit; defaults to :func:`pixel_limit`.
    """
    limit = pixel_limit() if max_pixels is None else int(max_pixels)
    sizes = tf.map_fn(declared_size, image_bytes, fn_output_signature=tf.TensorSpec([2], tf.int64))
    pixels = sizes[:, 0] * sizes[:, 1]
    largest = tf.argmax(pixels, output_type=tf.int32)
    within = tf.debugging.Assert(
        tf.reduce_all(pixels <= limit),
        [
            f"`image_bytes` holds an image above the serving limit of {limit:,} pixels "
            f"({limit / 1e6:.1f} MP, Pillow's decompression-bomb limit, as in segnet_tf's "
            "own decoder); nothing was decoded. Downscale it before sending. The largest "
            "image's index in the batch and its declared height and width:",
            largest,
            sizes[largest],
        ],
        summarize=8,
    )
    with tf.control_dependencies([within]):
        return tf.identity(image_bytes)
