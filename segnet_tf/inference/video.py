"""Segment a video frame by frame: an overlay video and, on request, per-frame masks.

CamVid (Brostow et al., "Semantic object classes in video", Pattern Recognition
Letters 2009) is driving video sampled at 1-30 Hz, so the natural input of a model
trained on it is a dashcam clip. :func:`segment_video` decodes the clip one frame at a
time, segments each frame with :meth:`Segmenter.predict` (exactly as a still image),
blends the class colours over it and encodes the result (in a worker thread, while
the next frame is segmented); a few frames are in memory at a time, whatever the
clip's length.

Reading and writing go through PyAV (``pip install -e ".[video]"``), whose wheels ship
FFmpeg with its codecs. The overlay is H.264 in MP4 (``yuv420p``, "faststart"), which
every browser plays; ``.webm`` outputs get VP9. The overlay keeps the clip's frame
rate and size (odd sizes are padded by one row/column of edge pixels, as 4:2:0 video
needs even sizes). Audio and rotation metadata are not copied.

Outputs are written atomically: the overlay video and the masks folder are built
under temporary names and renamed into place at the end, so a killed run leaves no
half video and no half-filled masks folder under the final names (and an earlier
result of the same name stays as it was).

Example:

>>> from segnet_tf.inference import Segmenter
>>> from segnet_tf.inference.video import segment_video
>>> segmenter = Segmenter.from_preset("camvid_segnet")
>>> result = segment_video(segmenter, "dashcam.mp4", "dashcam_overlay.mp4")
>>> result.num_frames, result.fps, result.size, result.frames_per_second_processed

Uploads (the demo) can pass the file's bytes or a binary file object (a Streamlit
``UploadedFile``): ``segment_video(segmenter, upload.getvalue(), "overlay.mp4")``.
Other helpers: :func:`is_video_file`, :func:`iter_frames` (decode only) and
:func:`video_info` (frame rate, frame count, size). Errors: :class:`VideoError` (a
``ValueError`` naming the file) and :class:`VideoSupportMissing` (an ``ImportError``
naming ``pip install -e ".[video]"``).
"""

from __future__ import annotations

import contextlib
import io
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from segnet_tf.atomic_files import atomic_folder, atomic_path, write_bytes_atomic
from segnet_tf.inference.prediction_mode import PredictionMode, mode_or_settings
from segnet_tf.inference.segmenter import Segmenter
from segnet_tf.visualize import mask_png_bytes, overlay

VIDEO_EXTENSIONS = (
    ".mp4",
    ".m4v",
    ".mov",
    ".avi",
    ".mkv",
    ".webm",
    ".mpg",
    ".mpeg",
    ".ts",
    ".mts",
    ".m2ts",
    ".wmv",
    ".flv",
    ".3gp",
    ".ogv",
)
"""File endings treated as videos (case-insensitive)."""

INSTALL_HINT = 'pip install -e ".[video]"'

# Frame rate used when the container states none (e.g. some raw streams).
_FALLBACK_FPS = Fraction(25)

# Output container by file ending -> (FFmpeg format, encoders to try in order).
_OUTPUT_FORMATS = {
    ".mp4": ("mp4", ("libx264", "h264", "libopenh264", "mpeg4")),
    ".m4v": ("mp4", ("libx264", "h264", "libopenh264", "mpeg4")),
    ".mov": ("mov", ("libx264", "h264", "mpeg4")),
    ".mkv": ("matroska", ("libx264", "h264", "libvpx-vp9")),
    ".webm": ("webm", ("libvpx-vp9", "libvpx", "libaom-av1")),
}

# Encoder options: speed over size (the CPU is busy segmenting) at good quality.
_ENCODER_OPTIONS = {
    "libx264": {"preset": "veryfast", "crf": "20"},
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8", "crf": "32", "b": "0"},
}


class VideoSupportMissing(ImportError):
    """PyAV (the ``video`` extra) is not installed; the message says how to install it."""


class VideoError(ValueError):
    """A video cannot be read or written; the message names the file."""


@dataclass(frozen=True)
class VideoResult:
    """What :func:`segment_video` returns.

    Attributes:
        num_frames: Frames segmented (and written).
        fps: Frame rate of the clip (and of the overlay video).
        size: ``(height, width)`` of the frames.
        seconds: Wall-clock time of the whole run (decode, segment, encode).
        frames_per_second_processed: ``num_frames / seconds``.
        output_path: The overlay video, or None if none was asked for.
        masks_dir: Folder of the per-frame mask PNGs, or None.
    """

    num_frames: int
    fps: float
    size: tuple[int, int]
    seconds: float
    frames_per_second_processed: float
    output_path: Path | None
    masks_dir: Path | None


def import_av():
    """Import PyAV, or raise :class:`VideoSupportMissing` with the install command."""
    try:
        import av
    except ImportError as err:
        raise VideoSupportMissing(
            f"Video files need PyAV, which is not installed; install it with {INSTALL_HINT} "
            "(or `pip install av`)."
        ) from err
    return av


def _sniff_container(path: str | os.PathLike) -> bool:
    """True if the file starts like an MP4/MOV, Matroska/WebM, AVI or MPEG file."""
    try:
        with open(path, "rb") as f:
            head = f.read(188 * 2 + 1)
    except OSError:
        return False
    return (
        head[4:8] == b"ftyp"  # ISO base media (MP4, MOV, 3GP)
        or head[:4] == b"\x1a\x45\xdf\xa3"  # EBML (Matroska, WebM)
        or (head[:4] == b"RIFF" and head[8:12] == b"AVI ")
        or head[:4] == b"\x00\x00\x01\xba"  # MPEG program stream
        # MPEG transport stream: a sync byte every 188 bytes.
        or (len(head) > 376 and head[0] == head[188] == head[376] == 0x47)
    )


def is_video_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a video: by its ending, or, without one, by its first bytes.

    Args:
        path: File path.
    """
    suffix = Path(path).suffix.lower()
    if suffix in VIDEO_EXTENSIONS:
        return True
    if suffix:  # a known image or another type: trust the ending
        return False
    return _sniff_container(path)


def _source_label(source) -> str:
    """How error messages name the video: its path, else the upload's name if it has one."""
    if isinstance(source, str | os.PathLike):
        return str(source)
    name = getattr(source, "name", None)
    return name if isinstance(name, str) and name else "uploaded video"


def _open_input(av, source, label: str):
    if isinstance(source, bytes | bytearray | memoryview):
        source = io.BytesIO(bytes(source))
    elif isinstance(source, str | os.PathLike):
        if not os.path.isfile(source):
            raise VideoError(f"{label}: video file not found.")
        source = os.fspath(source)
    elif not hasattr(source, "read"):
        raise ValueError(
            f"A video source must be a file path, bytes or a binary file object; "
            f"got {type(source).__name__}."
        )
    try:
        container = av.open(source, mode="r")
    except (av.FFmpegError, OSError) as err:
        raise VideoError(
            f"{label}: cannot read the video ({_reason(err)}); expected a video file such as "
            "MP4 (H.264), MOV, AVI, MKV or WebM."
        ) from err
    if not container.streams.video:
        container.close()
        # (FFmpeg drops a video track without frames: a zero-frame MP4 ends here too.)
        raise VideoError(
            f"{label}: the file holds no video frames (no video stream, or one without "
            "frames); expected a video with at least one frame."
        )
    return container


def _reason(err: Exception) -> str:
    """FFmpeg's own wording of an error, without the file name PyAV appends."""
    return getattr(err, "strerror", None) or str(err)


def _frame_rate(stream) -> Fraction:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate is not None and rate > 0:
            return Fraction(rate)
    return _FALLBACK_FPS


class _OverlayWriter:
    """Encodes RGB frames into a browser-playable video at a fixed frame rate."""

    def __init__(self, av, path: str, final_name: Path, fps: Fraction, size: tuple[int, int]):
        suffix = final_name.suffix.lower()
        if suffix not in _OUTPUT_FORMATS:
            raise VideoError(
                f"{final_name}: unsupported output ending {suffix!r}; expected one of "
                f"{', '.join(_OUTPUT_FORMATS)}."
            )
        container_format, encoders = _OUTPUT_FORMATS[suffix]
        codec = _first_encoder(av, encoders)
        if codec is None:
            raise VideoError(
                f"{final_name}: this FFmpeg build has none of the encoders {', '.join(encoders)}."
            )
        options = {"movflags": "+faststart"} if container_format in ("mp4", "mov") else {}
        self.container = av.open(path, mode="w", format=container_format, options=options)
        self.stream = self.container.add_stream(
            codec, rate=fps, options=dict(_ENCODER_OPTIONS.get(codec, {}))
        )
        height, width = size
        # 4:2:0 chroma subsampling needs even sizes; frames are padded to them.
        self.height, self.width = height + height % 2, width + width % 2
        self.stream.height, self.stream.width = self.height, self.width
        self.stream.pix_fmt = "yuv420p"
        # Frame n is shown at n / fps. Kept here: the stream's own time base is replaced
        # by the muxer's (e.g. 1/15360) once the header is written.
        self.frame_time_base = Fraction(1) / fps
        self.stream.codec_context.time_base = self.frame_time_base
        self.frame_class = av.VideoFrame
        self.count = 0

    def write(self, rgb: np.ndarray) -> None:
        pad_h, pad_w = self.height - rgb.shape[0], self.width - rgb.shape[1]
        if pad_h or pad_w:
            rgb = np.pad(rgb, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
        frame = self.frame_class.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = self.count
        frame.time_base = self.frame_time_base
        self.container.mux(self.stream.encode(frame))
        self.count += 1

    def close(self, flush: bool) -> None:
        try:
            if flush:
                self.container.mux(self.stream.encode(None))
        finally:
            self.container.close()


def _first_encoder(av, names) -> str | None:
    for name in names:
        try:
            av.codec.Codec(name, "w")
        except Exception:  # UnknownCodecError and friends: not in this build
            continue
        return name
    return None


def iter_frames(source, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """Decode a video one frame at a time as uint8 RGB ``[H, W, 3]`` arrays.

    Args:
        source: Video file path, the file's bytes or a binary file object.
        max_frames: Stop after this many frames; all of them by default.

    Raises:
        VideoSupportMissing: If PyAV is not installed.
        VideoError: If the video cannot be read.
    """
    av = import_av()
    label = _source_label(source)
    container = _open_input(av, source, label)
    try:
        yield from _decode(av, container, label, max_frames)
    finally:
        container.close()


def _decode(av, container, label: str, max_frames: int | None) -> Iterator[np.ndarray]:
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"  # frame and slice threads inside FFmpeg's decoder
    count = 0
    try:
        for frame in container.decode(stream):
            if max_frames is not None and count >= max_frames:
                return
            yield frame.to_ndarray(format="rgb24")
            count += 1
    except av.FFmpegError as err:
        raise VideoError(
            f"{label}: the video is damaged after {count} frames ({_reason(err)})."
        ) from err


def video_info(source) -> tuple[float, int | None, tuple[int, int]]:
    """Frame rate, frame count (None if the container does not say) and ``(height, width)``.

    Args:
        source: Video file path, the file's bytes or a binary file object.
    """
    av = import_av()
    label = _source_label(source)
    container = _open_input(av, source, label)
    try:
        stream = container.streams.video[0]
        total = int(stream.frames) or None
        return float(_frame_rate(stream)), total, (stream.height, stream.width)
    finally:
        container.close()


def segment_video(
    segmenter: Segmenter,
    source,
    output_path: str | os.PathLike | None,
    *,
    masks_dir: str | os.PathLike | None = None,
    max_frames: int | None = None,
    alpha: float = 0.5,
    mc_samples: int | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    mode: PredictionMode | None = None,
) -> VideoResult:
    """Segment every frame of a video; write the overlay video and optionally the masks.

    Each frame gets exactly the mask ``segmenter.predict(frame).mask`` would give.

    Args:
        segmenter: The model to run.
        source: Video file path, the file's bytes or a binary file object (an upload).
        output_path: Overlay video to write (``.mp4`` H.264, ``.webm`` VP9, ``.mov``,
            ``.mkv``), or None for masks only.
        masks_dir: Folder for per-frame class-id masks, ``000000.png``, ``000001.png``...
            (palette PNGs whose pixel values are the class ids); None for none. The
            folder is replaced as a whole: no mask of an earlier run is left in it.
        max_frames: Segment only the first ``max_frames`` frames.
        alpha: Opacity of the class colours in the overlay, in [0, 1].
        mc_samples: Monte-Carlo dropout passes per frame (Bayesian models only).
        progress: Called as ``progress(frames_done, total_frames_or_None)`` after
            every frame.
        mode: A :class:`~segnet_tf.inference.prediction_mode.PredictionMode` instead
            of ``mc_samples`` (default: ``segmenter.prediction_mode(mc_samples)``).

    Returns:
        A :class:`VideoResult`.

    Raises:
        VideoSupportMissing: If PyAV is not installed.
        VideoError: If the video cannot be read (the message names it) or holds no frames.
        ValueError: For bad arguments.
    """
    if output_path is None and masks_dir is None:
        raise ValueError("Nothing to write: pass `output_path`, `masks_dir` or both.")
    # Resolved and checked once, not per frame.
    mode = mode_or_settings(
        mode, lambda: segmenter.prediction_mode(mc_samples), mc_samples=mc_samples
    )
    if max_frames is not None and (
        isinstance(max_frames, bool) or not isinstance(max_frames, int) or max_frames < 1
    ):
        raise ValueError(f"`max_frames` must be an int >= 1 or None; got {max_frames!r}.")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"`alpha` must be in [0, 1]; got {alpha!r}.")
    output_path = Path(output_path) if output_path is not None else None
    masks_dir = Path(masks_dir) if masks_dir is not None else None
    if output_path is not None and output_path.suffix.lower() not in _OUTPUT_FORMATS:
        raise ValueError(
            f"{output_path}: unsupported video ending {output_path.suffix!r}; expected one of "
            f"{', '.join(_OUTPUT_FORMATS)}."
        )
    if masks_dir is not None and masks_dir.exists() and not masks_dir.is_dir():
        raise ValueError(f"{masks_dir}: exists and is not a folder; expected a folder for masks.")
    av = import_av()
    label = _source_label(source)
    start = time.monotonic()
    container = _open_input(av, source, label)
    try:
        stream = container.streams.video[0]
        fps = _frame_rate(stream)
        total = int(stream.frames) or None
        if total is not None and max_frames is not None:
            total = min(total, max_frames)
        with contextlib.ExitStack() as outputs:
            # Both outputs are built under temporary names and take their final names
            # only once every frame is done.
            make_writer = None
            if output_path is not None:
                tmp_video = outputs.enter_context(
                    atomic_path(output_path, suffix=output_path.suffix)
                )

                def make_writer(size):
                    return _OverlayWriter(av, tmp_video, output_path, fps, size)

            tmp_masks = (
                outputs.enter_context(atomic_folder(masks_dir)) if masks_dir is not None else None
            )
            count, size = _segment_frames(
                segmenter,
                _decode(av, container, label, max_frames),
                make_writer,
                tmp_masks,
                alpha,
                mode,
                progress,
                total,
                label,
            )
    finally:
        container.close()
    seconds = time.monotonic() - start
    return VideoResult(
        num_frames=count,
        fps=float(fps),
        size=size,
        seconds=seconds,
        frames_per_second_processed=count / seconds if seconds > 0 else float("inf"),
        output_path=output_path,
        masks_dir=masks_dir,
    )


class _OutputThread:
    """Overlays, encodes and saves masks in a worker thread.

    The next frame is segmented meanwhile: the overlay, the encoder and PNG
    compression run while TensorFlow works (all three release the GIL for most of
    their time). At most ``depth`` frames wait in the queue, so memory stays bounded.
    An error in the worker is raised in the caller at the next :meth:`put` or at
    :meth:`close`.
    """

    def __init__(self, writer, masks_dir: Path | None, classes, alpha: float, depth: int = 2):
        self.writer, self.masks_dir, self.classes, self.alpha = writer, masks_dir, classes, alpha
        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="segnet-video-output", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            if self.error is not None:
                continue  # keep draining so that the producer never blocks
            try:
                self._write(*item)
            except BaseException as err:  # handed to the producer thread
                self.error = err

    def _write(self, index: int, rgb: np.ndarray, mask: np.ndarray) -> None:
        if self.writer is not None:
            self.writer.write(overlay(rgb, mask, self.classes, alpha=self.alpha))
        if self.masks_dir is not None:
            path = self.masks_dir / f"{index:06d}.png"
            write_bytes_atomic(path, mask_png_bytes(mask, self.classes))

    def put(self, index: int, rgb: np.ndarray, mask: np.ndarray) -> None:
        self._raise_error()
        self.queue.put((index, rgb, mask))

    def close(self) -> None:
        """Wait for the queued frames; raises the worker's error if there was one."""
        self.queue.put(None)
        self.thread.join()
        self._raise_error()

    def _raise_error(self) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error


def _segment_frames(
    segmenter: Segmenter,
    frames: Iterator[np.ndarray],
    make_writer: Callable[[tuple[int, int]], _OverlayWriter] | None,
    masks_dir: Path | None,
    alpha: float,
    mode: PredictionMode,
    progress: Callable[[int, int | None], None] | None,
    total: int | None,
    label: str,
) -> tuple[int, tuple[int, int]]:
    """The frame loop; returns ``(frames done, (height, width))``."""
    writer = outputs = None
    count, size = 0, (0, 0)
    finished = False
    try:
        for rgb in frames:
            if count == 0:
                size = rgb.shape[:2]
                if make_writer is not None:
                    # Created at the first frame: the size is only certain once decoded.
                    writer = make_writer(size)
                outputs = _OutputThread(writer, masks_dir, segmenter.classes, alpha)
            elif rgb.shape[:2] != size:
                raise VideoError(
                    f"{label}: frame {count} is {rgb.shape[0]}x{rgb.shape[1]} but the first "
                    f"was {size[0]}x{size[1]}; expected one frame size throughout."
                )
            result = segmenter.predict(rgb, probabilities=False, mode=mode)
            outputs.put(count, rgb, result.mask)
            count += 1
            if progress is not None:  # from the caller's thread (e.g. a web page's)
                progress(count, total)
        if outputs is not None:
            outputs.close()
        finished = True
    finally:
        if outputs is not None and not finished:
            with contextlib.suppress(BaseException):
                outputs.close()  # an error of the worker matters less than this one
        if writer is not None:
            writer.close(flush=finished)
    if count == 0:
        raise VideoError(f"{label}: the video holds no frames.")
    return count, (int(size[0]), int(size[1]))
