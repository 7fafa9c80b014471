"""Colour maps for scalar maps (confidence, uncertainty, activations) and their colour bars."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# Anchor colours of perceptually ordered ramps (sampled from the matplotlib maps of the
# same name), linearly interpolated in between.
_RAMPS: dict[str, tuple[tuple[int, int, int], ...]] = {
    "magma": (
        (0, 0, 4),
        (28, 16, 68),
        (79, 18, 123),
        (129, 37, 129),
        (181, 54, 122),
        (229, 80, 100),
        (251, 135, 97),
        (254, 194, 135),
        (252, 253, 191),
    ),
    "viridis": (
        (68, 1, 84),
        (72, 40, 120),
        (62, 74, 137),
        (49, 104, 142),
        (38, 130, 142),
        (31, 158, 137),
        (53, 183, 121),
        (109, 205, 89),
        (180, 222, 44),
        (253, 231, 37),
    ),
}


def colormap_names() -> list[str]:
    """Names accepted by :func:`colorize_scalar_map`."""
    return sorted(_RAMPS)


def _lookup_table(name: str) -> np.ndarray:
    if name not in _RAMPS:
        raise ValueError(f"Unknown colour map {name!r}; expected one of {colormap_names()}.")
    anchors = np.asarray(_RAMPS[name], dtype=np.float64)
    positions = np.linspace(0.0, 1.0, len(anchors))
    levels = np.linspace(0.0, 1.0, 256)
    table = np.stack([np.interp(levels, positions, anchors[:, c]) for c in range(3)], axis=-1)
    return np.round(table).astype(np.uint8)


def colorize_scalar_map(
    values: np.ndarray,
    colormap: str = "magma",
    vmin: float | None = None,
    vmax: float | None = None,
) -> np.ndarray:
    """Map a 2-D array of scalars to RGB through a colour ramp.

    Args:
        values: ``[H, W]`` numbers; NaN/inf are drawn as the lowest colour.
        colormap: One of :func:`colormap_names`.
        vmin: Value drawn with the lowest colour; defaults to the minimum.
        vmax: Value drawn with the highest colour; defaults to the maximum. A constant
            map (``vmax == vmin``) is drawn entirely with the lowest colour.

    Returns:
        uint8 ``[H, W, 3]``.

    Raises:
        ValueError: If ``values`` is not 2-D or the colour map is unknown.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"Expected a 2-D map; got shape {values.shape}.")
    finite = np.isfinite(values)
    values = np.where(finite, values, np.nan)
    low = float(np.nanmin(values)) if vmin is None and finite.any() else (vmin or 0.0)
    high = float(np.nanmax(values)) if vmax is None and finite.any() else (vmax or 0.0)
    span = high - low
    scaled = (values - low) / span if span > 0 else np.zeros_like(values)
    scaled = np.nan_to_num(np.clip(scaled, 0.0, 1.0), nan=0.0)
    return _lookup_table(colormap)[np.round(scaled * 255).astype(np.int64)]


def feature_grid(
    maps: np.ndarray, columns: int = 4, gap: int = 2, colormap: str = "viridis"
) -> np.ndarray:
    """Tile channels ``[H, W, C]`` side by side, each normalised on its own.

    Args:
        maps: ``[H, W, C]`` activations.
        columns: Tiles per row.
        gap: White pixels between tiles.
        colormap: Colour map of each tile.

    Returns:
        uint8 RGB image of ``ceil(C / columns)`` rows of tiles.
    """
    maps = np.asarray(maps)
    if maps.ndim != 3 or maps.shape[-1] == 0:
        raise ValueError(f"Expected feature maps [H, W, C] with C >= 1; got {maps.shape}.")
    height, width, count = maps.shape
    columns = max(1, min(columns, count))
    rows = -(-count // columns)
    grid = np.full(
        (rows * height + (rows - 1) * gap, columns * width + (columns - 1) * gap, 3),
        255,
        dtype=np.uint8,
    )
    for channel in range(count):
        row, col = divmod(channel, columns)
        y, x = row * (height + gap), col * (width + gap)
        grid[y : y + height, x : x + width] = colorize_scalar_map(
            maps[..., channel], colormap, vmin=0.0 if maps.min() >= 0 else None
        )
    return grid


def _bar_font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has no sized default font
        return ImageFont.load_default()


def _tick(value: float) -> str:
    return f"{value:.3g}"


def with_colorbar(
    picture: np.ndarray,
    colormap: str,
    vmin: float,
    vmax: float,
    label: str | None = None,
) -> np.ndarray:
    """Place a vertical colour bar, labelled with its range, to the right of a heat-map.

    The bar runs from ``vmin`` (bottom) to ``vmax`` (top) in the colours that
    :func:`colorize_scalar_map` uses for the same range, so a reader can tell what a
    colour means.

    Args:
        picture: uint8 RGB ``[H, W, 3]`` drawn with ``colormap`` over ``vmin..vmax``.
        colormap: One of :func:`colormap_names`.
        vmin: Value of the lowest colour.
        vmax: Value of the highest colour.
        label: Name of the quantity, written beside the bar (e.g. ``"confidence"``).

    Returns:
        uint8 RGB ``[H, W + bar width, 3]`` on a white background.

    Raises:
        ValueError: If ``picture`` is not RGB, ``vmax < vmin`` or the colour map is unknown.
    """
    picture = np.asarray(picture)
    if picture.ndim != 3 or picture.shape[-1] != 3:
        raise ValueError(f"Picture has shape {picture.shape}; expected RGB [height, width, 3].")
    if vmax < vmin:
        raise ValueError(f"`vmax` ({vmax}) must be at least `vmin` ({vmin}).")
    height = picture.shape[0]
    # Sized to the picture so that the labels stay legible when the page shrinks it.
    size = max(10, min(28, height // 14))
    font = _bar_font(size)
    margin = size // 2
    bar_width = max(8, size)
    bar_top, bar_bottom = margin, max(margin + 2, height - margin)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    texts = [_tick(vmax), _tick((vmin + vmax) / 2), _tick(vmin)] + ([label] if label else [])
    text_width = int(max(probe.textlength(t, font=font) for t in texts))
    panel = Image.new("RGB", (margin * 3 + bar_width + text_width + 1, height), (255, 255, 255))
    levels = np.linspace(1.0, 0.0, bar_bottom - bar_top)[:, None]
    ramp = colorize_scalar_map(np.repeat(levels, bar_width, axis=1), colormap, 0.0, 1.0)
    panel.paste(Image.fromarray(ramp), (margin, bar_top))
    draw = ImageDraw.Draw(panel)
    draw.rectangle((margin, bar_top, margin + bar_width - 1, bar_bottom - 1), outline=(90, 90, 90))
    text_x = margin * 2 + bar_width
    for fraction, text in ((0.0, texts[0]), (0.5, texts[1]), (1.0, texts[2])):
        y = bar_top + fraction * (bar_bottom - bar_top - 1)
        draw.line((margin + bar_width, y, margin + bar_width + margin // 2, y), fill=(60, 60, 60))
        draw.text((text_x, y), text, fill=(20, 20, 20), font=font, anchor="lm")
    if label:
        draw.text(
            (text_x, (bar_top + bar_bottom) / 2 + size * 1.6),
            label,
            fill=(90, 90, 90),
            font=font,
            anchor="lm",
        )
    canvas = Image.new("RGB", (picture.shape[1] + panel.width, height), (255, 255, 255))
    canvas.paste(Image.fromarray(picture.astype(np.uint8)), (0, 0))
    canvas.paste(panel, (picture.shape[1], 0))
    return np.asarray(canvas)


def uncertainty_image(entropy: np.ndarray, num_classes: int) -> Image.Image:
    """Entropy map as 8-bit grayscale, scaled by its maximum ``ln(num_classes)``.

    A fixed scale (not the image's own maximum) keeps images comparable.

    Args:
        entropy: float ``[H, W]`` entropy in nats.
        num_classes: Number of classes.
    """
    scaled = np.clip(entropy / math.log(num_classes), 0.0, 1.0) * 255.0
    return Image.fromarray(np.round(scaled).astype(np.uint8))
