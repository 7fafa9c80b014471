"""SavedModel signatures refuse malformed requests with a clear InvalidArgument, and
the loaded model keeps serving afterwards."""

import io
import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import segnet_tf
from segnet_tf.export import export_saved_model

IMAGES_FORM = "`images` must be uint8 [batch, height, width, 3] with every dimension >= 1"


@pytest.fixture(scope="module")
def tiny_model():
    keras.utils.set_random_seed(0)
    return segnet_tf.get_model("segnet_basic", 3, width=1 / 16)


@pytest.fixture(scope="module")
def signatures(tiny_model, tmp_path_factory):
    """The two signatures of a tiny exported model (exported once for the module)."""
    version_dir = export_saved_model(tiny_model, tmp_path_factory.mktemp("export"), name="tiny")
    loaded = tf.saved_model.load(str(version_dir))
    return loaded.signatures["serving_default"], loaded.signatures["serve_image_bytes"]


def encode(rgb, fmt="PNG", **params):
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format=fmt, **params)
    return buffer.getvalue()


def pixels(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@pytest.mark.parametrize(
    "shape",
    [
        (24, 32, 3),  # No batch dimension: used to give class_ids of shape (1, 24, 3).
        (1, 1, 24, 32, 3),  # Rank 5: used to give (1, 1, 24).
        (24, 3),
        (),
        (1, 24, 32, 4),
        (1, 24, 32, 1),
        (1, 0, 32, 3),
        (1, 24, 0, 3),
        (0, 24, 32, 3),
    ],
)
def test_images_of_another_shape_are_refused(signatures, shape):
    serve, _ = signatures
    valid = pixels((1, 24, 32, 3))
    before = serve(images=tf.constant(valid))["probabilities"].numpy()
    with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(IMAGES_FORM)) as info:
        serve(images=tf.zeros(shape, tf.uint8))
    got = " ".join(str(v) for v in shape)
    assert f"got shape] [{got}]" in str(info.value)
    # The model keeps serving, and gives the same answer as before.
    after = serve(images=tf.constant(valid))
    assert after["class_ids"].shape == (1, 24, 32)
    np.testing.assert_array_equal(after["probabilities"].numpy(), before)


def test_images_of_another_dtype_are_refused(signatures):
    serve, _ = signatures
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected to be a uint8 tensor"):
        serve(images=tf.zeros((1, 24, 32, 3), tf.float32))


@pytest.mark.parametrize(
    "request_bytes, needle",
    [
        (lambda png: tf.constant(png), "`image_bytes` must be a vector [batch]"),
        (lambda png: tf.constant([[png]]), "`image_bytes` must be a vector [batch]"),
        (lambda png: tf.constant([], tf.string), "`image_bytes` is empty"),
        (lambda png: tf.constant([png, b""]), "`image_bytes` holds an empty string"),
        (lambda png: tf.constant([b"not an image"]), "Unknown image file format"),
        (
            lambda png: tf.constant([png, encode(pixels((9, 8, 3)))]),
            "must have the same size",
        ),
    ],
)
def test_image_bytes_of_another_form_are_refused(signatures, request_bytes, needle):
    serve, serve_bytes = signatures
    png = encode(pixels((8, 9, 3)))
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        serve_bytes(image_bytes=request_bytes(png))
    assert needle in str(info.value)
    out = serve_bytes(image_bytes=tf.constant([png, png]))
    assert out["class_ids"].shape == (2, 8, 9)


def test_image_bytes_decode_the_pixels_pillow_decodes(signatures):
    serve, serve_bytes = signatures
    # Quality 95 without chroma subsampling: TensorFlow's default fast DCT is
    # furthest from Pillow's there.
    jpeg = encode(pixels((40, 56, 3), seed=3), "JPEG", quality=95, subsampling=0)
    png = encode(pixels((40, 56, 3), seed=4))
    for data in (jpeg, png):
        decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        from_bytes = serve_bytes(image_bytes=tf.constant([data]))["probabilities"].numpy()
        from_pixels = serve(images=tf.constant(decoded[None]))["probabilities"].numpy()
        np.testing.assert_array_equal(from_bytes, from_pixels)


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"version": 0}, "`version` must be a positive int"),
        ({"version": "2"}, "`version` must be a positive int"),
        ({"pad_to_multiple": 0}, "`pad_to_multiple` must be >= 1"),
        ({"name": "a\\b"}, "Invalid model name"),
    ],
)
def test_export_checks_its_arguments_before_creating_anything(tiny_model, tmp_path, kwargs, needle):
    with pytest.raises(ValueError, match=re.escape(needle)):
        export_saved_model(tiny_model, tmp_path / "out", **{"name": "tiny", **kwargs})
    assert not (tmp_path / "out").exists()


# --- Decompression bombs: sizes are read from the headers, before decoding. ---

LIMIT = Image.MAX_IMAGE_PIXELS  # 89,478,485: Segmenter's and the data loaders' limit
ABOVE = (9500, 9500)  # 90.25 MP, just above the limit


def png_declaring(height, width, rows=1):
    """A grayscale PNG whose header says ``height x width`` but that holds ``rows`` rows.

    Cheap to build and refused before decoding; a server that decoded it first would
    allocate the declared size (and then fail on the missing rows)."""
    import struct
    import zlib

    def chunk(kind, body):
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * ((width + 1) * rows)))
    return b"\x89PNG\r\n\x1a\n" + data + chunk(b"IEND", b"")


def jpeg_declaring(height, width):
    """A small JPEG with its frame header (SOF0) patched to say ``height x width``."""
    import struct

    data = bytearray(encode(pixels((16, 16, 3)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def gif_declaring(height, width):
    import struct

    data = bytearray(encode(pixels((16, 16, 3)), "GIF"))
    data[6:10] = struct.pack("<HH", width, height)
    return bytes(data)


def bmp_declaring(height, width):
    import struct

    data = bytearray(encode(pixels((16, 16, 3)), "BMP"))
    data[18:26] = struct.pack("<ii", width, -height)  # negative: rows stored top-down
    return bytes(data)


def webp_declaring(height, width, **params):
    import struct

    data = bytearray(encode(pixels((16, 16, 3)), "WEBP", **params))
    if data[12:16] == b"VP8X":
        data[24:30] = struct.pack("<I", width - 1)[:3] + struct.pack("<I", height - 1)[:3]
    elif data[12:16] == b"VP8L":
        bits = struct.unpack("<I", data[21:25])[0] & ~(2**28 - 1)
        data[21:25] = struct.pack("<I", bits | (height - 1) << 14 | (width - 1))
    else:
        data[26:30] = struct.pack("<HH", width, height)
    return bytes(data)


@pytest.mark.parametrize(
    "fmt, params",
    [("PNG", {}), ("JPEG", {}), ("GIF", {}), ("BMP", {}), ("WEBP", {"lossless": True}),
     ("WEBP", {"lossless": False}), ("WEBP", {"icc_profile": b"icc" * 40})],
)  # fmt: skip
def test_declared_size_is_the_header_size_of_every_format(fmt, params):
    from segnet_tf.export.image_header import declared_size

    data = encode(pixels((37, 53, 3)), fmt, **params)
    if "icc_profile" in params:
        assert data[12:16] == b"VP8X"  # The extended layout.
    assert declared_size(tf.constant(data)).numpy().tolist() == [37, 53]
    assert declared_size(tf.constant(b"not an image")).numpy().tolist() == [0, 0]


@pytest.mark.parametrize(
    "bomb",
    [
        lambda: png_declaring(*ABOVE),
        lambda: png_declaring(30000, 30000),  # Once refused only by a decoder overflow.
        lambda: jpeg_declaring(*ABOVE),
        lambda: gif_declaring(65535, 65535),
        lambda: bmp_declaring(*ABOVE),
        lambda: webp_declaring(*ABOVE, lossless=True),
        lambda: webp_declaring(*ABOVE, lossless=False),
        lambda: webp_declaring(*ABOVE, icc_profile=b"icc" * 40),
    ],
    ids=["png", "png-30000", "jpeg", "gif", "bmp", "webp-lossless", "webp-lossy", "webp-extended"],
)
def test_image_bytes_above_the_pixel_limit_are_refused_before_decoding(signatures, bomb):
    _, serve_bytes = signatures
    small = encode(pixels((8, 9, 3)))
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        serve_bytes(image_bytes=tf.constant([small, bomb()]))
    message = str(info.value)
    assert f"above the serving limit of {LIMIT:,} pixels" in message
    assert "nothing was decoded" in message
    # The server answers the next request.
    assert serve_bytes(image_bytes=tf.constant([small]))["class_ids"].shape == (1, 8, 9)


def test_a_real_all_black_png_bomb_is_refused_at_once(signatures):
    # 10000 x 10000 black pixels compress to a few hundred kilobytes; decoded, they
    # took the served model past 6 GB.
    _, serve_bytes = signatures
    bomb = png_declaring(10000, 10000, rows=10000)
    assert len(bomb) < 400_000
    with pytest.raises(tf.errors.InvalidArgumentError, match="above the serving limit"):
        serve_bytes(image_bytes=tf.constant([bomb]))


def test_image_bytes_at_the_limit_are_decoded():
    # The limit is the exported one: an export under a lower limit refuses one pixel more.
    from segnet_tf.export.image_header import checked_image_sizes

    data = tf.constant([encode(pixels((20, 30, 3))), encode(pixels((20, 30, 3)), "JPEG")])
    tf.debugging.assert_equal(checked_image_sizes(data, max_pixels=600), data)
    with pytest.raises(tf.errors.InvalidArgumentError, match="limit of 599 pixels"):
        checked_image_sizes(data, max_pixels=599)
