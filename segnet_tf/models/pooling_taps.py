"""Where a model pools with indices and unpools with them: the inside view's taps."""

from __future__ import annotations

from dataclasses import dataclass

import keras

from segnet_tf.layers import MaxPoolingWithArgmax2D, MaxUnpooling2D


@dataclass(frozen=True)
class PoolingTap:
    """The symbolic tensors of one encoder-decoder level that unpools by indices.

    Attributes:
        block: 1-based encoder block; 1 is the full-resolution level.
        encoder: The encoder feature map that the block pools.
        pooled: The max-pooled map.
        indices: The pooling indices (argmax positions).
        decoder_input: The decoder's map that is unpooled with those indices.
        unpooled: The decoder's unpooled map.
    """

    block: int
    encoder: keras.KerasTensor
    pooled: keras.KerasTensor
    indices: keras.KerasTensor
    decoder_input: keras.KerasTensor
    unpooled: keras.KerasTensor


def pooling_taps(model: keras.Model) -> tuple[PoolingTap, ...]:
    """The taps of ``model``, finest level first; empty if it does not unpool by indices.

    A model that declares its taps (`SegNet.pooling_taps`) is asked; any other
    functional model is searched by layer type: each `MaxUnpooling2D` is paired with
    the `MaxPoolingWithArgmax2D` whose indices it receives, whatever the layers' names.

    Args:
        model: A keras.Model.
    """
    declared = getattr(model, "pooling_taps", None)
    if callable(declared):
        return tuple(declared())
    if not getattr(model, "inputs", None):
        return ()
    pools = [layer for layer in model.layers if isinstance(layer, MaxPoolingWithArgmax2D)]
    unpools = [layer for layer in model.layers if isinstance(layer, MaxUnpooling2D)]
    taps = []
    for block, pool in enumerate(pools, start=1):
        pooled, indices = pool.output
        for unpool in unpools:
            if len(unpool.input) == 3 and unpool.input[1] is indices:
                taps.append(
                    PoolingTap(block, pool.input, pooled, indices, unpool.input[0], unpool.output)
                )
                break
    return tuple(taps)
