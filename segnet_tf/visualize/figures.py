"""PNG figures drawn with Pillow only: confusion matrix and training curves.

No matplotlib: the package's runtime stack is TensorFlow, numpy and Pillow.
Files are written atomically (temporary file in the target directory, then
`os.replace`), so a reader never sees a half-written PNG.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from segnet_tf.atomic_files import save_png_atomic

LOW_COLOR = (247, 251, 255)
"""Cell colour for a row-normalised value of 0."""
HIGH_COLOR = (8, 48, 107)
"""Cell colour for a row-normalised value of 1."""
EMPTY_ROW_COLOR = (217, 217, 217)
"""Cell colour for rows whose class never occurs in the ground truth."""
SERIES_COLORS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189))
"""Line colours of the training curves, in the order of the keys of a panel."""

# Sequential white-to-blue ramp (like a "Blues" colour map), linearly interpolated.
_RAMP = (LOW_COLOR, (198, 219, 239), (107, 174, 214), (33, 113, 181), HIGH_COLOR)
_MARGIN = 10
_FONT_SIZE = 12
_TITLE_SIZE = 14
_AXIS_COLOR = (40, 40, 40)
_GRID_COLOR = (225, 225, 225)
_BAR_WIDTH = 18


def _font(size: int = _FONT_SIZE) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: fixed bitmap font
        return ImageFont.load_default()


def _text_size(font, text: str) -> tuple[int, int]:
    left, top, right, bottom = font.getbbox(text)
    return right - left, bottom - top


def color_for(value: float) -> tuple[int, int, int]:
    """Maps a value in [0, 1] to the confusion-matrix colour ramp.

    Args:
        value: fraction; clipped to [0, 1].
    """
    v = min(max(float(value), 0.0), 1.0) * (len(_RAMP) - 1)
    i = min(int(v), len(_RAMP) - 2)
    f = v - i
    a, b = _RAMP[i], _RAMP[i + 1]
    return tuple(round(a[c] + (b[c] - a[c]) * f) for c in range(3))


def _draw_rotated_text(image: Image.Image, xy: tuple[int, int], text: str, font, fill) -> None:
    """Draws text rotated 90 degrees counter-clockwise with its top-left at `xy`."""
    w, h = _text_size(font, text)
    left, top, _, _ = font.getbbox(text)
    tile = Image.new("L", (w + 2, h + 2), 0)
    ImageDraw.Draw(tile).text((1 - left, 1 - top), text, font=font, fill=255)
    tile = tile.rotate(90, expand=True)
    image.paste(Image.new("RGB", tile.size, fill), xy, tile)


@dataclass(frozen=True)
class ConfusionMatrixLayout:
    """Pixel geometry of a confusion-matrix figure.

    Attributes:
        size: (width, height) of the image.
        left: x of the grid's left edge.
        top: y of the grid's top edge.
        cell: side of one square cell in pixels.
        num_classes: number of rows and columns.
    """

    size: tuple[int, int]
    left: int
    top: int
    cell: int
    num_classes: int

    def cell_box(self, row: int, col: int) -> tuple[int, int, int, int]:
        """Returns `(x0, y0, x1, y1)` of a cell, inclusive of x0/y0, exclusive of x1/y1."""
        x0 = self.left + col * self.cell
        y0 = self.top + row * self.cell
        return x0, y0, x0 + self.cell, y0 + self.cell


def confusion_matrix_layout(
    class_names: Sequence[str],
    size: tuple[int, int] | None = None,
    cell: int = 48,
) -> ConfusionMatrixLayout:
    """Computes where `plot_confusion_matrix` draws the grid.

    Args:
        class_names: one name per class.
        size: image (width, height); None sizes the image to fit `cell`.
        cell: cell side used when `size` is None.
    """
    n = len(class_names)
    if n < 1:
        raise ValueError("Need at least one class.")
    font = _font()
    label_w = max(_text_size(font, str(name))[0] for name in class_names) + 8
    axis_h = _text_size(_font(_TITLE_SIZE), "Predicted")[1] + 8
    left = _MARGIN + axis_h + label_w
    top = _MARGIN + axis_h + 6
    right = 16 + _BAR_WIDTH + 6 + _text_size(font, "1.0")[0] + _MARGIN
    bottom = label_w + axis_h + _MARGIN
    if size is None:
        size = (left + n * cell + right, top + n * cell + bottom)
    else:
        size = (int(size[0]), int(size[1]))
        cell = min((size[0] - left - right) // n, (size[1] - top - bottom) // n)
        if cell < 1:
            raise ValueError(f"size {size} is too small for {n} classes and their labels.")
    return ConfusionMatrixLayout(size=size, left=left, top=top, cell=cell, num_classes=n)


def plot_confusion_matrix(
    cm,
    class_names: Sequence[str],
    path: str | os.PathLike,
    size: tuple[int, int] | None = None,
    title: str = "Confusion matrix (rows normalised)",
    show_values: bool = True,
) -> Path:
    """Writes a row-normalised confusion matrix as a PNG heat map.

    Rows are ground-truth classes and columns predictions; each row is divided
    by its sum, so the diagonal shows per-class accuracy. Rows of classes absent
    from the ground truth are grey. Values are printed in the cells when they fit.

    Args:
        cm: `[K, K]` counts (rows = ground truth), e.g. from
            `segnet_tf.metrics.confusion_matrix`.
        class_names: K names for the axes.
        path: output PNG file; its directory is created if needed.
        size: image (width, height); None picks a size with 48 px cells.
        title: text drawn above the grid.
        show_values: print the normalised value in each cell.

    Returns:
        The written path.
    """
    cm = np.asarray(cm, dtype=np.float64)
    n = len(class_names)
    if cm.shape != (n, n):
        raise ValueError(f"cm of shape {cm.shape} does not match {n} class names.")
    totals = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, totals, out=np.zeros_like(cm), where=totals > 0)
    layout = confusion_matrix_layout(class_names, size)
    image = Image.new("RGB", layout.size, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    font, title_font = _font(), _font(_TITLE_SIZE)

    draw.text((layout.left, _MARGIN), title, font=title_font, fill=_AXIS_COLOR)
    for i in range(n):
        for j in range(n):
            x0, y0, x1, y1 = layout.cell_box(i, j)
            color = color_for(norm[i, j]) if totals[i, 0] > 0 else EMPTY_ROW_COLOR
            draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=color)
            if show_values and totals[i, 0] > 0:
                text = f"{norm[i, j]:.2f}"
                tw, th = _text_size(font, text)
                if tw + 4 <= layout.cell and th + 4 <= layout.cell:
                    # Light text on dark cells so the value stays readable.
                    fill = (255, 255, 255) if norm[i, j] > 0.5 else (0, 0, 0)
                    draw.text(
                        ((x0 + x1) / 2, (y0 + y1) / 2), text, font=font, fill=fill, anchor="mm"
                    )
    grid = n * layout.cell
    draw.rectangle(
        (layout.left - 1, layout.top - 1, layout.left + grid, layout.top + grid),
        outline=_AXIS_COLOR,
    )

    for k, name in enumerate(class_names):
        cy = layout.top + k * layout.cell + layout.cell // 2
        draw.text((layout.left - 4, cy), str(name), font=font, fill=_AXIS_COLOR, anchor="rm")
        tw, _ = _text_size(font, str(name))
        _, th = _text_size(font, str(name))
        cx = layout.left + k * layout.cell + layout.cell // 2
        _draw_rotated_text(
            image, (cx - th // 2 - 1, layout.top + grid + 4), str(name), font, _AXIS_COLOR
        )
    label_w = layout.left - _MARGIN - (_text_size(title_font, "Predicted")[1] + 8)
    _draw_rotated_text(
        image,
        (_MARGIN, layout.top + grid // 2 - _text_size(title_font, "True class")[0] // 2),
        "True class",
        title_font,
        _AXIS_COLOR,
    )
    draw.text(
        (layout.left + grid / 2, layout.top + grid + label_w + 6),
        "Predicted class",
        font=title_font,
        fill=_AXIS_COLOR,
        anchor="mt",
    )

    # Colour bar: 1.0 at the top, 0.0 at the bottom.
    bx = layout.left + grid + 16
    for y in range(grid):
        draw.line(
            (bx, layout.top + y, bx + _BAR_WIDTH - 1, layout.top + y),
            fill=color_for(1 - y / max(grid - 1, 1)),
        )
    draw.rectangle(
        (bx - 1, layout.top - 1, bx + _BAR_WIDTH, layout.top + grid), outline=_AXIS_COLOR
    )
    for v in (0.0, 0.5, 1.0):
        y = layout.top + round((1 - v) * (grid - 1))
        draw.line((bx + _BAR_WIDTH, y, bx + _BAR_WIDTH + 3, y), fill=_AXIS_COLOR)
        draw.text((bx + _BAR_WIDTH + 6, y), f"{v:.1f}", font=font, fill=_AXIS_COLOR, anchor="lm")
    return save_png_atomic(image, path)


def _nice_step(span: float, target_ticks: int = 5) -> float:
    """Step of 1, 2 or 5 times a power of ten giving about `target_ticks` ticks."""
    raw = span / max(target_ticks, 1)
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def _value_range(values: list[float]) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if hi - lo < 1e-12:
        pad = abs(hi) * 0.1 or 0.5
        return lo - pad, hi + pad
    pad = (hi - lo) * 0.05
    return lo - pad, hi + pad


def _format_tick(value: float, step: float) -> str:
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    return f"{value:.{decimals}f}"


def _draw_panel(image, box, title, series, font, title_font) -> None:
    """Draws one line chart inside `box = (x0, y0, x1, y1)`."""
    draw = ImageDraw.Draw(image)
    x0, y0, x1, y1 = box
    values = [v for _, ys in series for v in ys if math.isfinite(v)]
    epochs = max(len(ys) for _, ys in series)
    y_lo, y_hi = _value_range(values) if values else (0.0, 1.0)
    ystep = _nice_step(y_hi - y_lo)
    tick_labels = []
    t = math.ceil(y_lo / ystep) * ystep
    while t <= y_hi + 1e-12:
        tick_labels.append((t, _format_tick(t, ystep)))
        t += ystep
    label_w = max((_text_size(font, s)[0] for _, s in tick_labels), default=20)
    px0, py0 = x0 + label_w + 14, y0 + _text_size(title_font, title)[1] + 12
    px1, py1 = x1 - 16, y1 - _text_size(font, "epoch")[1] * 2 - 14

    def to_x(epoch_index: int) -> float:
        if epochs == 1:
            return (px0 + px1) / 2
        return px0 + (px1 - px0) * epoch_index / (epochs - 1)

    def to_y(value: float) -> float:
        return py1 - (py1 - py0) * (value - y_lo) / (y_hi - y_lo)

    draw.text(((px0 + px1) / 2, y0 + 4), title, font=title_font, fill=_AXIS_COLOR, anchor="mt")
    for value, text in tick_labels:
        y = to_y(value)
        draw.line((px0, y, px1, y), fill=_GRID_COLOR)
        draw.line((px0 - 4, y, px0, y), fill=_AXIS_COLOR)
        draw.text((px0 - 6, y), text, font=font, fill=_AXIS_COLOR, anchor="rm")
    xstep = max(1, int(_nice_step(max(epochs - 1, 1))))
    for epoch in range(1, epochs + 1):
        if (epoch - 1) % xstep == 0 or epoch == epochs:
            x = to_x(epoch - 1)
            draw.line((x, py1, x, py1 + 4), fill=_AXIS_COLOR)
            draw.text((x, py1 + 6), str(epoch), font=font, fill=_AXIS_COLOR, anchor="mt")
    draw.text(((px0 + px1) / 2, y1 - 4), "epoch", font=font, fill=_AXIS_COLOR, anchor="mb")
    draw.line((px0, py0, px0, py1), fill=_AXIS_COLOR)
    draw.line((px0, py1, px1, py1), fill=_AXIS_COLOR)

    for k, (_, ys) in enumerate(series):
        color = SERIES_COLORS[k % len(SERIES_COLORS)]
        points = [(to_x(i), to_y(v)) if math.isfinite(v) else None for i, v in enumerate(ys)]
        for a, b in zip(points, points[1:], strict=False):
            if a is not None and b is not None:  # a NaN epoch breaks the line
                draw.line((a, b), fill=color, width=2)
        for p in points:
            if p is not None:
                draw.ellipse((p[0] - 3, p[1] - 3, p[0] + 3, p[1] + 3), fill=color)

    # Legend in the panel's top-right corner.
    names = [name for name, _ in series]
    lw = max(_text_size(font, s)[0] for s in names) + 34
    lh = len(names) * 16 + 8
    lx, ly = px1 - lw - 6, py0 + 6
    # Rising curves (e.g. mIoU) end in the top-right corner: move the legend down.
    last = [ys[-1] for _, ys in series if math.isfinite(ys[-1])]
    if last and to_y(max(last)) < (py0 + py1) / 2:
        ly = py1 - lh - 6
    draw.rectangle((lx, ly, lx + lw, ly + lh), fill=(255, 255, 255), outline=(160, 160, 160))
    for k, name in enumerate(names):
        color = SERIES_COLORS[k % len(SERIES_COLORS)]
        cy = ly + 12 + k * 16
        draw.line((lx + 6, cy, lx + 24, cy), fill=color, width=2)
        draw.text((lx + 28, cy), name, font=font, fill=_AXIS_COLOR, anchor="lm")


def plot_training_curves(
    history: Mapping[str, Sequence[float]],
    path: str | os.PathLike,
    keys: Sequence[Sequence[str]] = (("loss", "val_loss"), ("mean_iou", "val_mean_iou")),
    size: tuple[int, int] = (1000, 400),
    titles: Sequence[str] | None = None,
) -> Path:
    """Writes line charts of training history as a PNG, one panel per key group.

    Args:
        history: metric name -> one value per epoch (e.g. `History.history`).
        path: output PNG file; its directory is created if needed.
        keys: groups of history keys; each group with at least one key in
            `history` becomes a panel (side by side), its keys the lines.
        size: image (width, height).
        titles: one title per group of `keys` (default: the group's first key), e.g.
            "validation mIoU" over lines named after runs.

    Returns:
        The written path.

    Raises:
        ValueError: if no key of `keys` is in `history`.
    """
    if titles is not None and len(titles) != len(keys):
        raise ValueError(f"{len(titles)} titles for {len(keys)} groups of keys; give one each.")
    panels = []
    for index, group in enumerate(keys):
        series = [(k, [float(v) for v in history[k]]) for k in group if k in history]
        series = [(k, ys) for k, ys in series if ys]
        if series:
            panels.append((series[0][0] if titles is None else titles[index], series))
    if not panels:
        raise ValueError(f"None of the keys {list(keys)} is in history ({sorted(history)}).")
    width, height = int(size[0]), int(size[1])
    image = Image.new("RGB", (width, height), (255, 255, 255))
    font, title_font = _font(), _font(_TITLE_SIZE)
    panel_w = (width - _MARGIN) / len(panels)
    for k, (title, series) in enumerate(panels):
        x0 = round(_MARGIN + k * panel_w)
        x1 = round(_MARGIN + (k + 1) * panel_w) - _MARGIN
        _draw_panel(image, (x0, _MARGIN, x1, height - _MARGIN), title, series, font, title_font)
    return save_png_atomic(image, path)
