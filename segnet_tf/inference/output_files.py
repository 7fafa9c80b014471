"""Kept for existing imports: these pictures live in :mod:`segnet_tf.visualize`."""

from segnet_tf.visualize.colormap import uncertainty_image
from segnet_tf.visualize.masks import mask_image

__all__ = ["mask_image", "uncertainty_image"]
