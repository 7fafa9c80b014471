"""Bounded-memory helpers for large images: overlapping tiles and chunked resizing.

Running the network on a whole 20-megapixel photo would need tens of gigabytes of
activations (SegNet keeps every pre-pool map and its argmax indices for the
decoder). Instead the image is cut into overlapping tiles whose predictions are
blended with weights that fall off towards the tile edges, where the network sees
the least context; seams then do not show in the mask.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of size ``min(tile, length)`` covering ``0..length``.

    Consecutive tiles overlap by at least ``overlap``; the last tile ends at ``length``.

    Args:
        length: Image size along one axis.
        tile: Tile size along that axis.
        overlap: Minimum overlap between neighbouring tiles, less than ``tile``.
    """
    if length <= tile:
        return [0]
    step = tile - overlap
    starts = list(range(0, length - tile, step))
    starts.append(length - tile)
    return starts


def _edge_weights(length: int, overlap: int) -> np.ndarray:
    # Ramp 1/(overlap+1) .. 1 over `overlap` pixels at both ends; never 0, so pixels
    # covered by a single tile (image borders) keep their prediction.
    distance = np.minimum(np.arange(length), np.arange(length)[::-1]) + 1
    return np.minimum(distance / (overlap + 1), 1.0).astype(np.float32)


def predict_tiled(
    predict_fn: Callable[[np.ndarray], np.ndarray],
    image: np.ndarray,
    tile_size: int,
    overlap: int,
) -> np.ndarray:
    """Run ``predict_fn`` on overlapping tiles of ``image`` and blend the results.

    Args:
        predict_fn: Maps an RGB ``[h, w, 3]`` tile (uint8 or float) to float32 ``[h, w, K]``.
        image: uint8 or float ``[H, W, 3]``.
        tile_size: Largest tile side; images no larger are predicted in one call.
        overlap: Overlap between tiles, in pixels.

    Returns:
        float32 ``[H, W, K]``, the weighted average of the tile predictions.
    """
    height, width = image.shape[:2]
    if height <= tile_size and width <= tile_size:
        return predict_fn(image)
    tile_h, tile_w = min(tile_size, height), min(tile_size, width)
    weights = _edge_weights(tile_h, overlap)[:, None] * _edge_weights(tile_w, overlap)[None, :]
    total = weight_sum = None
    for top in tile_starts(height, tile_h, overlap):
        for left in tile_starts(width, tile_w, overlap):
            out = predict_fn(image[top : top + tile_h, left : left + tile_w])
            if total is None:
                total = np.zeros((height, width, out.shape[-1]), np.float32)
                weight_sum = np.zeros((height, width, 1), np.float32)
            total[top : top + tile_h, left : left + tile_w] += out * weights[..., None]
            weight_sum[top : top + tile_h, left : left + tile_w, 0] += weights
    total /= weight_sum
    return total


def _source_coords(out_length: int, in_length: int, start: int, stop: int):
    # Half-pixel centres, as tf.image.resize(method="bilinear") and Pillow use.
    coords = (np.arange(start, stop, dtype=np.float64) + 0.5) * (in_length / out_length) - 0.5
    coords = np.clip(coords, 0, in_length - 1)
    low = np.floor(coords).astype(np.int64)
    high = np.minimum(low + 1, in_length - 1)
    return low, high, (coords - low).astype(np.float32)


def resize_bilinear_rows(array: np.ndarray, size: tuple[int, int], start: int, stop: int):
    """Rows ``start:stop`` of ``array`` resized bilinearly to ``size``.

    Computing a band of rows at a time keeps memory bounded when the full resized
    array would not fit; the bands are exactly the rows of the full resize.

    Args:
        array: float ``[h, w, K]``.
        size: ``(H, W)`` of the full resized array.
        start: First output row.
        stop: Output row after the last.

    Returns:
        float32 ``[stop - start, W, K]``.
    """
    out_h, out_w = size
    in_h, in_w = array.shape[:2]
    y0, y1, fy = _source_coords(out_h, in_h, start, stop)
    x0, x1, fx = _source_coords(out_w, in_w, 0, out_w)
    rows = array[y0] * (1 - fy)[:, None, None] + array[y1] * fy[:, None, None]
    return rows[:, x0] * (1 - fx)[None, :, None] + rows[:, x1] * fx[None, :, None]


def _block_uniform(mask: np.ndarray) -> np.ndarray:
    """bool ``[h, w]``: whether pixel (y, x) and its right, lower and lower-right
    neighbours (clamped at the edges) have the same class."""
    padded = np.pad(mask, ((0, 1), (0, 1)), mode="edge")
    here = padded[:-1, :-1]
    return (here == padded[1:, :-1]) & (here == padded[:-1, 1:]) & (here == padded[1:, 1:])


def upscale_argmax(
    probabilities: np.ndarray, size: tuple[int, int], band_rows: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """The argmax and max of ``probabilities`` resized bilinearly to ``size``.

    The same as ``argmax`` / ``max`` of :func:`resize_bilinear_rows`, without making
    the ``[H, W, K]`` array: where the four source pixels that a pixel blends share
    their argmax, a blend of them has that argmax too (every one of them ranks it
    first), so its class is copied and its maximum is the blend of the sources'
    maxima. Only the pixels on class boundaries (a few percent) blend all K values.

    Args:
        probabilities: float ``[h, w, K]``.
        size: ``(H, W)`` of the resized maps.
        band_rows: Output rows computed at a time (bounds the temporaries).

    Returns:
        ``(int32 [H, W] classes, float32 [H, W] maxima)``.
    """
    out_h, out_w = size
    in_h, in_w = probabilities.shape[:2]
    low_mask = np.argmax(probabilities, axis=-1).astype(np.int32)
    low_max = np.max(probabilities, axis=-1)
    # The clamped right/lower neighbour is x1/y1, so a uniform block means uniform corners.
    uniform = _block_uniform(low_mask)
    x0, x1, fx = _source_coords(out_w, in_w, 0, out_w)
    mask = np.empty((out_h, out_w), np.int32)
    maxima = np.empty((out_h, out_w), np.float32)
    for start in range(0, out_h, band_rows):
        stop = min(start + band_rows, out_h)
        y0, y1, fy = _source_coords(out_h, in_h, start, stop)
        band_mask = low_mask[y0][:, x0]
        rows = low_max[y0] * (1 - fy)[:, None] + low_max[y1] * fy[:, None]
        band_max = rows[:, x0] * (1 - fx) + rows[:, x1] * fx
        r, c = np.nonzero(~uniform[y0][:, x0])
        if r.size:
            wy, wx = fy[r][:, None], fx[c][:, None]
            top = probabilities[y0[r], x0[c]] * (1 - wx) + probabilities[y0[r], x1[c]] * wx
            bottom = probabilities[y1[r], x0[c]] * (1 - wx) + probabilities[y1[r], x1[c]] * wx
            blended = top * (1 - wy) + bottom * wy
            band_mask[r, c] = np.argmax(blended, axis=-1)
            band_max[r, c] = np.max(blended, axis=-1)
        mask[start:stop] = band_mask
        maxima[start:stop] = band_max
    return mask, maxima
