"""Deterministic procedural road scenes with exact masks (no files needed).

Each scene has a sky gradient, textured buildings on the horizon, textured ground,
a perspective road with lane markings, and cars, signs and people drawn with
rectangles, circles and ellipses; a dark "bonnet" band at the bottom is void in some
scenes. Every pixel's class is known exactly. Scene ``i`` depends only on ``(seed,
i)``, so data sets are reproducible and can be generated in parallel.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from segnet_tf.classes import ClassList

SKY, BACKGROUND, ROAD, CAR, SIGN, PERSON, VOID = range(7)

SYNTHETIC_CLASSES = ClassList(
    names=("sky", "background", "road", "car", "sign", "person", "void"),
    colors=(
        (128, 128, 128),
        (128, 0, 0),
        (128, 64, 128),
        (64, 0, 128),
        (192, 128, 128),
        (64, 64, 0),
        (0, 0, 0),
    ),
    void_id=VOID,
)


def _noise(rng: np.random.Generator, h: int, w: int, scale: float) -> np.ndarray:
    """Smooth-ish value noise: coarse random grid upsampled plus fine grain."""
    gh, gw = max(2, h // 16), max(2, w // 16)
    coarse = rng.normal(0.0, 1.0, (gh, gw))
    ys = np.linspace(0, gh - 1, h).round().astype(int)
    xs = np.linspace(0, gw - 1, w).round().astype(int)
    smooth = coarse[ys][:, xs]
    fine = rng.normal(0.0, 0.5, (h, w))
    return (smooth + fine) * scale


def synthetic_example(index: int, size: tuple[int, int] = (96, 128), seed: int = 0):
    """Generate one scene.

    Args:
        index: Scene index.
        size: ``(height, width)``.
        seed: Data-set seed.

    Returns:
        ``(image, mask)``: uint8 ``[H, W, 3]`` and uint8 ``[H, W, 1]`` (ids of
        :data:`SYNTHETIC_CLASSES`).
    """
    h, w = int(size[0]), int(size[1])
    if h < 8 or w < 8:
        raise ValueError(f"synthetic scenes need size >= (8, 8); got {size}.")
    rng = np.random.default_rng([int(seed), int(index)])
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    image = np.zeros((h, w, 3), np.float32)
    mask = np.zeros((h, w), np.uint8)

    def paint(region: np.ndarray, label: int, color, texture: float = 6.0) -> None:
        mask[region] = label
        tex = _noise(rng, h, w, texture)[region]
        image[region] = np.asarray(color, np.float32) + tex[:, None]

    # Sky: vertical gradient, brighter towards the horizon.
    horizon = int(h * rng.uniform(0.3, 0.5))
    sky_top = rng.uniform([60, 110, 170], [110, 150, 230])
    t = (yy / max(horizon, 1))[..., None]
    image[:] = sky_top * (1 - t) + np.array([200, 210, 230]) * t
    image += _noise(rng, h, w, 3.0)[..., None]
    mask[:] = SKY

    # Buildings: blocks standing on the horizon, with a window grid texture.
    x = 0
    while x < w:
        bw = int(rng.uniform(0.08, 0.25) * w)
        top = int(horizon * rng.uniform(0.1, 0.8))
        region = (xx >= x) & (xx < x + bw) & (yy >= top) & (yy < horizon + 1)
        base = rng.uniform(60, 170, 3)
        paint(region, BACKGROUND, base, 8.0)
        windows = region & ((yy.astype(int) // 4) % 3 == 0) & ((xx.astype(int) // 4) % 3 == 1)
        image[windows] *= 0.6
        x += bw + int(rng.integers(0, max(2, w // 20)))

    # Ground (pavement/grass) below the horizon.
    ground = yy > horizon
    paint(ground, BACKGROUND, rng.uniform([70, 90, 50], [120, 140, 90]), 10.0)

    # Road: a trapezoid towards a vanishing point on the horizon.
    vx = w * rng.uniform(0.35, 0.65)
    half_bottom = w * rng.uniform(0.35, 0.6)
    frac = np.clip((yy - horizon) / max(h - horizon, 1), 0, 1)
    left = vx - half_bottom * frac
    right = vx + half_bottom * frac
    road = ground & (xx >= left) & (xx <= right)
    paint(road, ROAD, rng.uniform(70, 110, 3).round(), 5.0)
    # Dashed centre line: still road (the class is the surface, not the paint).
    centre = road & (np.abs(xx - vx) < 1 + 2 * frac) & ((yy.astype(int) // 6) % 2 == 0)
    image[centre] = (230, 230, 220)

    # Cars: boxes with a window strip and two dark wheels.
    for _ in range(int(rng.integers(0, 4))):
        cy = horizon + (h - horizon) * rng.uniform(0.2, 0.8)
        scale = (cy - horizon) / max(h - horizon, 1) + 0.15
        cw, ch = w * 0.25 * scale, h * 0.15 * scale
        cx = rng.uniform(0, w - cw)
        body = (xx >= cx) & (xx < cx + cw) & (yy >= cy - ch) & (yy < cy)
        paint(body, CAR, rng.uniform(0, 255, 3), 4.0)
        glass = body & (yy < cy - 0.6 * ch) & (xx > cx + 0.15 * cw) & (xx < cx + 0.85 * cw)
        image[glass] = (40, 50, 70)
        for wx in (cx + 0.2 * cw, cx + 0.8 * cw):
            wheel = (xx - wx) ** 2 + (yy - cy) ** 2 < (0.12 * cw) ** 2
            paint(wheel, CAR, (20, 20, 20), 3.0)

    # Signs: a disc or a triangle on a pole (the pole is background).
    for _ in range(int(rng.integers(0, 3))):
        sx = rng.uniform(0.05, 0.95) * w
        base_y = horizon + rng.uniform(0.05, 0.4) * (h - horizon)
        r = max(2.0, h * rng.uniform(0.03, 0.07))
        sy = base_y - 4 * r
        pole = (np.abs(xx - sx) < max(1.0, r / 5)) & (yy > sy) & (yy < base_y)
        paint(pole, BACKGROUND, (90, 90, 90), 2.0)
        if rng.uniform() < 0.5:
            shape = (xx - sx) ** 2 + (yy - sy) ** 2 < r**2
        else:
            shape = (yy < sy + r) & (yy > sy - r) & (np.abs(xx - sx) < (yy - (sy - r)) / 2)
        color = (200, 30, 30) if rng.uniform() < 0.5 else (30, 60, 200)
        paint(shape, SIGN, color, 6.0)

    # People: an ellipse body with a circle head.
    for _ in range(int(rng.integers(0, 4))):
        px = rng.uniform(0.05, 0.95) * w
        py = horizon + rng.uniform(0.1, 0.9) * (h - horizon)
        ph = h * 0.15 * ((py - horizon) / max(h - horizon, 1) + 0.3)
        body = ((xx - px) / (ph / 6)) ** 2 + ((yy - (py - ph / 2)) / (ph / 2.5)) ** 2 < 1
        head = (xx - px) ** 2 + (yy - (py - ph)) ** 2 < (ph / 8) ** 2
        paint(body, PERSON, rng.uniform(20, 200, 3), 6.0)
        paint(head, PERSON, (224, 172, 105), 4.0)

    # Void: a dark bonnet band at the bottom in half the scenes (like CamVid's car hood).
    if rng.uniform() < 0.5:
        band = yy >= h - max(1, int(h * rng.uniform(0.03, 0.08)))
        paint(band, VOID, (25, 25, 30), 3.0)

    # Global illumination change so colour alone cannot identify a class.
    image = image * rng.uniform(0.7, 1.2) + rng.normal(0.0, 4.0, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8), mask[..., None]


def synthetic_dataset(
    num_images: int, size: tuple[int, int] = (96, 128), seed: int = 0
) -> tf.data.Dataset:
    """A data set of procedural road scenes, deterministic for a seed.

    Args:
        num_images: Number of scenes.
        size: ``(height, width)`` of every scene.
        seed: Seed; the same seed gives the same images and masks.

    Returns:
        ``tf.data.Dataset`` of ``{"image": uint8 [H, W, 3], "segmentation_mask":
        uint8 [H, W, 1], "file_name": tf.string}`` with classes
        :data:`SYNTHETIC_CLASSES` (attached as ``dataset.class_list``).
    """
    if num_images < 1:
        raise ValueError(f"num_images must be >= 1; got {num_images}.")
    h, w = int(size[0]), int(size[1])
    synthetic_example(0, (h, w), seed)  # Validate arguments eagerly.

    def make(index: np.int64):
        return synthetic_example(int(index), (h, w), seed)

    def to_dict(index):
        image, mask = tf.numpy_function(make, [index], (tf.uint8, tf.uint8), stateful=False)
        return {
            "image": tf.ensure_shape(image, [h, w, 3]),
            "segmentation_mask": tf.ensure_shape(mask, [h, w, 1]),
            "file_name": tf.strings.format("synthetic_{}", index),
        }

    ds = tf.data.Dataset.range(num_images).map(
        to_dict, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    ds.class_list = SYNTHETIC_CLASSES
    return ds
