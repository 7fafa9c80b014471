"""Short video clips in the demo: segment an uploaded clip into an overlay video.

CamVid is driving video, so a dashcam clip is what the bundled model suits best. The
work is :func:`segnet_tf.inference.video.segment_video`; this module bounds it for an
interactive page (a frame limit) and returns the overlay as bytes for the browser.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

from segnet_tf.inference import Segmenter
from segnet_tf.inference.video import VIDEO_EXTENSIONS, VideoError, segment_video

CLIP_TYPES = tuple(ending.lstrip(".") for ending in VIDEO_EXTENSIONS)
"""File endings offered by the clip uploader."""
DEFAULT_CLIP_FRAMES = 60
"""Frames segmented unless the user asks for more: a few seconds of video."""
MAX_CLIP_FRAMES = 300
"""Most frames one clip may have segmented in the page (10 s at 30 frames/s)."""


class ClipInputError(ValueError):
    """An uploaded clip cannot be segmented; the message names it and says why."""


@dataclass(frozen=True)
class ClipResult:
    """A segmented clip.

    Attributes:
        video: The overlay video, H.264 in MP4.
        num_frames: Frames segmented.
        fps: Frame rate of the clip and of the overlay.
        size: ``(height, width)`` of the frames.
        seconds: Wall-clock time of decoding, segmenting and encoding.
    """

    video: bytes
    num_frames: int
    fps: float
    size: tuple[int, int]
    seconds: float

    @property
    def frames_per_second(self) -> float:
        """Frames processed per second of wall-clock time."""
        return self.num_frames / self.seconds if self.seconds > 0 else float("inf")


def segment_clip(
    segmenter: Segmenter,
    data: bytes,
    name: str,
    max_frames: int = DEFAULT_CLIP_FRAMES,
    alpha: float = 0.5,
    mc_samples: int | None = None,
) -> ClipResult:
    """Segment the first ``max_frames`` frames of an uploaded clip into an overlay video.

    Args:
        segmenter: The model.
        data: The clip file's contents.
        name: File name, for messages.
        max_frames: Frames to segment, 1 to :data:`MAX_CLIP_FRAMES`.
        alpha: Opacity of the class colours, in [0, 1].
        mc_samples: Monte-Carlo dropout passes per frame (Bayesian models), or None.

    Raises:
        ClipInputError: If the file is empty or not a readable video.
        ValueError: If ``max_frames`` is out of range.
        VideoSupportMissing: If PyAV (the ``video`` extra) is not installed.
    """
    if not 1 <= max_frames <= MAX_CLIP_FRAMES:
        raise ValueError(f"`max_frames` must be in 1..{MAX_CLIP_FRAMES}; got {max_frames!r}.")
    if not data:
        raise ClipInputError(f"{name}: the file is empty (0 bytes); expected a video clip.")
    upload = io.BytesIO(data)
    upload.name = name  # segment_video names the clip in its errors
    with tempfile.TemporaryDirectory(prefix="segnet_demo_clip_") as folder:
        output = Path(folder) / "overlay.mp4"
        try:
            result = segment_video(
                segmenter,
                upload,
                output,
                max_frames=max_frames,
                alpha=alpha,
                mc_samples=mc_samples,
            )
        except VideoError as err:
            message = str(err)
            raise ClipInputError(message if name in message else f"{name}: {message}") from err
        return ClipResult(
            output.read_bytes(), result.num_frames, result.fps, result.size, result.seconds
        )
