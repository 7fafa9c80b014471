"""Boundary F1: identical, shifted and hand-counted partial cases."""

import math

import numpy as np
import pytest

from segnet_tf.metrics import SegmentationEvaluator, boundary_f1, boundary_f1_scores
from segnet_tf.metrics.boundary import dilate_disk, label_edges, tolerance_pixels


def halves(h, w, split, left=0, right=1):
    m = np.full((h, w), right)
    m[:, :split] = left
    return m


def tol_for(pixels, h, w):
    """Tolerance fraction giving `pixels` of matching distance."""
    return pixels / math.hypot(h, w)


def test_label_edges_four_neighbourhood():
    m = np.zeros((5, 5), dtype=int)
    m[2, 2] = 1
    expected = np.zeros((5, 5), dtype=bool)
    expected[2, 2] = True
    expected[1, 2] = expected[3, 2] = expected[2, 1] = expected[2, 3] = True
    np.testing.assert_array_equal(label_edges(m), expected)  # diagonals are not edges


def test_dilate_disk_is_euclidean():
    m = np.zeros((11, 11), dtype=bool)
    m[5, 5] = True
    d = dilate_disk(m, 2.5)
    yy, xx = np.mgrid[:11, :11]
    np.testing.assert_array_equal(d, (yy - 5) ** 2 + (xx - 5) ** 2 <= 6.25)
    # Exact-square radius: (3, 4) lies at distance 5 and must be included.
    d5 = dilate_disk(m, 5.0)
    np.testing.assert_array_equal(d5, (yy - 5) ** 2 + (xx - 5) ** 2 <= 25)


def test_identical_prediction_scores_one():
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 4, (2, 6, 8)).repeat(5, axis=1).repeat(5, axis=2)
    gt[0, :3] = 4  # void band
    assert boundary_f1(gt, gt.clip(0, 3), 4, ignore_class=4) == pytest.approx(1.0)


def test_default_tolerance_within_and_beyond():
    # 360x480: theta = 0.0075 * 600 = 4.5 px.
    h, w = 360, 480
    assert tolerance_pixels(h, w) == pytest.approx(4.5)
    gt = halves(h, w, 240)[None]
    assert boundary_f1(gt, halves(h, w, 244)[None], 2) == pytest.approx(1.0)
    assert boundary_f1(gt, halves(h, w, 245)[None], 2) == pytest.approx(0.0)


def test_hand_counted_partial_case():
    # GT: class 0 in columns 0-2, class 1 in 3-5; boundaries at columns 2 and 3.
    # The prediction adds one class-1 pixel at (0, 0), creating predicted
    # boundary pixels (0, 0) [class 1], (0, 1) and (1, 0) [class 0].
    # Exact matching (tolerance 0):
    #   class 0: P = 6/8, R = 6/6 -> F1 = 6/7
    #   class 1: P = 6/7, R = 6/6 -> F1 = 12/13
    gt = halves(6, 6, 3)
    pred = gt.copy()
    pred[0, 0] = 1
    scores = boundary_f1_scores(gt, pred, 2, tolerance=0.0)
    np.testing.assert_allclose(scores[0], [6 / 7, 12 / 13])
    assert boundary_f1(gt, pred, 2, tolerance=0.0) == pytest.approx((6 / 7 + 12 / 13) / 2)


def test_half_shifted_boundary():
    # Rows 3-5 of the prediction move the boundary one column right: half of the
    # boundary pixels match exactly, all match within 1 px.
    gt = halves(6, 6, 3)
    pred = gt.copy()
    pred[3:, 3] = 0
    assert boundary_f1(gt, pred, 2, tolerance=0.0) == pytest.approx(0.5)
    assert boundary_f1(gt, pred, 2, tolerance=tol_for(1.0, 6, 6)) == pytest.approx(1.0)


def test_presence_conventions():
    gt = np.zeros((6, 6), dtype=int)
    # Both maps one class without boundary: F1 = 1; class 2 absent from both: skipped.
    scores = boundary_f1_scores(gt, gt, 3)
    assert scores[0, 0] == 1.0
    assert math.isnan(scores[0, 1]) and math.isnan(scores[0, 2])
    # A class only in the prediction scores 0, and class 0 gains a boundary the
    # ground truth lacks, so it scores 0 too.
    pred = gt.copy()
    pred[2, 2] = 1
    scores = boundary_f1_scores(gt, pred, 3)
    np.testing.assert_array_equal(scores[0, :2], [0.0, 0.0])
    assert math.isnan(scores[0, 2])


def test_void_is_not_judged():
    # GT: class 0 | void column | class 1. The prediction fills the void with
    # either class; both are perfect because void is copied into the prediction.
    gt = halves(6, 7, 4, left=0, right=1)
    gt[:, 3] = 2
    for split in (3, 4):
        pred = halves(6, 7, split)
        assert boundary_f1(gt, pred, 2, ignore_class=2, tolerance=0.0) == pytest.approx(1.0)
    # Every pixel void: no score.
    assert math.isnan(boundary_f1(np.full((4, 4), 2), np.zeros((4, 4), int), 2, ignore_class=2))


def test_per_image_average():
    gt = np.stack([halves(6, 6, 3), halves(6, 6, 3)])
    pred = gt.copy()
    pred[1] = halves(6, 6, 5)  # 2 px off: F1 0 with exact matching
    assert boundary_f1(gt, pred, 2, tolerance=0.0) == pytest.approx(0.5)
    ev = SegmentationEvaluator(2, tolerance=0.0)
    ev.update(gt[:1], pred[:1])
    ev.update(gt[1:], pred[1:])
    r = ev.result()
    assert r["boundary_f1"] == pytest.approx(0.5)
    np.testing.assert_allclose(r["per_class"]["boundary_f1"], [0.5, 0.5])


def test_many_classes_use_several_bit_chunks():
    # 70 classes (> 64 bits per chunk): class 69 must still be matched.
    gt = halves(8, 8, 4, left=5, right=69)
    assert boundary_f1(gt, gt, 70) == pytest.approx(1.0)
    shifted = halves(8, 8, 6, left=5, right=69)
    assert boundary_f1(gt, shifted, 70, tolerance=0.0) == pytest.approx(0.0)


def test_cost_is_two_dilations_per_image_whatever_the_class_count(monkeypatch):
    # Packing the classes into the bits of one uint64 per pixel makes an image cost two
    # disk dilations (one per matching direction), not two per class: 22 for 11 classes.
    # Counted, not timed, so that a loaded machine does not matter (the time is
    # benchmarks/boundary.py's).
    import segnet_tf.metrics.boundary as boundary

    calls = []
    real = boundary.dilate_disk

    def counting(mask, radius):
        calls.append(mask.dtype)
        return real(mask, radius)

    monkeypatch.setattr(boundary, "dilate_disk", counting)
    rng = np.random.default_rng(1)
    gt = rng.integers(0, 12, (3, 9, 12)).repeat(40, axis=1).repeat(40, axis=2)
    pred = np.roll(gt.clip(0, 10), 3, axis=2)
    boundary_f1_scores(gt, pred, 11, ignore_class=11)
    assert len(calls) == 2 * 3 and set(calls) == {np.dtype(np.uint64)}
    calls.clear()
    # 70 classes: two 64-bit chunks, so two dilations per direction.
    gt70 = rng.integers(0, 70, (1, 9, 12)).repeat(40, axis=1).repeat(40, axis=2)
    boundary_f1_scores(gt70, np.roll(gt70, 3, axis=2), 70)
    assert len(calls) == 2 * 2
