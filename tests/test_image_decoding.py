"""One decoder, one size rule, one mask file: the same answers on every path.

Each file below goes through the four ways an image reaches a model: the decoder then
Segmenter, Segmenter.predict(path), `segnet predict` (in-process) and the demo's upload
preparation. All four must accept or refuse it alike, with the same message.
"""

import contextlib
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from segnet_tf.cli import main
from segnet_tf.demo.images import decode_image_bytes, prepare_image
from segnet_tf.demo.results import segment
from segnet_tf.errors import DataError
from segnet_tf.image_decoding import decode_image
from segnet_tf.inference import ResizePolicy, Segmenter
from segnet_tf.visualize import mask_png_bytes

pytestmark = pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")


def encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def photo(height=24, width=32) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    return np.stack([yy * 9 % 256, xx * 7 % 256, (yy + xx) * 3 % 256], -1).astype(np.uint8)


def png_header(width: int, height: int) -> bytes:
    """A PNG declaring ``width`` x ``height`` pixels, with almost no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def _cases() -> dict[str, tuple[str, bytes, str | None]]:
    """name -> (file name, contents, a word the refusal must contain or None if accepted)."""
    whole = encode(Image.fromarray(photo(40, 40)), "PNG")
    rgba = np.concatenate([photo(), np.full((24, 32, 1), 7, np.uint8)], -1)
    deep = (np.arange(24 * 32, dtype=np.uint16).reshape(24, 32) * 85).astype(np.uint16)
    return {
        "empty": ("empty.png", b"", "empty"),
        "text": ("notes.png", b"this is a text file, not a picture", "not an image"),
        "truncated": ("cut.png", whole[: len(whole) // 2], "truncated"),
        "one_pixel": ("dot.png", encode(Image.new("RGB", (1, 1)), "PNG"), "at least 8×8"),
        "bomb": ("bomb.png", png_header(30000, 30000), "too large"),
        "rgba": ("rgba.png", encode(Image.fromarray(rgba), "PNG"), None),
        "16bit": ("deep.png", encode(Image.fromarray(deep), "PNG"), None),
        "gray": ("gray.png", encode(Image.fromarray(photo()[..., 0]), "PNG"), None),
        "cmyk": ("print.jpg", encode(Image.fromarray(photo()).convert("CMYK"), "JPEG"), None),
        "webp": ("photo.webp", encode(Image.fromarray(photo()), "WEBP"), None),
    }


CASES = _cases()


@pytest.fixture(scope="module")
def setup(tiny_model_path, tmp_path_factory):
    """The files in a folder, a Segmenter, and one `segnet predict` run over the folder."""
    folder = tmp_path_factory.mktemp("inputs")
    for file_name, data, _ in CASES.values():
        (folder / file_name).write_bytes(data)
    out = tmp_path_factory.mktemp("out")
    capture = io.StringIO()
    with contextlib.redirect_stdout(capture), contextlib.redirect_stderr(io.StringIO()):
        code = main(["predict", str(tiny_model_path), str(folder), "--out", str(out)])
    failures = {}
    for line in capture.getvalue().splitlines():
        for file_name, _, _ in CASES.values():
            prefix = f"  {folder / file_name}: "
            if line.startswith(prefix):
                failures[file_name] = line[len(prefix) :]
    return folder, out, Segmenter.from_file(tiny_model_path), failures, code


def outcome(run, name: str):
    """``("ok", mask)`` or ``("refused", message with the file's name as <file>)``."""
    try:
        return "ok", run()
    except DataError as err:
        return "refused", str(err).replace(name, "<file>")


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_path_accepts_or_refuses_alike(setup, case):
    folder, out, segmenter, failures, code = setup
    file_name, data, refusal = CASES[case]
    path = str(folder / file_name)
    decoder = outcome(lambda: segmenter.predict(decode_image(data, file_name)).mask, file_name)
    by_path = outcome(lambda: segmenter.predict(path).mask, path)
    demo = outcome(lambda: segment(segmenter, decode_image_bytes(data, file_name)).mask, file_name)
    stem = file_name.rsplit(".", 1)[0]
    if file_name in failures:
        cli = ("refused", f"<file>: {failures[file_name]}")
    else:
        with Image.open(out / f"{stem}_mask.png") as mask:
            cli = ("ok", np.asarray(mask).astype(np.int32))
    if refusal is None:
        assert [o[0] for o in (decoder, by_path, demo, cli)] == ["ok"] * 4, (decoder, by_path)
        for other in (by_path, demo, cli):
            np.testing.assert_array_equal(other[1], decoder[1])
    else:
        assert decoder[0] == "refused" and refusal in decoder[1], decoder
        assert decoder[1].startswith("<file>: ") and decoder[1].count("<file>") == 1
        assert by_path == demo == cli == decoder
    assert code == 1  # some inputs were refused, the others written


def test_the_demo_notes_are_the_decoders():
    for file_name, data, refusal in CASES.values():
        if refusal is None:
            decoded = decode_image(data, file_name)
            prepared = decode_image_bytes(data, file_name)
            assert prepared.notes == decoded.notes
            np.testing.assert_array_equal(prepared.rgb, decoded.rgb)
    notes = {case: decode_image(CASES[case][1]).notes for case in ("rgba", "16bit", "cmyk")}
    assert notes == {
        "rgba": ("transparency dropped",),
        "16bit": ("16-bit grayscale converted to 8-bit RGB",),
        "cmyk": ("CMYK converted to RGB",),
    }


def test_decoder_takes_every_kind_of_source(tmp_path):
    rgb = photo()
    data = encode(Image.fromarray(rgb), "PNG")
    path = tmp_path / "a.png"
    path.write_bytes(data)
    with open(path, "rb") as f:
        from_file_object = decode_image(f).rgb
    sources = [str(path), path, data, io.BytesIO(data), Image.open(path), rgb]
    for source in sources:
        np.testing.assert_array_equal(decode_image(source).rgb, rgb)
    np.testing.assert_array_equal(from_file_object, rgb)
    # Any non-empty size decodes: being too small to segment is Segmenter's rule.
    assert decode_image(np.zeros((1, 1, 3), np.uint8)).size == (1, 1)


def test_predict_names_the_file_once(setup):
    folder, _, _, failures, _ = setup
    for file_name, reason in failures.items():
        assert str(folder) not in reason and file_name not in reason


def test_demo_mask_download_and_predict_mask_file_are_the_same_bytes(setup):
    folder, out, segmenter, _, _ = setup
    file_name, data, _ = CASES["rgba"]
    image = decode_image_bytes(data, file_name)
    analysis = segment(segmenter, image)
    download = mask_png_bytes(analysis.mask, segmenter.classes)
    assert download == (out / "rgba_mask.png").read_bytes()
    assert download == mask_png_bytes(segmenter.predict(folder / file_name).mask, segmenter.classes)
    with Image.open(io.BytesIO(download)) as mask:
        assert mask.mode == "P"
        np.testing.assert_array_equal(np.asarray(mask), analysis.mask)


def test_demo_working_size_is_segmenters_policy(setup):
    segmenter = setup[2]
    assert segmenter.resize_policy == ResizePolicy(max_pixels=segmenter.max_pixels)
    big = photo(600, 2400)
    image = prepare_image(big, "wide")
    assert image.working_size == (256, 1024)
    np.testing.assert_array_equal(image.rgb, ResizePolicy(max_side=1024).apply(big))
    # Shrinking averages whole pixels (BOX): a 0/200 checkerboard halved is all 100.
    board = (np.indices((8, 8)).sum(0) % 2 * 200).astype(np.uint8)
    halved = ResizePolicy(max_pixels=16).apply(np.repeat(board[..., None], 3, -1))
    assert halved.shape == (4, 4, 3) and (halved == 100).all()
