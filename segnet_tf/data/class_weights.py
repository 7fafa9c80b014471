"""Median-frequency class balancing (Eigen & Fergus 2015, as used by SegNet).

``weight[c] = median(freq) / freq[c]`` with, by default (``mode="presence"``, the
SegNet paper's definition), ``freq[c]`` = pixels of class ``c`` divided by the total
(non-void) pixels of the images in which ``c`` appears. ``mode="global"`` uses the plain
pixel share of each class over the whole split instead. Void pixels are excluded
everywhere. Counting streams over the data set: per-image histograms are computed in
the tf.data graph (in parallel) and only ``num_classes``-sized vectors reach Python.

On CamVid ``train`` (367 label maps), ``mode="presence"`` gives::

    Sky 0.2794  Building 0.2018  Pole 4.7889  Road 0.1491  Pavement 1.0000
    Tree 0.4235  SignSymbol 3.8464  Fence 1.9798  Car 0.7890  Pedestrian 6.3847
    Bicyclist 8.8193

against the published 0.2595 0.1826 4.5640 0.1417 0.9051 0.3826 9.6446 1.8418
0.6823 6.2478 7.3614 (``segnet_tf.classes.CAMVID_CLASS_WEIGHTS``): within 2-20 % for
every class but SignSymbol (2.5x lower here). The published values are not
normalised so that the median class has weight 1 (Pavement is 0.9051), which
suggests they were computed on a slightly different set of frames/labels than the
367 released training maps; SignSymbol in particular is much rarer in the published
statistics. ``mode="global"`` is further off for rare classes (Fence 3.98,
Bicyclist 15.4), which is why presence is the default.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

MODES = ("presence", "global")


def _mask_of(element, spec) -> tuple[tf.Tensor, bool]:
    """Return the mask tensor as ``[B, H, W]`` and whether the element is batched."""
    if isinstance(element, dict):
        mask, mspec = element["segmentation_mask"], spec["segmentation_mask"]
        rank = mspec.shape.rank
        batched = rank == 4  # dict masks are [H, W, 1] or [B, H, W, 1]
        mask = mask[..., 0]
    else:
        mask, mspec = element[1], spec[1]
        rank = mspec.shape.rank
        batched = rank == 3  # pipeline masks are [H, W] or [B, H, W]
    if not batched:
        mask = mask[None]
    return mask, batched


def class_pixel_counts(
    dataset: tf.data.Dataset, num_labels: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Stream over a data set and count pixels per label id.

    Args:
        dataset: Dataset of ``{"segmentation_mask": ...}`` dicts or ``(image, mask)``
            tuples, batched or not.
        num_labels: Ids ``0..num_labels-1`` are counted; larger ids are reported in
            the third return value.

    Returns:
        ``(counts, presence_pixels, out_of_range)``: int64 ``[num_labels]`` pixel
        counts per id; int64 ``[num_labels, num_labels]`` where row ``c`` is the sum,
        over images containing ``c``, of each image's per-id counts; number of pixels
        with ids ``>= num_labels``.
    """
    spec = dataset.element_spec

    def per_batch(*element):
        element = element[0] if len(element) == 1 else element
        mask, _ = _mask_of(element, spec)
        ids = tf.reshape(tf.cast(mask, tf.int32), [tf.shape(mask)[0], -1])
        bad = tf.reduce_sum(tf.cast(ids >= num_labels, tf.int64))
        ids = tf.minimum(ids, num_labels)  # out-of-range ids land in an extra bin
        hist = tf.math.bincount(
            ids, minlength=num_labels + 1, maxlength=num_labels + 1, axis=-1, dtype=tf.int64
        )[:, :num_labels]  # [B, num_labels]
        present = tf.cast(hist > 0, tf.int64)
        # presence[c, k] = sum over images containing c of that image's count of k.
        presence = tf.matmul(present, hist, transpose_a=True)
        return tf.reduce_sum(hist, axis=0), presence, bad

    counts = np.zeros(num_labels, np.int64)
    presence = np.zeros((num_labels, num_labels), np.int64)
    bad_total = 0
    for c, p, b in dataset.map(per_batch, num_parallel_calls=tf.data.AUTOTUNE).as_numpy_iterator():
        counts += c
        presence += p
        bad_total += int(b)
    return counts, presence, bad_total


def _class_counts(
    dataset: tf.data.Dataset, num_classes: int, void_id: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """``class_pixel_counts`` over all label ids, checked: only classes and void occur."""
    if void_id is not None and void_id < num_classes:
        raise ValueError(f"void_id={void_id} collides with a real class id (< {num_classes}).")
    num_labels = num_classes if void_id is None else max(num_classes, void_id + 1)
    counts, presence, bad = class_pixel_counts(dataset, num_labels)
    extra = counts[num_classes:].copy()
    if void_id is not None:
        extra[void_id - num_classes] = 0
    if bad or extra.any():
        raise ValueError(
            f"labels contain ids outside 0..{num_classes - 1}"
            + (f" other than void {void_id}" if void_id is not None else "")
            + "; expected only class ids and void."
        )
    return counts, presence


def class_frequencies(
    dataset: tf.data.Dataset, num_classes: int, void_id: int | None = None
) -> np.ndarray:
    """Pixel share of each real class over a data set (void excluded), streamed.

    Args:
        dataset: As for :func:`median_frequency_weights`.
        num_classes: Number of real classes.
        void_id: Void id (not counted), or None.

    Raises:
        ValueError: ids outside the classes that are not void, or no labelled pixel.
    """
    counts, _ = _class_counts(dataset, num_classes, void_id)
    real = counts[:num_classes].astype(np.float64)
    if real.sum() == 0:
        raise ValueError("no labelled (non-void) pixel in the data set.")
    return real / real.sum()


def median_frequency_weights(
    dataset: tf.data.Dataset,
    num_classes: int,
    void_id: int | None = None,
    mode: str = "presence",
) -> np.ndarray:
    """Median-frequency class weights, computed by streaming over ``dataset``.

    Args:
        dataset: Dataset of ``{"segmentation_mask": ...}`` dicts or ``(image, mask)``
            tuples, batched or not (e.g. ``load_camvid("train")``).
        num_classes: Number of real classes (ids ``0..num_classes-1``).
        void_id: Void id, excluded from all counts (any id >= num_classes is allowed
            only if it equals ``void_id``).
        mode: ``"presence"`` (SegNet / Eigen & Fergus definition, default) or
            ``"global"`` (pixel share over the whole split).

    Returns:
        float64 ``[num_classes]`` weights; classes that never occur get weight 0
        (they cannot contribute to the loss anyway) and are left out of the median.

    Raises:
        ValueError: Unknown mode, ids outside ``0..num_classes-1`` that are not
            void, or no labelled pixel at all.
    """
    if mode not in MODES:
        raise ValueError(f"mode={mode!r}; expected one of {MODES}.")
    counts, presence = _class_counts(dataset, num_classes, void_id)
    class_counts = counts[:num_classes].astype(np.float64)
    if mode == "global":
        denom = np.full(num_classes, class_counts.sum())
    else:
        # Non-void pixels of the images in which each class is present.
        denom = presence[:num_classes, :num_classes].sum(axis=1).astype(np.float64)
    if class_counts.sum() == 0:
        raise ValueError("no labelled (non-void) pixel in the data set.")
    seen = class_counts > 0
    freq = np.zeros(num_classes)
    freq[seen] = class_counts[seen] / denom[seen]
    weights = np.zeros(num_classes)
    weights[seen] = np.median(freq[seen]) / freq[seen]
    return weights
