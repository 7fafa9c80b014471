"""Pictures of a prediction: colour-coded masks, overlays, one class highlighted, a
before/after split and a class legend (numpy and Pillow)."""

from __future__ import annotations

import io
from collections.abc import Iterable

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from segnet_tf.classes import ClassList

_SWATCH = 14
_PAD = 6
_TEXT_COLOR = (20, 20, 20)


def colorize(mask: np.ndarray, classes: ClassList) -> np.ndarray:
    """Paint each class id with its colour from the class palette.

    Args:
        mask: Integer ``[H, W]`` class ids (void allowed if the list has one).
        classes: Class list whose ``palette()`` gives the colours.

    Returns:
        uint8 ``[H, W, 3]``.

    Raises:
        ValueError: If the mask is not 2-D integers or holds an id without a colour.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2 or not np.issubdtype(mask.dtype, np.integer):
        raise ValueError(
            f"Mask has shape {mask.shape} and dtype {mask.dtype}; expected integer class ids "
            "[height, width]."
        )
    palette = classes.palette()
    if mask.size and (mask.min() < 0 or mask.max() >= len(palette)):
        raise ValueError(
            f"Mask holds ids in {int(mask.min())}..{int(mask.max())} but the class list has "
            f"colours for ids 0..{len(palette) - 1}."
        )
    return palette[mask]


def overlay(image: np.ndarray, mask: np.ndarray, classes: ClassList, alpha: float = 0.5):
    """Blend the colour-coded mask over the image.

    Args:
        image: uint8 RGB ``[H, W, 3]``.
        mask: Integer class ids ``[H, W]``, same size as ``image``.
        classes: Class list giving the colours.
        alpha: Weight of the mask colours, in [0, 1]. Defaults to 0.5.

    Returns:
        uint8 ``[H, W, 3]``: ``(1 - alpha) * image + alpha * colours``.
    """
    image = np.asarray(image)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"`alpha` must be in [0, 1]; got {alpha!r}.")
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"Image has shape {image.shape}; expected RGB [height, width, 3].")
    if image.shape[:2] != np.shape(mask):
        raise ValueError(
            f"Image is {image.shape[:2]} but the mask is {np.shape(mask)}; expected equal sizes."
        )
    colors = colorize(mask, classes).astype(np.float32)
    blended = (1.0 - alpha) * image.astype(np.float32) + alpha * colors
    return np.clip(np.round(blended), 0, 255).astype(np.uint8)


def mask_image(mask: np.ndarray, classes: ClassList) -> Image.Image:
    """A class-id mask as a PNG-ready image whose pixel values are the class ids.

    Up to 256 labels: a palette ("P") image, displayed in the class colours and read
    back as ids by Pillow and by ``segnet_tf.data`` (palette index = class id). More
    labels: 16-bit grayscale.

    Args:
        mask: Integer ``[H, W]`` class ids.
        classes: Class list giving the palette.

    Raises:
        ValueError: If the mask is not 2-D integers or holds an id the list lacks.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2 or not np.issubdtype(mask.dtype, np.integer):
        raise ValueError(
            f"Mask has shape {mask.shape} and dtype {mask.dtype}; expected integer class ids "
            "[height, width]."
        )
    if mask.size and (mask.min() < 0 or mask.max() >= classes.num_labels):
        raise ValueError(
            f"Mask holds ids in {int(mask.min())}..{int(mask.max())} but the class list has "
            f"ids 0..{classes.num_labels - 1}."
        )
    if classes.num_labels <= 256:
        image = Image.fromarray(mask.astype(np.uint8))
        # On an "L" image putpalette switches the mode to "P", keeping the values.
        image.putpalette(classes.palette().reshape(-1).tolist())
        return image
    return Image.fromarray(mask.astype(np.uint16))


def mask_png_bytes(mask: np.ndarray, classes: ClassList) -> bytes:
    """The class-id mask file: :func:`mask_image` encoded as PNG.

    ``segnet predict``'s ``<stem>_mask.png`` and the demo's class-id mask download are
    these bytes, so the two files are identical for the same mask.

    Args:
        mask: Integer ``[H, W]`` class ids.
        classes: Class list giving the palette.
    """
    buffer = io.BytesIO()
    mask_image(mask, classes).save(buffer, format="PNG")
    return buffer.getvalue()


def highlight_class(
    image: np.ndarray,
    mask: np.ndarray,
    classes: ClassList,
    class_id: int,
    alpha: float = 0.5,
    dim: float = 0.35,
) -> np.ndarray:
    """Show one class alone: its pixels in its colour over the image, the rest dimmed grey.

    Args:
        image: uint8 RGB ``[H, W, 3]``.
        mask: Integer class ids ``[H, W]``, same size as ``image``.
        classes: Class list giving the colours.
        class_id: The class to show.
        alpha: Weight of the class colour on its pixels, in [0, 1].
        dim: Brightness kept by the other pixels (grey), in [0, 1].

    Returns:
        uint8 ``[H, W, 3]``.

    Raises:
        ValueError: If ``class_id`` is not in the class list or ``dim`` is outside [0, 1].
    """
    if not 0 <= class_id < classes.num_labels:
        raise ValueError(
            f"Class id {class_id} is not in the class list (ids 0..{classes.num_labels - 1})."
        )
    if not 0.0 <= dim <= 1.0:
        raise ValueError(f"`dim` must be in [0, 1]; got {dim!r}.")
    blended = overlay(image, mask, classes, alpha).astype(np.float32)
    # Grey (luma) for the context, so that no other class colour competes with the chosen one.
    grey = np.asarray(image, np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    context = np.repeat((grey * dim)[..., None], 3, axis=-1)
    chosen = (np.asarray(mask) == class_id)[..., None]
    return np.clip(np.round(np.where(chosen, blended, context)), 0, 255).astype(np.uint8)


def split_view(
    before: np.ndarray, after: np.ndarray, position: float, line_width: int = 2
) -> np.ndarray:
    """A before/after comparison: ``before`` left of ``position``, ``after`` right of it.

    Args:
        before: uint8 RGB ``[H, W, 3]`` (e.g. the photo).
        after: uint8 RGB ``[H, W, 3]`` of the same size (e.g. the overlay).
        position: Where the split is, as a fraction of the width in [0, 1].
        line_width: Width in pixels of the white line drawn at the split (0 for none).

    Returns:
        uint8 ``[H, W, 3]``.

    Raises:
        ValueError: If the images differ in shape or ``position`` is outside [0, 1].
    """
    before, after = np.asarray(before), np.asarray(after)
    if before.shape != after.shape or before.ndim != 3:
        raise ValueError(
            f"Images have shapes {before.shape} and {after.shape}; expected two RGB images "
            "of the same size."
        )
    if not 0.0 <= position <= 1.0:
        raise ValueError(f"`position` must be in [0, 1]; got {position!r}.")
    width = before.shape[1]
    split = int(round(position * width))
    combined = after.copy()
    combined[:, :split] = before[:, :split]
    if line_width > 0 and 0 < split < width:
        start = max(0, split - line_width // 2)
        combined[:, start : min(width, start + line_width)] = 255
    return combined


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=12)
    except TypeError:  # Pillow < 10.1 has no sized default font
        return ImageFont.load_default()


def draw_legend(classes: ClassList, ids: Iterable[int] | None = None) -> Image.Image:
    """Draw a legend: one colour swatch and name per class, one class a row.

    Args:
        classes: Class list giving names and colours.
        ids: Class ids to list (e.g. those present in a mask, ``np.unique(mask)``);
            defaults to every id of the list, void included.

    Returns:
        An RGB ``PIL.Image.Image`` on a white background.
    """
    ids = list(range(classes.num_labels)) if ids is None else [int(i) for i in ids]
    for i in ids:
        if not 0 <= i < classes.num_labels:
            raise ValueError(
                f"Class id {i} is not in the class list (ids 0..{classes.num_labels - 1})."
            )
    font = _font()
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    text_width = max((probe.textlength(classes.names[i], font=font) for i in ids), default=0)
    row = _SWATCH + _PAD
    width = int(_PAD * 3 + _SWATCH + text_width + 1)
    height = _PAD + row * max(len(ids), 1)
    legend = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(legend)
    for n, i in enumerate(ids):
        top = _PAD + n * row
        draw.rectangle(
            (_PAD, top, _PAD + _SWATCH - 1, top + _SWATCH - 1),
            fill=classes.colors[i],
            outline=(90, 90, 90),
        )
        draw.text((_PAD * 2 + _SWATCH, top), classes.names[i], fill=_TEXT_COLOR, font=font)
    return legend


def with_legend(picture: np.ndarray | Image.Image, legend: Image.Image) -> Image.Image:
    """Place ``legend`` to the right of ``picture`` (top-aligned, white background).

    Args:
        picture: uint8 RGB array or PIL image (e.g. an overlay).
        legend: Output of :func:`draw_legend`.
    """
    picture = picture if isinstance(picture, Image.Image) else Image.fromarray(picture)
    canvas = Image.new(
        "RGB",
        (picture.width + legend.width, max(picture.height, legend.height)),
        (255, 255, 255),
    )
    canvas.paste(picture.convert("RGB"), (0, 0))
    canvas.paste(legend, (picture.width, 0))
    return canvas
