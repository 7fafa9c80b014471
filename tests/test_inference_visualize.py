"""Colourised masks, overlays, legends and the mask/uncertainty PNG files."""

import numpy as np
import pytest
from PIL import Image

from segnet_tf.atomic_files import save_png_atomic
from segnet_tf.classes import CAMVID_CLASSES
from segnet_tf.inference import colorize, default_classes, draw_legend, overlay, with_legend
from segnet_tf.inference.class_info import generic_palette
from segnet_tf.visualize import mask_image, uncertainty_image


def test_colorize_uses_the_class_palette():
    mask = np.array([[0, 3], [11, 4]])
    colors = colorize(mask, CAMVID_CLASSES)
    assert colors.dtype == np.uint8 and colors.shape == (2, 2, 3)
    assert tuple(colors[0, 1]) == (128, 64, 128)  # Road
    assert tuple(colors[1, 0]) == (0, 0, 0)  # void
    with pytest.raises(ValueError, match="0..11"):
        colorize(np.array([[12]]), CAMVID_CLASSES)
    with pytest.raises(ValueError, match="integer"):
        colorize(np.zeros((2, 2), np.float32), CAMVID_CLASSES)


def test_overlay_blends_image_and_colours():
    image = np.full((2, 2, 3), 100, np.uint8)
    mask = np.array([[1, 1], [1, 1]])  # Building (128, 0, 0)
    blended = overlay(image, mask, CAMVID_CLASSES, alpha=0.25)
    np.testing.assert_array_equal(blended[0, 0], [107, 75, 75])
    np.testing.assert_array_equal(overlay(image, mask, CAMVID_CLASSES, alpha=0.0), image)
    with pytest.raises(ValueError, match="equal sizes"):
        overlay(image, np.zeros((3, 2), int), CAMVID_CLASSES)


def test_legend_lists_requested_classes():
    full = draw_legend(CAMVID_CLASSES)
    two = draw_legend(CAMVID_CLASSES, [3, 8])
    assert full.height > two.height > 0 and full.mode == "RGB"
    # The first swatch of `two` is Road's colour.
    pixels = np.asarray(two)
    assert (pixels == (128, 64, 128)).all(axis=-1).sum() > 50
    combined = with_legend(np.zeros((5, 7, 3), np.uint8), two)
    assert combined.size == (7 + two.width, max(5, two.height))
    with pytest.raises(ValueError, match="not in the class list"):
        draw_legend(CAMVID_CLASSES, [40])


def test_generic_palette_is_distinct_and_deterministic():
    palette = generic_palette(300)
    assert len({tuple(c) for c in palette}) == 300
    np.testing.assert_array_equal(palette, generic_palette(300))
    assert default_classes(11) == CAMVID_CLASSES
    assert default_classes(3).names == ("class 0", "class 1", "class 2")


def test_mask_png_holds_class_ids_and_shows_colours(tmp_path):
    mask = np.array([[0, 3, 10], [11, 2, 1]], np.int32)
    path = save_png_atomic(mask_image(mask, CAMVID_CLASSES), tmp_path / "m.png")
    with Image.open(path) as im:
        assert im.mode == "P"
        np.testing.assert_array_equal(np.asarray(im), mask)
        assert im.convert("RGB").getpixel((1, 0)) == (128, 64, 128)
    assert [p.name for p in tmp_path.iterdir()] == ["m.png"]  # no temporary left over


def test_uncertainty_png_uses_a_fixed_scale():
    entropy = np.array([[0.0, np.log(4) / 2, np.log(4)]], np.float32)
    np.testing.assert_array_equal(np.asarray(uncertainty_image(entropy, 4)), [[0, 128, 255]])
