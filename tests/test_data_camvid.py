import hashlib
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from data_fixtures import tree_hash
from fake_camvid import make_fake_camvid

from segnet_tf.classes import CAMVID_CLASSES
from segnet_tf.data import (
    CAMVID_ENV,
    Camvid,
    DataError,
    camvid_split_pairs,
    load_camvid,
    median_frequency_weights,
)

FAKE_COUNTS = {"train": 3, "validation": 2, "test": 2}


@pytest.fixture(scope="module")
def fake_dir(tmp_path_factory):
    return make_fake_camvid(tmp_path_factory.mktemp("fake_camvid"), FAKE_COUNTS, seed=0)


@pytest.fixture(scope="module")
def fake_builder(fake_dir, tmp_path_factory):
    builder = Camvid(data_dir=str(tmp_path_factory.mktemp("tfds")))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=fake_dir))
    return builder


def test_builder_is_registered():
    assert "camvid" in tfds.list_builders()
    assert tfds.builder_cls("camvid") is Camvid


def test_fake_builder_split_sizes_and_specs(fake_builder):
    splits = fake_builder.info.splits
    assert {k: splits[k].num_examples for k in FAKE_COUNTS} == FAKE_COUNTS
    spec = fake_builder.as_dataset(split="train").element_spec
    assert spec["image"].shape == (360, 480, 3) and spec["image"].dtype == tf.uint8
    assert spec["segmentation_mask"].shape == (360, 480, 1)
    assert spec["segmentation_mask"].dtype == tf.uint8
    meta = fake_builder.info.metadata
    assert meta["class_names"] == list(CAMVID_CLASSES.names)
    assert meta["void_id"] == 11 and meta["class_colors"][3] == [128, 64, 128]


def test_fake_builder_no_example_in_two_splits(fake_builder, fake_dir):
    seen = {}
    for split in FAKE_COUNTS:
        for e in fake_builder.as_dataset(split=split):
            digest = hashlib.sha1(e["image"].numpy().tobytes()).hexdigest()
            assert digest not in seen, f"same image in {seen.get(digest)} and {split}"
            seen[digest] = split
            assert int(tf.reduce_max(e["segmentation_mask"])) <= 11
    assert len(seen) == sum(FAKE_COUNTS.values())


def test_fake_builder_matches_source_files(fake_builder, fake_dir):
    from PIL import Image

    e = next(iter(fake_builder.as_dataset(split="validation", shuffle_files=False)))
    name = e["file_name"].numpy().decode()
    np.testing.assert_array_equal(
        e["image"].numpy(), np.asarray(Image.open(f"{fake_dir}/val/{name}"))
    )
    np.testing.assert_array_equal(
        e["segmentation_mask"].numpy()[..., 0],
        np.asarray(Image.open(f"{fake_dir}/valannot/{name}")),
    )


def test_load_camvid_folder_and_tfds_agree(fake_dir, tmp_path, monkeypatch):
    before = tree_hash(fake_dir)
    monkeypatch.setenv(CAMVID_ENV, fake_dir)
    direct = list(load_camvid("val"))
    via = load_camvid("validation", fake_dir, use_tfds=True, tfds_data_dir=str(tmp_path))
    via = sorted(via, key=lambda e: e["file_name"].numpy())
    assert len(direct) == len(via) == 2
    for a, b in zip(direct, via, strict=True):
        np.testing.assert_array_equal(a["image"].numpy(), b["image"].numpy())
        np.testing.assert_array_equal(
            a["segmentation_mask"].numpy(), b["segmentation_mask"].numpy()
        )
    assert tree_hash(fake_dir) == before


def test_load_camvid_without_location_is_clear(monkeypatch, tmp_path):
    from segnet_tf.data import camvid

    monkeypatch.delenv(CAMVID_ENV, raising=False)
    # Nothing to find anywhere (the real search paths may hold the real data set).
    monkeypatch.setattr(camvid, "camvid_search_paths", lambda: [str(tmp_path / "nowhere")])
    with pytest.raises(DataError, match=CAMVID_ENV):
        load_camvid("train")
    with pytest.raises(DataError, match=str(tmp_path)):
        load_camvid("train", tmp_path)
    with pytest.raises(ValueError, match="split"):
        load_camvid("training", tmp_path)


def test_find_camvid_dir_looks_in_the_tfds_manual_folder(monkeypatch, tmp_path, fake_dir):
    from segnet_tf.data import camvid_search_paths, find_camvid_dir

    monkeypatch.delenv(CAMVID_ENV, raising=False)
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    manual = tmp_path / "tfds" / "downloads" / "manual" / "camvid"
    assert str(manual) in camvid_search_paths()
    manual.parent.mkdir(parents=True)
    shutil.copytree(fake_dir, manual)
    found = find_camvid_dir()
    # The real data set beside the checkout is searched after the tfds folder.
    assert found == str(manual)
    monkeypatch.setenv(CAMVID_ENV, str(fake_dir))
    assert find_camvid_dir() == str(fake_dir)


# ---- real CamVid: $SEGNET_CAMVID_DIR or found beside the checkout ----------------------


@pytest.fixture(scope="module")
def real_dir():
    from segnet_tf.data import find_camvid_dir

    folder = find_camvid_dir()
    if not folder:
        pytest.skip(f"CamVid not found ({CAMVID_ENV} unset, none beside the checkout)")
    return folder


def test_real_split_counts(real_dir):
    counts = {s: len(camvid_split_pairs(real_dir, s)) for s in ("train", "validation", "test")}
    assert counts == {"train": 367, "validation": 101, "test": 233}
    stems = [
        {os.path.basename(p[0]) for p in camvid_split_pairs(real_dir, s)}
        for s in ("train", "validation", "test")
    ]
    assert not (stems[0] & stems[1] or stems[0] & stems[2] or stems[1] & stems[2])


def test_real_labels_in_range_and_weights_close(real_dir):
    # validate=True decodes every label map and checks ids are 0..10 or void 11.
    # Cached in memory (about 250 MB): the range check and the weights read the same
    # decoded split instead of decoding all 367 frames twice more.
    train = load_camvid("train", real_dir, validate=True).cache()
    masks = train.map(lambda e: e["segmentation_mask"])
    assert (
        int(masks.reduce(tf.constant(0, tf.uint8), lambda a, m: tf.maximum(a, tf.reduce_max(m))))
        <= 11
    )
    weights = median_frequency_weights(train, 11, void_id=11)
    # Recomputed values documented in segnet_tf.data.class_weights.
    expected = [0.2794, 0.2018, 4.7889, 0.1491, 1.0, 0.4235, 3.8464, 1.9798, 0.7890, 6.3847, 8.8193]
    np.testing.assert_allclose(weights, expected, atol=1e-3)
    published = np.array(
        [0.2595, 0.1826, 4.5640, 0.1417, 0.9051, 0.3826, 9.6446, 1.8418, 0.6823, 6.2478, 7.3614]
    )
    ratio = weights / published
    keep = np.arange(11) != 6  # SignSymbol differs, as the shared README says
    assert np.all((ratio[keep] > 0.8) & (ratio[keep] < 1.25))


def test_builder_converts_grayscale_image(tmp_path):
    from PIL import Image

    src = make_fake_camvid(tmp_path / "src", {"train": 1, "validation": 1, "test": 1}, seed=1)
    name = sorted(os.listdir(os.path.join(src, "train")))[0]
    path = os.path.join(src, "train", name)
    gray = np.asarray(Image.open(path).convert("L"))
    Image.fromarray(gray, "L").save(path)
    builder = Camvid(data_dir=str(tmp_path / "tfds"))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=src))
    (e,) = list(builder.as_dataset(split="train"))
    np.testing.assert_array_equal(e["image"].numpy(), np.repeat(gray[..., None], 3, -1))


def test_builder_rejects_bad_label(tmp_path):
    from PIL import Image

    src = make_fake_camvid(tmp_path / "src", {"train": 1, "validation": 1, "test": 1}, seed=2)
    name = sorted(os.listdir(os.path.join(src, "testannot")))[0]
    bad = os.path.join(src, "testannot", name)
    ids = np.asarray(Image.open(bad)).copy()
    ids[0, 0] = 12
    Image.fromarray(ids, "L").save(bad)
    builder = Camvid(data_dir=str(tmp_path / "tfds"))
    with pytest.raises(ValueError, match="12") as info:
        builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=src))
    assert bad in str(info.value)


def test_real_tfds_build(real_dir, tmp_path_factory):
    # Files are passed to tfds by path (no re-encoding): a few seconds for 701 PNGs.
    builder = Camvid(data_dir=str(tmp_path_factory.mktemp("tfds_real")))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=real_dir))
    sizes = {k: builder.info.splits[k].num_examples for k in ("train", "validation", "test")}
    assert sizes == {"train": 367, "validation": 101, "test": 233}
    for split in ("validation", "test"):
        masks = builder.as_dataset(split=split).map(lambda e: e["segmentation_mask"])
        top = masks.reduce(tf.constant(0, tf.uint8), lambda a, m: tf.maximum(a, tf.reduce_max(m)))
        assert int(top) <= 11
