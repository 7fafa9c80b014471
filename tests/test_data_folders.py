import os

import numpy as np
import pytest
import tensorflow as tf
from data_fixtures import TINY_CLASSES, make_folder, rand_ids, rand_image, tree_hash, write

from segnet_tf.data import DataError, dataset_class_list, folder_dataset


def _collect(ds):
    return [(e["image"].numpy(), e["segmentation_mask"].numpy()) for e in ds]


def test_pairs_by_stem_and_decodes_exactly(tmp_path):
    images, masks = make_folder(str(tmp_path), n=3)
    ds = folder_dataset(images, masks, TINY_CLASSES)
    assert dataset_class_list(ds) == TINY_CLASSES
    items = _collect(ds)
    assert len(items) == 3
    for i, (img, msk) in enumerate(items):
        np.testing.assert_array_equal(img, rand_image(seed=i))
        np.testing.assert_array_equal(msk[..., 0], rand_ids(seed=i))
        assert img.dtype == np.uint8 and msk.shape == (12, 16, 1)
    names = [e["file_name"].numpy().decode() for e in ds]
    assert names == ["im0.png", "im1.png", "im2.png"]


def test_jpeg_images_with_mask_suffix(tmp_path):
    img = rand_image()
    write(str(tmp_path / "img" / "f1.jpg"), img)
    write(str(tmp_path / "ann" / "f1_L.png"), rand_ids())
    ds = folder_dataset(tmp_path / "img", tmp_path / "ann", TINY_CLASSES, mask_suffix="_L")
    ((got, msk),) = _collect(ds)
    assert got.shape == (12, 16, 3)
    np.testing.assert_array_equal(msk[..., 0], rand_ids())


def test_rgb_colour_masks_mapped_through_palette(tmp_path):
    ids = rand_ids()
    rgb = TINY_CLASSES.palette()[ids]
    write(str(tmp_path / "i" / "x.png"), rand_image())
    write(str(tmp_path / "m" / "x.png"), rgb)
    ((_, msk),) = _collect(folder_dataset(tmp_path / "i", tmp_path / "m", TINY_CLASSES))
    np.testing.assert_array_equal(msk[..., 0], ids)


def test_palette_index_masks_keep_indices(tmp_path):
    from PIL import Image

    ids = rand_ids()
    im = Image.fromarray(ids, "P")
    im.putpalette([200, 10, 10, 10, 200, 10, 10, 10, 200, 0, 0, 0] + [0] * 756)
    os.makedirs(tmp_path / "m")
    im.save(tmp_path / "m" / "x.png")
    write(str(tmp_path / "i" / "x.png"), rand_image())
    ((_, msk),) = _collect(folder_dataset(tmp_path / "i", tmp_path / "m", TINY_CLASSES))
    np.testing.assert_array_equal(msk[..., 0], ids)


def test_grayscale_rgba_16bit_images_converted_to_rgb(tmp_path):
    gray = rand_image()[..., 0]
    rgba = np.concatenate([rand_image(seed=1), np.full((12, 16, 1), 7, np.uint8)], -1)
    g16 = gray.astype(np.uint16) * 257  # 16-bit version of the same values
    write(str(tmp_path / "i" / "a.png"), gray, "L")
    write(str(tmp_path / "i" / "b.png"), rgba, "RGBA")
    os.makedirs(tmp_path / "i", exist_ok=True)
    (tmp_path / "i" / "c.png").write_bytes(tf.io.encode_png(g16[..., None]).numpy())
    for n in "abc":
        write(str(tmp_path / "m" / f"{n}.png"), rand_ids())
    (a, _), (b, _), (c, _) = _collect(folder_dataset(tmp_path / "i", tmp_path / "m", TINY_CLASSES))
    np.testing.assert_array_equal(a, np.repeat(gray[..., None], 3, -1))
    np.testing.assert_array_equal(b, rgba[..., :3])
    np.testing.assert_array_equal(c, np.repeat(gray[..., None], 3, -1))


def test_class_list_from_json_next_to_data(tmp_path):
    images, masks = make_folder(str(tmp_path), n=1)
    (tmp_path / "classes.json").write_text(TINY_CLASSES.to_json())
    assert dataset_class_list(folder_dataset(images, masks)) == TINY_CLASSES


# ---- bad input: each case names the offending file --------------------------------


def _bad(tmp_path, case):
    images, masks = make_folder(str(tmp_path), n=2)
    if case == "corrupt_image":
        bad = os.path.join(images, "im1.png")
        with open(bad, "rb") as f:
            data = f.read()
        with open(bad, "wb") as f:
            f.write(data[: len(data) // 2])  # truncated PNG
    elif case == "not_an_image":
        bad = os.path.join(images, "im1.png")
        with open(bad, "w") as f:
            f.write("hello, I am text")
    elif case == "non_image_extension":
        bad = os.path.join(images, "notes.txt")
        with open(bad, "w") as f:
            f.write("x")
    elif case == "image_without_mask":
        bad = write(os.path.join(images, "lonely.png"), rand_image())
    elif case == "mask_without_image":
        bad = write(os.path.join(masks, "orphan.png"), rand_ids())
    elif case == "size_mismatch":
        bad = write(os.path.join(masks, "im0.png"), rand_ids(10, 16))
    elif case == "label_out_of_range":
        ids = rand_ids()
        ids[2, 3] = 7  # 0..2 are classes, 3 is void, 7 is invalid
        bad = write(os.path.join(masks, "im1.png"), ids)
    elif case == "unknown_colour":
        rgb = TINY_CLASSES.palette()[rand_ids()]
        rgb[0, 0] = (1, 2, 3)
        bad = write(os.path.join(masks, "im0.png"), rgb)
        write(os.path.join(masks, "im1.png"), TINY_CLASSES.palette()[rand_ids()])
    elif case == "empty_folder":
        for n in os.listdir(images):
            os.remove(os.path.join(images, n))
        bad = images
    return images, masks, bad


@pytest.mark.parametrize(
    "case, needle",
    [
        ("corrupt_image", "corrupt"),
        ("not_an_image", "not a readable image"),
        ("non_image_extension", "not an image file"),
        ("image_without_mask", "no mask"),
        ("mask_without_image", "no image"),
        ("size_mismatch", "differs"),
        ("label_out_of_range", r"\[7\]"),
        ("unknown_colour", "not in the class palette"),
        ("empty_folder", "empty"),
    ],
)
def test_bad_input_names_the_file(tmp_path, case, needle):
    images, masks, bad = _bad(tmp_path, case)
    before = tree_hash(str(tmp_path))
    with pytest.raises(ValueError, match=needle) as info:
        folder_dataset(images, masks, TINY_CLASSES)
    assert isinstance(info.value, DataError)
    assert bad in str(info.value)
    assert tree_hash(str(tmp_path)) == before  # nothing on disk modified


def test_multichannel_id_mask_explains_rgb_option(tmp_path):
    images, masks = make_folder(str(tmp_path), n=1)
    bad = write(os.path.join(masks, "im0.png"), rand_image())
    with pytest.raises(DataError, match="mask_format='rgb'") as info:
        folder_dataset(images, masks, TINY_CLASSES, mask_format="ids")
    assert bad in str(info.value)


def test_missing_class_list_is_clear(tmp_path):
    images, masks = make_folder(str(tmp_path), n=1)
    with pytest.raises(DataError, match="class list"):
        folder_dataset(images, masks)


def test_reading_does_not_modify_folder(tmp_path):
    images, masks = make_folder(str(tmp_path), n=3)
    before = tree_hash(str(tmp_path))
    _collect(folder_dataset(images, masks, TINY_CLASSES))
    assert tree_hash(str(tmp_path)) == before
