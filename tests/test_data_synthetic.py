import numpy as np
import pytest

from segnet_tf.data import SYNTHETIC_CLASSES, dataset_class_list, synthetic_dataset


def _arrays(ds):
    return [(e["image"].numpy(), e["segmentation_mask"].numpy()) for e in ds]


def test_shapes_dtypes_and_classes():
    ds = synthetic_dataset(6, size=(48, 64), seed=0)
    assert dataset_class_list(ds) == SYNTHETIC_CLASSES
    spec = ds.element_spec
    assert spec["image"].shape == (48, 64, 3) and spec["segmentation_mask"].shape == (48, 64, 1)
    items = _arrays(ds)
    assert len(items) == 6
    seen = set()
    for img, msk in items:
        assert img.dtype == np.uint8 and msk.dtype == np.uint8
        assert msk.max() <= SYNTHETIC_CLASSES.void_id
        seen |= set(np.unique(msk).tolist())
    # Sky, background and road are in every scene; objects appear across scenes.
    assert {0, 1, 2} <= seen and len(seen) >= 5


def test_deterministic_per_seed_and_different_across_seeds():
    a = _arrays(synthetic_dataset(3, (40, 56), seed=7))
    b = _arrays(synthetic_dataset(3, (40, 56), seed=7))
    c = _arrays(synthetic_dataset(3, (40, 56), seed=8))
    for (ia, ma), (ib, mb) in zip(a, b, strict=True):
        np.testing.assert_array_equal(ia, ib)
        np.testing.assert_array_equal(ma, mb)
    assert any(not np.array_equal(ia, ic) for (ia, _), (ic, _) in zip(a, c, strict=True))


def test_textured_so_colour_alone_is_not_enough():
    img, msk = _arrays(synthetic_dataset(1, (64, 96), seed=3))[0]
    road = img[msk[..., 0] == 2].astype(float)
    assert road.std(axis=0).mean() > 2.0  # noise/texture inside a class


def test_bad_arguments():
    with pytest.raises(ValueError):
        synthetic_dataset(0)
    with pytest.raises(ValueError):
        synthetic_dataset(2, size=(4, 4))
