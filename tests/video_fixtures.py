"""Synthetic video clips for the video tests, written with PyAV."""

from fractions import Fraction

import av
import numpy as np


def write_clip(path, num_frames=6, size=(32, 48), rate=Fraction(25, 2)):
    """A clip of moving 8x8 colour blocks (H.264 4:4:4, so odd sizes are allowed too)."""
    height, width = size
    rng = np.random.default_rng(0)
    blocks = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    base = np.repeat(np.repeat(blocks, 8, axis=0), 8, axis=1)[:height, :width]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.height, stream.width, stream.pix_fmt = height, width, "yuv444p"
        for i in range(num_frames):
            frame = np.roll(base, 3 * i, axis=1)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    return path
