"""How large an image Segmenter works on: the one downscaling rule and resampler.

:class:`~segnet_tf.inference.Segmenter` owns a :class:`ResizePolicy`
(``Segmenter.resize_policy``) and applies it to every image it segments; the demo
builds its working images with the same class, and the view of SegNet's feature maps
(:mod:`segnet_tf.visualize.inside_segnet`) shrinks its image with it, so there is one
rule for the smallest accepted image, one for the largest working size and one
resampler. Plain NumPy and Pillow, below the packages that use it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from segnet_tf.errors import DataError

DEFAULT_MAX_PIXELS = 8_000_000
"""Segmenter's default working size, in pixels."""
MIN_SIDE = 8
"""Smallest width and height segmented: below, SegNet's pooling leaves nothing to see."""
RESAMPLING = Image.Resampling.BOX
"""Area averaging: every covered pixel counts once, so shrinking does not alias."""


@dataclass(frozen=True)
class ResizePolicy:
    """Refuse images too small to segment and shrink large ones (aspect ratio kept).

    Args:
        max_pixels: Largest working size in pixels, or None for no such limit.
        max_side: Largest working width and height, or None for no such limit.
        min_side: Smallest accepted width and height.
    """

    max_pixels: int | None = DEFAULT_MAX_PIXELS
    max_side: int | None = None
    min_side: int = MIN_SIDE

    def check(self, height: int, width: int, name: str) -> None:
        """Refuse an image smaller than ``min_side`` on either side.

        Raises:
            DataError: Naming ``name``, its size and the smallest accepted size.
        """
        if min(height, width) < self.min_side:
            raise DataError(
                f"{name}: the image is only {width}×{height} pixels; segnet_tf needs at least "
                f"{self.min_side}×{self.min_side} pixels to segment anything."
            )

    def working_size(self, height: int, width: int) -> tuple[int, int]:
        """``(height, width)`` an image of ``height x width`` is shrunk to (or kept at)."""
        candidates = [(height, width)]
        if self.max_pixels is not None and height * width > self.max_pixels:
            # Rounded down so that the result never exceeds max_pixels.
            scale = math.sqrt(self.max_pixels / (height * width))
            candidates.append((max(1, int(height * scale)), max(1, int(width * scale))))
        if self.max_side is not None and max(height, width) > self.max_side:
            scale = self.max_side / max(height, width)
            candidates.append((max(1, round(height * scale)), max(1, round(width * scale))))
        return min(candidates, key=lambda size: size[0] * size[1])

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """``rgb`` (uint8 ``[H, W, 3]``) shrunk to :meth:`working_size` with :data:`RESAMPLING`."""
        height, width = rgb.shape[:2]
        new_height, new_width = self.working_size(height, width)
        if (new_height, new_width) == (height, width):
            return rgb
        resized = Image.fromarray(rgb).resize((new_width, new_height), RESAMPLING)
        return np.asarray(resized, np.uint8)
