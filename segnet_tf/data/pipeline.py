"""Training and evaluation input pipelines.

Both operate on datasets of ``{"image": uint8 [H, W, 3], "segmentation_mask": uint8
[H, W, 1]}`` dicts (the tfds feature format, also produced by ``folder_dataset``,
``synthetic_dataset`` and ``load_camvid``) and yield ``(image, mask)`` batches:
image float32 ``[B, H, W, 3]`` in ``[0, 255]`` RGB, mask int32 ``[B, H, W]`` with class
ids (void kept as its id).

Training: cache decoded data -> shuffle -> random scale-and-crop to the training size
(one ``crop_and_resize`` per tensor: image bilinear, mask nearest, so labels are never
interpolated) -> horizontal flip of image and mask together -> brightness / contrast /
hue on the image only -> optionally a random camera shift (white balance, exposure,
gamma, saturation, noise, blur, JPEG: :mod:`segnet_tf.data.camera_augment`) -> batch
-> prefetch. All randomness is stateless and derived
from ``seed`` and a per-element seed stream, so the output is deterministic for a seed
(also across epochs) regardless of parallelism.
"""

from __future__ import annotations

import tensorflow as tf

from segnet_tf.data.camera_augment import random_camera_shift

IMAGE_KEY = "image"
MASK_KEY = "segmentation_mask"


def _split(element):
    """Accept a dict (tfds format) or an (image, mask) tuple."""
    if isinstance(element, dict):
        return element[IMAGE_KEY], element[MASK_KEY]
    image, mask = element[0], element[1]
    return image, mask


def _as_mask3(mask: tf.Tensor) -> tf.Tensor:
    """Give the mask a channel axis ``[H, W, 1]``."""
    mask = tf.convert_to_tensor(mask)
    if mask.shape.rank == 2:
        mask = mask[..., None]
    return mask


def _finalize(image: tf.Tensor, mask: tf.Tensor):
    image = tf.cast(image, tf.float32)
    mask = tf.cast(tf.squeeze(_as_mask3(mask), axis=-1), tf.int32)
    return image, mask


def _scale_crop_boxes(
    seed: tf.Tensor,
    src_hw: tf.Tensor,
    out_hw: tuple[int, int],
    scale_range: tuple[float, float],
    allow_padding: bool,
) -> tf.Tensor:
    """Normalised ``crop_and_resize`` box for a random scale and crop.

    Scale 1 maps the source to the training size the way a plain "cover" resize
    would (the smaller scale factor that covers the output), so ``scale_range``
    means zoom relative to the training resolution. Boxes outside the image pad
    (with void for the mask) when ``allow_padding``; otherwise the scale is clamped
    so the crop always fits inside the image.
    """
    src = tf.cast(src_hw, tf.float32)
    out = tf.constant(out_hw, tf.float32)
    base = tf.reduce_max(out / src)
    s = tf.random.stateless_uniform([], seed, scale_range[0], scale_range[1])
    if not allow_padding:
        s = tf.maximum(s, 1.0)
    crop = out / (base * s)  # Crop window size in source pixels.
    # Offset: anywhere inside the image if the window fits, else centred-ish padding.
    u = tf.random.stateless_uniform([2], seed + 1, 0.0, 1.0)
    lo = tf.minimum(0.0, src - crop)
    hi = tf.maximum(0.0, src - crop)
    offset = lo + u * (hi - lo)
    # Match half-pixel-centre resampling: output pixel i samples source coordinate
    # offset + (i + 0.5) * crop / out - 0.5; crop_and_resize samples
    # y1 * (H - 1) + i * (y2 - y1) * (H - 1) / (out - 1).
    first = offset + 0.5 * crop / out - 0.5
    span = crop * (out - 1.0) / out
    denom = tf.maximum(src - 1.0, 1.0)
    start = first / denom
    end = (first + span) / denom
    return tf.stack([start[0], start[1], end[0], end[1]])[None, :]


def _photometric(image: tf.Tensor, seed: tf.Tensor, strength: float) -> tf.Tensor:
    """Brightness, contrast and hue jitter on a float image in [0, 255]."""
    x = image / 255.0
    x = tf.image.stateless_random_brightness(x, 0.2 * strength, seed + 3)
    x = tf.image.stateless_random_contrast(x, 1.0 - 0.3 * strength, 1.0 + 0.3 * strength, seed + 4)
    x = tf.image.stateless_random_hue(x, 0.05 * strength, seed + 5)
    return tf.clip_by_value(x, 0.0, 1.0) * 255.0


def augment_example(
    image: tf.Tensor,
    mask: tf.Tensor,
    seed: tf.Tensor,
    image_size: tuple[int, int],
    scale_range: tuple[float, float] = (0.5, 2.0),
    flip: bool = True,
    photometric: float = 1.0,
    void_id: int | None = None,
    camera: bool = False,
):
    """Random scale-and-crop, joint flip, photometric jitter and camera shift of one example.

    Args:
        image: uint8/float ``[H, W, 3]``.
        mask: integer ``[H, W, 1]`` or ``[H, W]``.
        seed: int32/int64 ``[2]`` stateless seed.
        image_size: Output ``(height, width)``.
        scale_range: Zoom range relative to the training resolution.
        flip: Random horizontal flip (image and mask together).
        photometric: Strength of brightness/contrast/hue jitter (0 disables).
        void_id: Label used to pad the mask when zooming out beyond the image; if
            None, zoom-out is clamped so that no padding is needed.
        camera: A random camera shift of the image
            (:func:`segnet_tf.data.camera_augment.random_camera_shift`).

    Returns:
        ``(image float32 [h, w, 3] in [0, 255], mask int32 [h, w])``.
    """
    seed = tf.cast(seed, tf.int64)
    image = tf.convert_to_tensor(image)
    mask = _as_mask3(mask)
    h, w = image_size
    box = _scale_crop_boxes(
        seed, tf.shape(image)[:2], (h, w), scale_range, allow_padding=void_id is not None
    )
    box_ind = tf.zeros([1], tf.int32)
    img = tf.image.crop_and_resize(
        tf.cast(image, tf.float32)[None], box, box_ind, (h, w), method="bilinear"
    )[0]
    # Nearest sampling on the float copy of the ids is exact (ids < 2**24).
    msk = tf.image.crop_and_resize(
        tf.cast(mask, tf.float32)[None],
        box,
        box_ind,
        (h, w),
        method="nearest",
        extrapolation_value=float(void_id if void_id is not None else 0),
    )[0]
    if flip:
        do_flip = tf.random.stateless_uniform([], seed + 2) < 0.5
        img = tf.cond(do_flip, lambda: tf.reverse(img, [1]), lambda: img)
        msk = tf.cond(do_flip, lambda: tf.reverse(msk, [1]), lambda: msk)
    if photometric > 0:
        img = _photometric(img, seed, photometric)
    if camera:
        img = random_camera_shift(img, seed)
    img = tf.ensure_shape(tf.clip_by_value(img, 0.0, 255.0), [h, w, 3])
    msk = tf.ensure_shape(tf.cast(tf.round(msk[..., 0]), tf.int32), [h, w])
    return img, msk


def resize_example(image: tf.Tensor, mask: tf.Tensor, image_size: tuple[int, int]):
    """Resize to ``image_size``: image bilinear, mask nearest (labels never blended).

    Args:
        image: ``[H, W, 3]``.
        mask: ``[H, W, 1]`` or ``[H, W]``.
        image_size: ``(height, width)``.

    Returns:
        ``(image float32 [h, w, 3], mask int32 [h, w])``.
    """
    mask = _as_mask3(mask)
    image = tf.convert_to_tensor(image)
    img = tf.image.resize(tf.cast(image, tf.float32), image_size, method="bilinear")
    msk = tf.image.resize(mask, image_size, method="nearest")
    img = tf.clip_by_value(img, 0.0, 255.0)
    return _finalize(img, msk)


def _decoded_only(element):
    """Keep only image and mask (drops e.g. file names), as uint8, before caching."""
    image, mask = _split(element)
    return {IMAGE_KEY: image, MASK_KEY: _as_mask3(mask)}


def make_training_pipeline(
    dataset: tf.data.Dataset,
    image_size: tuple[int, int] | None = (360, 480),
    batch_size: int = 4,
    augment: bool = True,
    scale_range: tuple[float, float] = (0.5, 2.0),
    seed: int = 0,
    shuffle: bool = True,
    cache: bool | str = True,
    shuffle_buffer: int = 512,
    void_id: int | None = None,
    flip: bool = True,
    photometric: float = 1.0,
    drop_remainder: bool = True,
    repeat: bool = False,
    camera_augment: bool = False,
) -> tf.data.Dataset:
    """Training pipeline: cache, shuffle, augment, batch, prefetch.

    Args:
        dataset: Dataset of ``{"image", "segmentation_mask"}`` dicts (or
            ``(image, mask)`` tuples), not batched.
        image_size: Training ``(height, width)``; None keeps each image's size (all
            images must then have the same size, and no scale-crop is applied).
        batch_size: Batch size.
        augment: Random scale-and-crop, flip and photometric jitter; if False,
            images are only resized to ``image_size``.
        scale_range: Zoom range relative to the training resolution (see
            :func:`augment_example`).
        seed: Seed of the shuffle and of every random transform.
        shuffle: Shuffle examples (reshuffled every epoch, deterministically).
        cache: Cache the decoded uint8 data in memory (True), in a file (str path
            prefix) or not at all (False); caching pays whenever decoding costs more
            than reading memory, i.e. almost always for PNG/JPEG sources.
        shuffle_buffer: Shuffle buffer size.
        void_id: Void label; when given, zoom-outs beyond the image are padded with
            it (and black image pixels); when None, zoom-out is clamped to fit.
        flip: Random horizontal flip.
        photometric: Strength of brightness/contrast/hue jitter (0 disables).
        drop_remainder: Drop the last incomplete batch (static batch shape).
        repeat: Repeat forever (each pass reshuffled and re-augmented).
        camera_augment: Also a random camera shift of each image (white balance,
            exposure, gamma, saturation, sensor noise, blur, JPEG; see
            :mod:`segnet_tf.data.camera_augment`); needs ``augment``.

    Returns:
        Dataset of ``(image float32 [B, h, w, 3] in [0, 255], mask int32 [B, h, w])``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}.")
    if scale_range[0] <= 0 or scale_range[0] > scale_range[1]:
        raise ValueError(f"scale_range must satisfy 0 < lo <= hi; got {scale_range}.")
    if augment and image_size is None:
        raise ValueError("augment=True needs an image_size (the crop size).")
    if camera_augment and not augment:
        raise ValueError(
            "camera_augment=True needs augment=True (the camera shifts are drawn from "
            "the augmentation's per-example seeds)."
        )
    ds = dataset.map(_decoded_only, num_parallel_calls=tf.data.AUTOTUNE)
    if cache:
        ds = ds.cache(cache if isinstance(cache, str) else "")
    if shuffle:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    if augment:
        # A per-element seed stream, re-drawn deterministically at every iteration
        # (epoch), zipped with the data so parallel map stays reproducible.
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        ds = tf.data.Dataset.zip(ds, seeds)
        size = tuple(int(v) for v in image_size)

        def aug(element, s):
            image, mask = _split(element)
            return augment_example(
                image,
                mask,
                s,
                size,
                scale_range,
                flip=flip,
                photometric=photometric,
                void_id=void_id,
                camera=camera_augment,
            )

        ds = ds.map(aug, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    elif image_size is not None:
        size = tuple(int(v) for v in image_size)
        ds = ds.map(
            lambda e: resize_example(*_split(e), size),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
    else:
        ds = ds.map(lambda e: _finalize(*_split(e)), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    return ds.prefetch(tf.data.AUTOTUNE)


def make_eval_pipeline(
    dataset: tf.data.Dataset, batch_size: int = 1, cache: bool | str = False
) -> tf.data.Dataset:
    """Evaluation pipeline: full resolution, no augmentation, fixed order.

    Args:
        dataset: Dataset of ``{"image", "segmentation_mask"}`` dicts (or tuples).
        batch_size: Batch size (images in a batch must share one size; use 1 for
            data sets of mixed sizes).
        cache: Cache decoded data (useful when evaluating every epoch).

    Returns:
        Dataset of ``(image float32 [B, H, W, 3], mask int32 [B, H, W])``; the last
        batch may be smaller so that every example is evaluated.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}.")
    ds = dataset.map(_decoded_only, num_parallel_calls=tf.data.AUTOTUNE)
    if cache:
        ds = ds.cache(cache if isinstance(cache, str) else "")
    ds = ds.map(lambda e: _finalize(*_split(e)), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
