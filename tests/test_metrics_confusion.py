"""Hand-computed checks of the confusion matrix and G / C / mIoU."""

import math

import numpy as np
import pytest

from segnet_tf.metrics import SegmentationEvaluator, confusion_matrix, scores_from_confusion

# 4x4 case, 3 classes; 3 and 255 are void (3 via ignore_class, 255 out of range).
GT = np.array(
    [
        [0, 0, 1, 1],
        [0, 0, 1, 1],
        [2, 2, 2, 2],
        [2, 2, 3, 255],
    ]
)
PRED = np.array(
    [
        [0, 1, 1, 1],
        [0, 0, 1, 0],
        [2, 2, 1, 2],
        [2, 0, 0, 1],
    ]
)
# Counted by hand from the maps above (rows = ground truth).
EXPECTED_CM = np.array([[3, 1, 0], [1, 3, 0], [1, 1, 4]])


def test_confusion_matrix_by_hand():
    cm = confusion_matrix(GT, PRED, num_classes=3, ignore_class=3)
    np.testing.assert_array_equal(cm, EXPECTED_CM)
    assert cm.dtype == np.int64


def test_void_pixels_do_not_count():
    other = PRED.copy()
    other[3, 2:] = [2, 2]  # change predictions on the two void pixels only
    cm = confusion_matrix(GT, other, num_classes=3, ignore_class=3)
    np.testing.assert_array_equal(cm, EXPECTED_CM)
    # Without ignore_class the id 3 is still void (outside [0, 3)).
    np.testing.assert_array_equal(confusion_matrix(GT, PRED, 3), EXPECTED_CM)


def test_scores_by_hand():
    s = scores_from_confusion(EXPECTED_CM, class_names=["a", "b", "c"])
    assert s["global_accuracy"] == pytest.approx(10 / 14)
    assert s["class_average_accuracy"] == pytest.approx((3 / 4 + 3 / 4 + 4 / 6) / 3)
    # IoU: 3/(4+5-3), 3/(4+5-3), 4/(6+4-4)
    assert s["mean_iou"] == pytest.approx((0.5 + 0.5 + 4 / 6) / 3)
    np.testing.assert_allclose(s["per_class"]["iou"], [0.5, 0.5, 4 / 6])
    np.testing.assert_allclose(s["per_class"]["accuracy"], [0.75, 0.75, 4 / 6])
    assert s["per_class"]["support"] == [4, 4, 6]
    assert s["per_class"]["name"] == ["a", "b", "c"]


def test_absent_class_is_nan_and_excluded():
    # Class 2 never occurs; class 3 only predicted (IoU 0 counts, accuracy undefined).
    cm = np.array(
        [
            [2, 0, 0, 1],
            [0, 1, 0, 0],
            [0, 0, 0, 0],
            [0, 0, 0, 0],
        ]
    )
    s = scores_from_confusion(cm)
    iou = s["per_class"]["iou"]
    acc = s["per_class"]["accuracy"]
    assert math.isnan(iou[2]) and math.isnan(acc[2])
    assert iou[3] == 0.0 and math.isnan(acc[3])
    assert s["mean_iou"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert s["class_average_accuracy"] == pytest.approx((2 / 3 + 1) / 2)
    assert s["global_accuracy"] == pytest.approx(3 / 4)


def test_empty_matrix_gives_nan():
    s = scores_from_confusion(np.zeros((3, 3), dtype=np.int64))
    assert math.isnan(s["global_accuracy"]) and math.isnan(s["mean_iou"])


def test_scores_from_logits_and_label_shapes():
    k = 3
    logits = np.eye(k, dtype=np.float32)[PRED][None]  # [1, 4, 4, 3]
    cm = confusion_matrix(GT[None, ..., None], logits, k, ignore_class=3)
    np.testing.assert_array_equal(cm, EXPECTED_CM)


def test_rejects_out_of_range_predictions():
    with pytest.raises(ValueError):
        confusion_matrix(GT, PRED + 5, 3)


def test_large_counts_are_exact():
    # 2**24 + 1 pixels: a float32 counter would round this to 2**24.
    n = 2**24 + 1
    t = np.zeros((1, 1, n), dtype=np.int64)
    cm = confusion_matrix(t, t, 2)
    assert cm[0, 0] == n


def test_evaluator_streams_batches():
    ev = SegmentationEvaluator(3, ignore_class=3, class_names=["a", "b", "c"])
    ev.update(GT[None, :2], PRED[None, :2])
    ev.update(GT[None, 2:], PRED[None, 2:])
    r = ev.result()
    np.testing.assert_array_equal(r["confusion_matrix"], EXPECTED_CM)
    assert r["global_accuracy"] == pytest.approx(10 / 14)
    assert r["mean_iou"] == pytest.approx((0.5 + 0.5 + 4 / 6) / 3)
    assert set(r) >= {
        "global_accuracy",
        "class_average_accuracy",
        "mean_iou",
        "boundary_f1",
        "per_class",
        "confusion_matrix",
    }
    assert len(r["per_class"]["boundary_f1"]) == 3
    assert r["num_images"] == 2
    ev.reset()
    assert ev.confusion_matrix.sum() == 0


def test_evaluator_accepts_bfloat16_tensor_logits():
    import tensorflow as tf

    logits = tf.cast(tf.one_hot(PRED[None], 3) * 4.0, tf.bfloat16)
    ev = SegmentationEvaluator(3, ignore_class=3, boundary=False)
    ev.update(tf.constant(GT[None]), logits)
    np.testing.assert_array_equal(ev.result()["confusion_matrix"], EXPECTED_CM)
    assert math.isnan(ev.result()["boundary_f1"])
