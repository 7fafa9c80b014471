"""Kept for existing imports: the mask pictures live in :mod:`segnet_tf.visualize.masks`."""

from segnet_tf.visualize.masks import colorize, draw_legend, overlay, with_legend

__all__ = ["colorize", "draw_legend", "overlay", "with_legend"]
