"""The idea of SegNet's Figure 2 on any image: pooling indices carry values back.

For an encoder block ``i`` of a model that unpools by pooling indices (its
:func:`~segnet_tf.models.pooling_taps`, which a `SegNet` declares),
:class:`InsideSegNet` builds one ``keras.Model`` from the model's input to

- the encoder feature map that block ``i`` pools (its last conv + BN + ReLU),
- the pooled map (half the size),
- the pooled map put back by its own pooling indices (``MaxUnpooling2D``): each
  maximum returns to the exact pixel it came from, every other pixel is zero,
- the decoder's map that block ``i``'s unpooling receives and its unpooled output,
  where the same indices place the decoder's values.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from segnet_tf.layers import MaxUnpooling2D
from segnet_tf.models.pooling_taps import PoolingTap, pooling_taps
from segnet_tf.resize_policy import ResizePolicy
from segnet_tf.visualize.colormap import colorize_scalar_map, feature_grid

_GRID_COLOR = (255, 255, 255)


def _tap(model: keras.Model, block: int) -> PoolingTap | None:
    return next((tap for tap in pooling_taps(model) if tap.block == block), None)


def has_inside_view(model: keras.Model, block: int = 1) -> bool:
    """True if ``model`` pools with indices at ``block`` and unpools with them."""
    return _tap(model, block) is not None


@dataclass(frozen=True)
class FeatureMaps:
    """Maps of one image (batch dimension removed), all float32 ``[H, W, C]``.

    Attributes:
        image: uint8 ``[H, W, 3]``, the (possibly downscaled) image fed to the model.
        encoder: Encoder feature map before pooling, ``[H, W, C]``.
        pooled: Max-pooled map, ``[ceil(H/2), ceil(W/2), C]``.
        replaced: ``pooled`` put back at its argmax positions, ``[H, W, C]``.
        decoder_input: The decoder's map that is unpooled, same shape as ``pooled``.
        decoder_unpooled: The decoder's unpooled map, ``[H, W, C]``.
        block: Encoder block shown.
    """

    image: np.ndarray
    encoder: np.ndarray
    pooled: np.ndarray
    replaced: np.ndarray
    decoder_input: np.ndarray
    decoder_unpooled: np.ndarray
    block: int


class InsideSegNet:
    """Extracts pooling/unpooling feature maps of one encoder-decoder level.

    Args:
        model: A SegNet-family ``keras.Model`` (``segnet``, ``segnet_basic`` and their
            Bayesian variants).
        block: 1-based encoder block; 1 is the full-resolution level.

    Raises:
        ValueError: If the model does not pool with indices at ``block`` and unpool
            with them (U-Net and FCN do not).
    """

    def __init__(self, model: keras.Model, block: int = 1) -> None:
        tap = _tap(model, block)
        if tap is None:
            raise ValueError(
                f"Model {model.name!r} has no pooling tap at block {block} (a pooling with "
                f"indices like SegNet's 'block{block}_pool' and a decoder unpooling with "
                "them); the inside view needs a SegNet-family model that unpools by "
                "pooling indices."
            )
        self.block = block
        replaced = MaxUnpooling2D(name=f"inside_block{block}_replace")(
            [tap.pooled, tap.indices, tap.encoder]
        )
        inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
        self.extractor = keras.Model(
            inputs,
            [tap.encoder, tap.pooled, replaced, tap.decoder_input, tap.unpooled],
            name=f"inside_{model.name}",
        )

    def extract(self, image: np.ndarray, max_side: int = 320) -> FeatureMaps:
        """Run the model up to the maps of :attr:`block` on one RGB image.

        Args:
            image: uint8 ``[H, W, 3]``.
            max_side: The image is downscaled (aspect kept) so that its longer side is
                at most this, which keeps the view fast on large photos.

        Returns:
            The :class:`FeatureMaps`.
        """
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[-1] != 3 or image.dtype != np.uint8:
            raise ValueError(
                f"Expected an RGB uint8 image [H, W, 3]; got {image.dtype} {image.shape}."
            )
        image = downscale(image, max_side)
        batch = image[None].astype(np.float32)
        outputs = self.extractor(batch, training=False)
        arrays = [keras.ops.convert_to_numpy(x)[0].astype(np.float32) for x in outputs]
        encoder, pooled, replaced, decoder_input, decoder_unpooled = arrays
        return FeatureMaps(
            image, encoder, pooled, replaced, decoder_input, decoder_unpooled, self.block
        )


def downscale(image: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink ``image`` (aspect kept) so that its longer side is at most ``max_side``.

    Segmenter's :class:`~segnet_tf.inference.ResizePolicy` (its rule and resampler),
    with a longer-side limit: the view shows feature maps of a small image.
    """
    return ResizePolicy(max_pixels=None, max_side=max_side, min_side=1).apply(image)


def pick_channels(maps: np.ndarray, count: int = 4) -> list[int]:
    """The ``count`` channels with the most spatial structure (largest std), sorted.

    Args:
        maps: ``[H, W, C]``.
        count: Number of channels, clipped to ``C``.
    """
    maps = np.asarray(maps)
    spread = maps.reshape(-1, maps.shape[-1]).std(axis=0)
    order = np.argsort(-spread, kind="stable")[: max(1, min(count, maps.shape[-1]))]
    return sorted(int(c) for c in order)


def _upsample_to(maps: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour 2x upsampling cropped to ``(height, width)``."""
    return np.repeat(np.repeat(maps, 2, axis=0), 2, axis=1)[:height, :width]


def render_panels(
    maps: FeatureMaps, channels: list[int], columns: int = 2
) -> dict[str, np.ndarray]:
    """Draw the chosen channels of each map as a grid of heat-maps.

    Pooled (half-size) maps are drawn with 2x2 blocks so that every grid has the image's
    size per tile and positions line up across panels. Decoder maps are drawn by
    magnitude (SegNet-Basic's decoder has no ReLU, so values can be negative).

    Args:
        maps: Output of :meth:`InsideSegNet.extract`.
        channels: Channel indices, e.g. from :func:`pick_channels`.
        columns: Tiles per row.

    Returns:
        ``{"encoder", "pooled", "replaced", "decoder"}`` -> uint8 RGB grids.
    """
    height, width = maps.encoder.shape[:2]
    select = list(channels)
    return {
        "encoder": feature_grid(maps.encoder[..., select], columns),
        "pooled": feature_grid(_upsample_to(maps.pooled[..., select], height, width), columns),
        "replaced": feature_grid(maps.replaced[..., select], columns),
        "decoder": feature_grid(np.abs(maps.decoder_unpooled[..., select]), columns),
    }


def zoom_panels(
    maps: FeatureMaps, channel: int, window: int = 16, scale: int = 12
) -> dict[str, np.ndarray]:
    """Close-ups of one channel around its strongest activation, pixels drawn as blocks.

    At this zoom every pooling window is visible: the encoder crop, its pooled values
    (one block per 2x2 window), the same values put back by the indices (one bright
    pixel per window, zeros elsewhere) and the decoder's values at those positions.

    Args:
        maps: Output of :meth:`InsideSegNet.extract`.
        channel: Channel to show.
        window: Side of the crop in encoder pixels (even).
        scale: Screen pixels per encoder pixel.

    Returns:
        ``{"encoder", "pooled", "replaced", "decoder"}`` -> uint8 RGB close-ups.
    """
    height, width = maps.encoder.shape[:2]
    window = max(2, min(window, height, width) // 2 * 2)
    y, x = np.unravel_index(np.argmax(maps.encoder[..., channel]), (height, width))
    # Even crop origin so that the crop's 2x2 cells are the pooling windows.
    top = int(np.clip(y - window // 2, 0, max(height - window, 0))) // 2 * 2
    left = int(np.clip(x - window // 2, 0, max(width - window, 0))) // 2 * 2
    rows, cols = slice(top, top + window), slice(left, left + window)
    pooled = _upsample_to(maps.pooled[..., channel : channel + 1], height, width)
    crops = {
        "encoder": maps.encoder[rows, cols, channel : channel + 1],
        "pooled": pooled[rows, cols],
        "replaced": maps.replaced[rows, cols, channel : channel + 1],
        "decoder": np.abs(maps.decoder_unpooled[rows, cols, channel : channel + 1]),
    }
    high = float(max(crops["encoder"].max(), 1e-6))
    panels = {}
    for key, crop in crops.items():
        top_value = high if key != "decoder" else float(max(crop.max(), 1e-6))
        tile = colorize_scalar_map(crop[..., 0], "viridis", vmin=0.0, vmax=top_value)
        big = np.repeat(np.repeat(tile, scale, axis=0), scale, axis=1)
        # Thin lines around each 2x2 pooling window.
        big[:: 2 * scale] = _GRID_COLOR
        big[:, :: 2 * scale] = _GRID_COLOR
        panels[key] = big
    return panels
