import numpy as np
import pytest
import tensorflow as tf

from segnet_tf.data import median_frequency_weights


def _ds(masks):
    masks = np.asarray(masks, np.uint8)[..., None]
    images = np.zeros(masks.shape[:3] + (3,), np.uint8)
    return tf.data.Dataset.from_tensor_slices({"image": images, "segmentation_mask": masks})


# Two 2x4 images, classes 0..2, void = 3.
MASKS = [
    [[0, 0, 0, 0], [1, 1, 3, 3]],  # 0:4, 1:2, void 2 -> 6 labelled pixels
    [[0, 0, 2, 2], [2, 2, 2, 2]],  # 0:2, 2:6        -> 8 labelled pixels
]


def test_presence_mode_hand_computed():
    # freq0 = 6 / (6 + 8), freq1 = 2 / 6, freq2 = 6 / 8 ; median = 3/7
    f = np.array([6 / 14, 2 / 6, 6 / 8])
    expected = np.median(f) / f
    got = median_frequency_weights(_ds(MASKS), num_classes=3, void_id=3)
    np.testing.assert_allclose(got, expected)
    np.testing.assert_allclose(got, [1.0, 9 / 7, 4 / 7])


def test_global_mode_hand_computed():
    # counts 6, 2, 6 over 14 labelled pixels; median freq 6/14
    got = median_frequency_weights(_ds(MASKS), 3, void_id=3, mode="global")
    np.testing.assert_allclose(got, [1.0, 3.0, 1.0])


def test_batched_and_pipeline_tuples_give_same_result():
    ds = _ds(MASKS)
    ref = median_frequency_weights(ds, 3, void_id=3)
    np.testing.assert_allclose(median_frequency_weights(ds.batch(2), 3, void_id=3), ref)
    tuples = ds.map(
        lambda e: (
            tf.cast(e["image"], tf.float32),
            tf.cast(e["segmentation_mask"][..., 0], tf.int32),
        )
    )
    np.testing.assert_allclose(median_frequency_weights(tuples.batch(2), 3, void_id=3), ref)
    np.testing.assert_allclose(median_frequency_weights(tuples, 3, void_id=3), ref)


def test_absent_class_gets_zero_and_invalid_ids_raise():
    got = median_frequency_weights(_ds(MASKS), 4, void_id=None, mode="global")
    # id 3 is now a real class (2 px): counts 6,2,6,2 -> median 4/16
    np.testing.assert_allclose(got, [4 / 6, 2.0, 4 / 6, 2.0])
    got = median_frequency_weights(_ds(MASKS), 5, void_id=None, mode="global")
    assert got[4] == 0.0
    with pytest.raises(ValueError, match="outside"):
        median_frequency_weights(_ds(MASKS), 2, void_id=3)
    with pytest.raises(ValueError, match="mode"):
        median_frequency_weights(_ds(MASKS), 3, void_id=3, mode="median")
