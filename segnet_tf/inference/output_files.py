"""PNG files of predictions, written atomically (temporary file + ``os.replace``)."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from segnet_tf.classes import ClassList


def mask_image(mask: np.ndarray, classes: ClassList) -> Image.Image:
    """A class-id mask as a PNG-ready image whose pixel values are the class ids.

    Up to 256 labels: a palette ("P") image, displayed in the class colours and read
    back as ids by Pillow and by ``segnet_tf.data`` (palette index = class id). More
    labels: 16-bit grayscale.

    Args:
        mask: Integer ``[H, W]`` class ids.
        classes: Class list giving the palette.
    """
    if classes.num_labels <= 256:
        image = Image.fromarray(mask.astype(np.uint8))
        # On an "L" image putpalette switches the mode to "P", keeping the values.
        image.putpalette(classes.palette().reshape(-1).tolist())
        return image
    return Image.fromarray(mask.astype(np.uint16))


def uncertainty_image(entropy: np.ndarray, num_classes: int) -> Image.Image:
    """Entropy map as 8-bit grayscale, scaled by its maximum ``ln(num_classes)``.

    A fixed scale (not the image's own maximum) keeps images comparable.

    Args:
        entropy: float ``[H, W]`` entropy in nats.
        num_classes: Number of classes.
    """
    scaled = np.clip(entropy / math.log(num_classes), 0.0, 1.0) * 255.0
    return Image.fromarray(np.round(scaled).astype(np.uint8))
