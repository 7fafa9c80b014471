"""Representative images for int8 quantisation: a spread of a data source's training split."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

DEFAULT_CALIBRATION_IMAGES = 64
"""Images the int8 scales are calibrated on by default: enough for stable activation
ranges of a street-scene network, few enough to calibrate in a minute."""


def training_images(
    source: str, count: int = DEFAULT_CALIBRATION_IMAGES, **split_options
) -> Callable[[], Iterator[np.ndarray]]:
    """A function yielding ``count`` uint8 training images spread over the split.

    Consecutive CamVid frames come from the same drive, so every k-th image is taken
    (k = split size // count) to calibrate on all of its scenes.

    Args:
        source: Data source name (``camvid``, ``folder``, ``synthetic``).
        count: Number of images (>= 1).
        **split_options: ``data_dir``, ``synthetic_images``, ``image_size``, ``seed`` of
            :func:`segnet_tf.data_sources.load_split`.

    Raises:
        ValueError: If ``count`` is not a positive int, or the split cannot be read.
    """
    from segnet_tf.data_sources import load_split  # imports TF

    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"The calibration image count must be an int >= 1; got {count!r}.")
    dataset, _ = load_split(source, "train", **split_options)
    size = int(dataset.cardinality())
    step = max(1, size // count) if size > 0 else 1
    picked = dataset.shard(step, 0).take(count) if step > 1 else dataset.take(count)

    def images() -> Iterator[np.ndarray]:
        for example in picked:
            yield np.asarray(example["image"], np.uint8)

    return images
