"""Boundary F1 (BF) score of Csurka et al. (2013), as reported by SegNet.

Definition used here (per image, per class c):

* Boundary pixels. A pixel is a boundary pixel of its own class when at least
  one of its 4-neighbours (up, down, left, right) carries a different label.
  Both sides of a label transition are therefore boundary pixels, each of its
  own class. The image border is not a boundary (neighbours outside the image
  are ignored), so a region touching the frame has no boundary along it.
* Void. The ground truth's void pixels are copied into the prediction (all
  void ids merged into one "void" label) before boundaries are extracted, so
  the prediction is never judged on void, and an edge against void appears in
  both maps alike: a thin void line between two objects (common in CamVid)
  then costs nothing when the prediction is right on both sides.
* Matching. A predicted boundary pixel of class c is correct when a
  ground-truth boundary pixel of class c lies within Euclidean distance
  `theta` (inclusive), and vice versa for recall; `theta = tolerance * image
  diagonal`, 0.75 % by default (4.5 px for 360x480). Distances are handled by
  dilating the boundary maps with a disk of radius `theta`, built from
  horizontal runs shifted vertically, so no distance transform is needed.
* Scores. precision = matched predicted / predicted boundary pixels,
  recall = matched ground-truth / ground-truth boundary pixels,
  F1 = 2PR / (P + R) (0 when P + R = 0).
* Presence (meant to follow MATLAB's `evaluateSemanticSegmentation`; not
  checked against MATLAB itself). Class c is present in the ground truth if
  it has a non-void pixel, in the prediction if it is predicted on a non-void
  pixel. Absent from both: skipped
  (NaN). Present in only one: F1 = 0. Present in both but neither has a
  boundary pixel (e.g. both cover the whole image): F1 = 1.
* Per-image BF = mean of F1 over the classes that are not skipped; an image
  without any non-void pixel has no score (NaN). The data-set BF is the mean
  of per-image BF over the images that have one.
"""

from __future__ import annotations

import math

import numpy as np

from segnet_tf.metrics._inputs import as_label_maps, check_num_classes, valid_mask

DEFAULT_TOLERANCE = 0.0075
"""Matching distance as a fraction of the image diagonal (SegNet / Csurka et al.)."""

_VOID = -1
_CHUNK = 64  # classes packed into the bits of one uint64 per pixel


def label_edges(labels: np.ndarray) -> np.ndarray:
    """Marks pixels whose 4-neighbourhood contains a different label.

    Args:
        labels: int array `[H, W]`.

    Returns:
        bool array `[H, W]`.
    """
    edges = np.zeros(labels.shape, dtype=bool)
    vertical = labels[1:, :] != labels[:-1, :]
    edges[1:, :] |= vertical
    edges[:-1, :] |= vertical
    horizontal = labels[:, 1:] != labels[:, :-1]
    edges[:, 1:] |= horizontal
    edges[:, :-1] |= horizontal
    return edges


def tolerance_pixels(height: int, width: int, tolerance: float = DEFAULT_TOLERANCE) -> float:
    """Returns the matching distance `theta` in pixels for an image size.

    Args:
        height: image height in pixels.
        width: image width in pixels.
        tolerance: fraction of the image diagonal.
    """
    return float(tolerance) * math.hypot(height, width)


def dilate_disk(mask: np.ndarray, radius: float) -> np.ndarray:
    """Dilates a 2-D array by a Euclidean disk (`dx^2 + dy^2 <= radius^2`).

    Works on booleans and on unsigned-integer bit sets alike (bitwise OR), which
    lets all classes of an image be dilated in one pass.

    Args:
        mask: `[H, W]` bool or unsigned-integer array.
        radius: disk radius in pixels; below 1 the input is returned unchanged.

    Returns:
        array of the same shape and dtype as `mask`.
    """
    r = int(math.floor(radius + 1e-9))
    if r <= 0:
        return mask.copy()
    # Half-width of the disk's row at vertical offset dy; the epsilon keeps
    # exact squares (e.g. theta = 5, dy = 3 -> 4) from rounding down.
    half_widths = [
        int(math.floor(math.sqrt(max(radius * radius - dy * dy, 0.0)) + 1e-9))
        for dy in range(r + 1)
    ]
    # runs[w] = OR of the input shifted horizontally by -w..w.
    runs = [mask]
    current = mask.copy()
    for w in range(1, half_widths[0] + 1):
        current[:, w:] |= mask[:, :-w]
        current[:, :-w] |= mask[:, w:]
        runs.append(current.copy())
    out = runs[half_widths[0]].copy()
    for dy in range(1, r + 1):
        run = runs[half_widths[dy]]
        out[dy:, :] |= run[:-dy, :]
        out[:-dy, :] |= run[dy:, :]
    return out


def _class_counts(labels: np.ndarray, mask: np.ndarray, num_classes: int) -> np.ndarray:
    return np.bincount(labels[mask], minlength=num_classes)[:num_classes]


def _matched_counts(
    source_labels: np.ndarray,
    source_mask: np.ndarray,
    target_labels: np.ndarray,
    target_mask: np.ndarray,
    radius: float,
    num_classes: int,
) -> np.ndarray:
    """Per class, how many source boundary pixels have a same-class target
    boundary pixel within `radius`."""
    matched = np.zeros(num_classes, dtype=np.int64)
    for start in range(0, num_classes, _CHUNK):
        stop = min(start + _CHUNK, num_classes)
        in_target = target_mask & (target_labels >= start) & (target_labels < stop)
        if not in_target.any():
            continue
        # One bit per class of this chunk: dilating the bit sets dilates every
        # class's boundary at once.
        shift = np.where(in_target, target_labels - start, 0).astype(np.uint64)
        bits = np.where(in_target, np.left_shift(np.uint64(1), shift), np.uint64(0))
        reach = dilate_disk(bits, radius)
        in_source = source_mask & (source_labels >= start) & (source_labels < stop)
        src_shift = np.where(in_source, source_labels - start, 0).astype(np.uint64)
        hit = in_source & ((np.right_shift(reach, src_shift) & np.uint64(1)) == 1)
        matched += _class_counts(source_labels, hit, num_classes)
    return matched


def boundary_f1_image(
    y_true: np.ndarray,
    y_pred_ids: np.ndarray,
    num_classes: int,
    ignore_class: int | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> np.ndarray:
    """Per-class boundary F1 of one image.

    Args:
        y_true: int array `[H, W]` of ground-truth ids (void allowed).
        y_pred_ids: int array `[H, W]` of predicted ids in `[0, num_classes)`.
        num_classes: number of real classes.
        ignore_class: additional void id, or None.
        tolerance: matching distance as a fraction of the image diagonal.

    Returns:
        float64 array `[num_classes]`: F1 per class, NaN for classes absent
        from both maps (see the module docstring for the conventions).
    """
    valid = valid_mask(y_true, num_classes, ignore_class)
    gt = np.where(valid, y_true, _VOID)
    # Copying the void into the prediction keeps void edges identical in both maps.
    pred = np.where(valid, y_pred_ids, _VOID)
    gt_boundary = label_edges(gt) & valid
    pred_boundary = label_edges(pred) & valid
    radius = tolerance_pixels(*gt.shape, tolerance)

    present_gt = _class_counts(gt, valid, num_classes) > 0
    present_pred = _class_counts(pred, valid, num_classes) > 0
    n_pred = _class_counts(pred, pred_boundary, num_classes)
    n_gt = _class_counts(gt, gt_boundary, num_classes)
    hit_pred = _matched_counts(pred, pred_boundary, gt, gt_boundary, radius, num_classes)
    hit_gt = _matched_counts(gt, gt_boundary, pred, pred_boundary, radius, num_classes)

    precision = np.divide(hit_pred, n_pred, out=np.zeros(num_classes), where=n_pred > 0)
    recall = np.divide(hit_gt, n_gt, out=np.zeros(num_classes), where=n_gt > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(num_classes), where=denom > 0)
    both = present_gt & present_pred
    f1[both & (n_pred == 0) & (n_gt == 0)] = 1.0
    f1[~present_gt & ~present_pred] = np.nan
    return f1


def boundary_f1_scores(
    y_true,
    y_pred_ids,
    num_classes: int,
    ignore_class: int | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> np.ndarray:
    """Per-image, per-class boundary F1 for a batch.

    Args:
        y_true: ground-truth ids `[B, H, W]`, `[B, H, W, 1]` or `[H, W]`.
        y_pred_ids: predicted ids of the same shape, or scores
            `[B, H, W, num_classes]` (the argmax is taken).
        num_classes: number of real classes.
        ignore_class: additional void id, or None.
        tolerance: matching distance as a fraction of the image diagonal.

    Returns:
        float64 array `[B, num_classes]`, NaN where a class is absent from both
        the ground truth and the prediction of an image.
    """
    num_classes = check_num_classes(num_classes)
    t, p = as_label_maps(y_true, y_pred_ids, num_classes)
    out = np.empty((t.shape[0], num_classes), dtype=np.float64)
    for i in range(t.shape[0]):
        out[i] = boundary_f1_image(t[i], p[i], num_classes, ignore_class, tolerance)
    return out


def per_image_boundary_f1(scores: np.ndarray) -> np.ndarray:
    """Averages `[B, K]` per-class scores over the classes each image has.

    Args:
        scores: output of `boundary_f1_scores`.

    Returns:
        float64 array `[B]`, NaN for images with no scored class.
    """
    scores = np.asarray(scores, dtype=np.float64)
    defined = ~np.isnan(scores)
    counts = defined.sum(axis=1)
    sums = np.where(defined, scores, 0.0).sum(axis=1)
    return np.divide(sums, counts, out=np.full(counts.shape, np.nan), where=counts > 0)


def boundary_f1(
    y_true,
    y_pred_ids,
    num_classes: int,
    ignore_class: int | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> float:
    """Mean over images of the per-image boundary F1 (the paper's BF).

    Args:
        y_true: ground-truth ids `[B, H, W]`, `[B, H, W, 1]` or `[H, W]`.
        y_pred_ids: predicted ids of the same shape, or scores
            `[B, H, W, num_classes]` (the argmax is taken).
        num_classes: number of real classes.
        ignore_class: additional void id (CamVid: 11), or None.
        tolerance: matching distance as a fraction of the image diagonal.

    Returns:
        BF as a fraction in [0, 1]; NaN if no image has a non-void pixel.
    """
    per_image = per_image_boundary_f1(
        boundary_f1_scores(y_true, y_pred_ids, num_classes, ignore_class, tolerance)
    )
    defined = per_image[~np.isnan(per_image)]
    return float(defined.mean()) if defined.size else float("nan")
