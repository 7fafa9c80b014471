"""Bad image files on every decode path (folder data sets, `segnet train`, Segmenter,
load_rgb, demo uploads) give the documented DataError/ValueError naming the file."""

import os
import struct
import zlib

import keras
import numpy as np
import pytest
import tensorflow as tf
from data_fixtures import TINY_CLASSES, make_folder, rand_ids, rand_image, write
from PIL import Image

import segnet_tf
from segnet_tf.cli import main
from segnet_tf.data import DataError, dataset_class_list, folder_dataset, read_image
from segnet_tf.demo import images as demo_images
from segnet_tf.inference import Segmenter, load_rgb

# Pillow only warns between MAX_IMAGE_PIXELS and twice that; decoding would still
# allocate gigabytes, which these tests check never happens.
pytestmark = pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")


def png_header(width: int, height: int) -> bytes:
    """A PNG declaring ``width`` x ``height`` RGB pixels, with almost no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 16)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


BOMBS = {
    "error": (30000, 30000),  # Above 2 * MAX_IMAGE_PIXELS: DecompressionBombError.
    "warning": (10000, 10000),  # Between 1x and 2x: Pillow only warns.
}


@pytest.fixture(scope="module")
def tiny_model():
    keras.utils.set_random_seed(0)
    return segnet_tf.get_model("segnet_basic", 4, width=1 / 16)


@pytest.fixture(params=sorted(BOMBS))
def bomb(request, tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header(*BOMBS[request.param]))
    return str(path)


def test_folder_dataset_refuses_a_decompression_bomb(tmp_path, bomb):
    images, masks = make_folder(str(tmp_path / "data"), n=2)
    os.replace(bomb, os.path.join(images, "im1.png"))
    with pytest.raises(DataError, match="decompression-bomb limit") as info:
        folder_dataset(images, masks, TINY_CLASSES)
    assert os.path.join(images, "im1.png") in str(info.value)


def test_segmenter_and_load_rgb_refuse_a_decompression_bomb(tiny_model, bomb):
    for load in (load_rgb, read_image, Segmenter(tiny_model).predict):
        with pytest.raises(ValueError, match="decompression-bomb limit") as info:
            load(bomb)
        assert bomb in str(info.value) and isinstance(info.value, DataError)


def test_pixel_limit_follows_pillow_setting(tmp_path, monkeypatch):
    path = write(str(tmp_path / "photo.png"), rand_image(40, 40))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 1600 pixels: Pillow warns.
    with pytest.raises(DataError, match="40x40 pixels") as info:
        read_image(path)
    assert path in str(info.value)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # Pillow's way to lift it.
    np.testing.assert_array_equal(read_image(path), rand_image(40, 40))


def test_demo_upload_refuses_a_decompression_bomb():
    with pytest.raises(demo_images.ImageInputError, match="too large") as info:
        demo_images.decode_image_bytes(png_header(30000, 30000), "huge.png")
    assert "huge.png" in str(info.value)


def _folder_source(root):
    for images, masks in (("train", "trainannot"), ("val", "valannot")):
        for i in range(2):
            write(os.path.join(root, images, f"f{i}.png"), rand_image(32, 32, i))
            write(os.path.join(root, masks, f"f{i}.png"), rand_ids(32, 32, i))
    (root / "classes.json").write_text(TINY_CLASSES.to_json())


def test_segnet_train_reports_a_decompression_bomb_in_one_line(tmp_path, capsys):
    data = tmp_path / "data"
    _folder_source(data)
    (data / "train" / "f1.png").write_bytes(png_header(30000, 30000))
    run_dir = tmp_path / "run"
    code = main(
        ["train", "--data", "folder", "--data-dir", str(data), "--image-size", "32", "32"]
        + ["--width", "0.0625", "--batch-size", "1", "--epochs", "1", "--run-dir", str(run_dir)]
    )
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert str(data / "train" / "f1.png") in err and "decompression-bomb limit" in err
    assert not run_dir.exists()


def test_malformed_header_raising_value_error_is_a_data_error(tmp_path):
    # Pillow's PPM plugin raises ValueError (not OSError) for this header.
    images, masks = make_folder(str(tmp_path), n=1)
    bad = os.path.join(images, "im0.ppm")
    os.replace(os.path.join(images, "im0.png"), os.path.join(tmp_path, "moved.png"))
    with open(bad, "wb") as f:
        f.write(b"P6 12 16 0\n" + bytes(12 * 16 * 3))
    with pytest.raises(DataError, match="not a readable image") as info:
        folder_dataset(images, masks, TINY_CLASSES)
    assert bad in str(info.value)


@pytest.mark.parametrize("folder", ["images", "masks"])
def test_classes_json_inside_the_data_folders(tmp_path, folder):
    images, masks = make_folder(str(tmp_path), n=2)
    (tmp_path / folder / "classes.json").write_text(TINY_CLASSES.to_json())
    ds = folder_dataset(images, masks)
    assert dataset_class_list(ds) == TINY_CLASSES
    assert len(list(ds)) == 2


def test_class_list_file_given_by_path_may_sit_among_the_masks(tmp_path):
    images, masks = make_folder(str(tmp_path), n=2)
    labels = tmp_path / "masks" / "labels.json"
    labels.write_text(TINY_CLASSES.to_json())
    assert dataset_class_list(folder_dataset(images, masks, labels)) == TINY_CLASSES


def test_other_files_in_the_data_folders_are_still_refused(tmp_path):
    images, masks = make_folder(str(tmp_path), n=1)
    (tmp_path / "masks" / "classes.json").write_text(TINY_CLASSES.to_json())
    (tmp_path / "masks" / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="notes.txt: not an image file"):
        folder_dataset(images, masks)


def _mixed_folder(root):
    """PNG, JPEG and grayscale images: TensorFlow- and Pillow-decoded files."""
    images, masks = make_folder(root, n=2)
    write(os.path.join(images, "im2.jpg"), rand_image(seed=2))
    write(os.path.join(images, "im3.png"), rand_image(seed=3)[..., 0], "L")
    for i in (2, 3):
        write(os.path.join(masks, f"im{i}.png"), rand_ids(seed=i))
    return images, masks


def _arrays(ds):
    return [(e["image"].numpy(), e["segmentation_mask"].numpy()) for e in ds]


def test_unvalidated_dataset_decodes_like_the_validated_one(tmp_path):
    images, masks = _mixed_folder(str(tmp_path))
    checked = _arrays(folder_dataset(images, masks, TINY_CLASSES))
    lazy = _arrays(folder_dataset(images, masks, TINY_CLASSES, validate=False))
    assert len(lazy) == len(checked) == 4
    for (image_a, mask_a), (image_b, mask_b) in zip(checked, lazy, strict=True):
        np.testing.assert_array_equal(image_a, image_b)
        np.testing.assert_array_equal(mask_a, mask_b)


def test_training_data_decodes_jpeg_like_inference(tmp_path):
    # Segmenter reads files through Pillow; the data set must give the same pixels
    # (TensorFlow's default fast DCT differs by up to about 10 levels).
    images, masks = make_folder(str(tmp_path), n=1)
    os.remove(os.path.join(images, "im0.png"))
    path = os.path.join(images, "im0.jpg")
    Image.fromarray(rand_image(37, 53)).save(path, quality=95, subsampling=0)
    write(os.path.join(masks, "im0.png"), rand_ids(37, 53))
    ((image, _),) = _arrays(folder_dataset(images, masks, TINY_CLASSES))
    np.testing.assert_array_equal(image, load_rgb(path))


@pytest.mark.parametrize("broken", ["image", "mask", "label"])
def test_unvalidated_dataset_names_the_bad_file_when_read(tmp_path, broken):
    images, masks = _mixed_folder(str(tmp_path))
    if broken == "label":
        ids = rand_ids(seed=1)
        ids[0, 0] = 9  # Classes 0..2, void 3.
        bad = write(os.path.join(masks, "im1.png"), ids)
    else:
        bad = os.path.join(images if broken == "image" else masks, "im1.png")
        with open(bad, "rb") as f:
            data = f.read()
        with open(bad, "wb") as f:
            f.write(data[: len(data) // 2])  # Header intact, pixel data truncated.
    ds = folder_dataset(images, masks, TINY_CLASSES, validate=False)  # Headers only.
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        _arrays(ds)
    assert bad in str(info.value)


def test_lazily_opened_truncated_pil_image_names_its_file(tmp_path):
    path = write(str(tmp_path / "cut.png"), rand_image(40, 40))
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])
    with Image.open(path) as image:  # Header only: decoding happens in load_rgb.
        with pytest.raises(DataError, match="corrupt or unreadable") as info:
            load_rgb(image)
    assert path in str(info.value)


def test_wide_integer_arrays_do_not_wrap_around():
    with pytest.raises(ValueError, match="at most 4294967295"):
        load_rgb(np.full((4, 4), 2**40, np.int64))
    np.testing.assert_array_equal(load_rgb(np.full((2, 2), 2**32 - 1, np.int64)), 255)


@pytest.mark.parametrize("num_workers", [0, -1, 1.5, True])
def test_num_workers_must_be_a_positive_int(tmp_path, num_workers):
    images, masks = make_folder(str(tmp_path), n=1)
    with pytest.raises(ValueError, match="num_workers="):
        folder_dataset(images, masks, TINY_CLASSES, num_workers=num_workers)
