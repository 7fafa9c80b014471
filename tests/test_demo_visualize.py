"""Tests of segnet_tf.visualize: colour maps and bars, class highlight, before/after split
and the "inside SegNet" feature maps."""

import numpy as np
import pytest

import segnet_tf
from segnet_tf.classes import CAMVID_CLASSES
from segnet_tf.visualize import (
    InsideSegNet,
    colorize_scalar_map,
    feature_grid,
    has_inside_view,
    highlight_class,
    pick_channels,
    render_panels,
    split_view,
    with_colorbar,
    zoom_panels,
)


def test_colorize_scalar_map_spans_the_ramp():
    values = np.array([[0.0, 0.5, 1.0, np.nan]])
    rgb = colorize_scalar_map(values, "magma")
    assert rgb.shape == (1, 4, 3) and rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb[0, 0], [0, 0, 4])  # lowest colour
    np.testing.assert_array_equal(rgb[0, 2], [252, 253, 191])  # highest colour
    np.testing.assert_array_equal(rgb[0, 3], rgb[0, 0])  # NaN drawn lowest
    constant = colorize_scalar_map(np.full((2, 2), 7.0))
    assert (constant == constant[0, 0]).all()
    with pytest.raises(ValueError, match="Unknown colour map"):
        colorize_scalar_map(values, "jet")


def test_feature_grid_tiles_channels_with_gaps():
    maps = np.random.default_rng(0).random((5, 6, 3))
    grid = feature_grid(maps, columns=2, gap=1)
    assert grid.shape == (5 * 2 + 1, 6 * 2 + 1, 3)
    assert (grid[5, :] == 255).all()  # gap row
    assert (grid[6:, 7:] == 255).all()  # empty fourth tile


@pytest.fixture(scope="module")
def inside():
    model = segnet_tf.get_model("segnet_basic", 11, width=1 / 16)
    return InsideSegNet(model)


def test_inside_view_puts_pooled_maxima_back_at_their_positions(inside):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (45, 61, 3), dtype=np.uint8)
    maps = inside.extract(image)
    channels = maps.encoder.shape[-1]
    assert maps.encoder.shape == (45, 61, channels)
    assert maps.pooled.shape == (23, 31, channels)
    assert maps.replaced.shape == maps.decoder_unpooled.shape == maps.encoder.shape
    # Every 2x2 window of the replaced map holds its window's maximum at most once,
    # at the position where the encoder map has that value.
    padded = np.pad(maps.encoder, ((0, 1), (0, 1), (0, 0)), constant_values=-np.inf)
    window_max = padded.reshape(23, 2, 31, 2, channels).max(axis=(1, 3))
    np.testing.assert_allclose(maps.pooled, window_max, rtol=1e-5)
    nonzero = maps.replaced != 0
    np.testing.assert_allclose(maps.replaced[nonzero], maps.encoder[nonzero], rtol=1e-5)
    replaced = np.pad(maps.replaced, ((0, 1), (0, 1), (0, 0)))
    per_window = (replaced.reshape(23, 2, 31, 2, channels) != 0).sum(axis=(1, 3))
    assert per_window.max() == 1
    # The decoder's unpooled map uses the same indices: at most one value per window,
    # at the encoder maximum's position wherever that maximum is non-zero.
    decoder = np.pad(maps.decoder_unpooled, ((0, 1), (0, 1), (0, 0)))
    assert (decoder.reshape(23, 2, 31, 2, channels) != 0).sum(axis=(1, 3)).max() == 1
    has_max = np.repeat(np.repeat(per_window, 2, axis=0), 2, axis=1)[:45, :61] == 1
    misplaced = (maps.decoder_unpooled != 0) & (maps.replaced == 0) & has_max
    assert not misplaced.any()


def test_inside_view_downscales_large_images(inside):
    maps = inside.extract(np.zeros((400, 800, 3), np.uint8), max_side=200)
    assert maps.image.shape == (100, 200, 3)
    assert maps.encoder.shape[:2] == (100, 200)


def test_panels_have_matching_sizes(inside):
    maps = inside.extract(np.random.default_rng(2).integers(0, 256, (30, 40, 3), np.uint8))
    channels = pick_channels(maps.encoder, 4)
    assert len(channels) == 4 and channels == sorted(channels)
    panels = render_panels(maps, channels, columns=2)
    assert set(panels) == {"encoder", "pooled", "replaced", "decoder"}
    assert len({p.shape for p in panels.values()}) == 1
    zoom = zoom_panels(maps, channels[0], window=8, scale=4)
    assert all(p.shape == (32, 32, 3) for p in zoom.values())


def test_pick_channels_prefers_structured_channels():
    maps = np.zeros((8, 8, 5))
    maps[..., 3] = np.arange(64).reshape(8, 8)
    maps[..., 1] = np.eye(8)
    assert pick_channels(maps, 2) == [1, 3]


def test_inside_view_needs_unpooling_layers():
    unet = segnet_tf.get_model("unet", 3, width=1 / 16)
    assert not has_inside_view(unet)
    with pytest.raises(ValueError, match="block1_pool"):
        InsideSegNet(unet)


def test_inside_view_of_a_half_resolution_model():
    from segnet_tf.models import with_input_scale

    model = with_input_scale(segnet_tf.get_model("segnet_basic", 11, width=1 / 16), 0.5)
    maps = InsideSegNet(model).extract(np.zeros((90, 120, 3), np.uint8))
    # The network's first block works on the half-resolution image.
    assert maps.encoder.shape[:2] == (45, 60) and maps.pooled.shape[:2] == (23, 30)


def test_highlight_class_keeps_one_class_and_dims_the_rest():
    image = np.full((2, 3, 3), 200, np.uint8)
    mask = np.array([[3, 3, 0], [0, 3, 1]])
    shown = highlight_class(image, mask, CAMVID_CLASSES, 3, alpha=1.0, dim=0.5)
    road = np.array(CAMVID_CLASSES.colors[3], np.uint8)
    np.testing.assert_array_equal(shown[mask == 3], np.tile(road, (3, 1)))
    np.testing.assert_array_equal(shown[mask != 3], np.full((3, 3), 100, np.uint8))
    with pytest.raises(ValueError, match="not in the class list"):
        highlight_class(image, mask, CAMVID_CLASSES, 12)


def test_split_view_puts_before_left_and_after_right_of_the_line():
    before = np.zeros((4, 10, 3), np.uint8)
    after = np.full((4, 10, 3), 50, np.uint8)
    shown = split_view(before, after, 0.3, line_width=2)
    assert (shown[:, :2] == 0).all() and (shown[:, 2:4] == 255).all()
    assert (shown[:, 4:] == 50).all()
    np.testing.assert_array_equal(split_view(before, after, 0.0), after)
    np.testing.assert_array_equal(split_view(before, after, 1.0), before)
    with pytest.raises(ValueError, match="same size"):
        split_view(before, after[:, :5], 0.5)


def test_colour_bar_shows_the_ramp_beside_the_heat_map():
    values = np.linspace(0.0, 1.0, 120 * 160).reshape(120, 160)
    heat = colorize_scalar_map(values, "viridis", 0.0, 1.0)
    shown = with_colorbar(heat, "viridis", 0.0, 1.0, "confidence")
    assert shown.shape[0] == 120 and shown.shape[1] > 160
    np.testing.assert_array_equal(shown[:, :160], heat)
    panel = shown[:, 160:]
    lut = colorize_scalar_map(np.array([[0.0, 1.0]]), "viridis", 0.0, 1.0)[0]

    # The bar's top is the highest colour and its bottom the lowest.
    def rows_near(colour):
        distance = np.abs(panel.astype(int) - colour.astype(int)).sum(-1)
        return np.nonzero(distance < 12)[0]

    top, low = rows_near(lut[1]), rows_near(lut[0])
    assert top.size and low.size and top.max() < 20 and low.min() > 100
    assert (panel < 100).all(-1).sum() > 20  # dark pixels: the labels are drawn
    with pytest.raises(ValueError, match="vmax"):
        with_colorbar(heat, "viridis", 1.0, 0.0)
