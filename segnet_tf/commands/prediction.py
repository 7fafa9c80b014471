"""``predict(PredictConfig)``: segment images and videos; write masks and overlays.

For every input image, writes into ``out``: ``<stem>_mask.png`` (class ids, palette PNG
in the class colours), ``<stem>_overlay.png`` (the image blended with the class
colours, plus a legend) and, with ``mc_samples``, ``<stem>_uncertainty.png``
(entropy). For every input video: ``<stem>_overlay.mp4`` and, with ``video_masks``,
one mask PNG per frame in ``<stem>_masks/``. The resolved config goes to
``predict_config.json``. A file that cannot be read or segmented is reported in the
result; the others are still processed.

The config, :class:`~segnet_tf.config.prediction.PredictConfig`, lives with the
other configs in :mod:`segnet_tf.config` (no TensorFlow); it is importable from here too.
"""

from __future__ import annotations

import dataclasses
import io
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from segnet_tf import config_fields
from segnet_tf.atomic_files import (
    make_folder,
    remove_stale_temp_files,
    save_png_atomic,
    write_bytes_atomic,
    write_json_atomic,
)
from segnet_tf.commands.model_arg import load_segmenter as load_model_arg
from segnet_tf.config.prediction import DEFAULT_ALPHA, PredictConfig  # noqa: F401 - re-exported

CONFIG_FILE = "predict_config.json"


@dataclass
class PredictResult:
    """What :func:`predict` returns.

    Args:
        out_dir: The output folder.
        images: Image files segmented.
        videos: Video files segmented.
        frames: Frames segmented over all videos.
        video_seconds: Time spent on the videos.
        failures: ``(path, reason)`` of every input that failed.
        num_images: Image files found (segmented or not).
        num_videos: Video files found (segmented or not).
        config: The resolved config (as written to ``predict_config.json``).
        out_of_domain: Image files whose domain detector says they look unlike the
            model's training frames (empty without a detector).
    """

    out_dir: Path
    images: list[str]
    videos: list[str]
    frames: int
    video_seconds: float
    failures: list[tuple[str, str]]
    num_images: int
    num_videos: int
    config: PredictConfig = field(repr=False)
    out_of_domain: list[str] = field(default_factory=list)


def collect_inputs(inputs: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Expand folders into their image and video files.

    Returns:
        ``(files, failures)``: the files to process in order, and ``(path, reason)``
        for inputs that do not exist.
    """
    # Imported when called: these import TensorFlow (see segnet_tf.commands).
    from segnet_tf.data.image_io import IMAGE_EXTENSIONS, list_images
    from segnet_tf.inference.video import VIDEO_EXTENSIONS

    files, failures = [], []
    for item in inputs:
        if os.path.isdir(item):
            found = list_images(item, extensions=IMAGE_EXTENSIONS + VIDEO_EXTENSIONS)
            if not found:
                failures.append((item, "folder holds no image or video files"))
            files.extend(found)
        elif os.path.exists(item):
            files.append(item)
        else:
            failures.append((item, "no such file or folder"))
    return files, failures


def output_stems(files: list[str]) -> list[str]:
    """One output name per file: the file's stem, made unique with ``_2``, ``_3``..."""
    used: dict[str, int] = {}
    stems = []
    for path in files:
        stem = Path(path).stem
        count = used.get(stem, 0) + 1
        used[stem] = count
        stems.append(stem if count == 1 else f"{stem}_{count}")
    return stems


class Progress:
    """A one-line progress bar on stderr (one line per step when not a terminal)."""

    def __init__(self, total: int, stream=None, width: int = 30):
        # Looked up at call time, not bound as a default, so redirections apply.
        stream = sys.stderr if stream is None else stream
        self.total, self.stream, self.width = total, stream, width
        self.interactive = stream.isatty()
        self.start = time.monotonic()

    def update(self, done: int, label: str) -> None:
        filled = int(self.width * done / max(self.total, 1))
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = time.monotonic() - self.start
        line = f"[{bar}] {done}/{self.total} {elapsed:5.1f}s {label}"
        if self.interactive:
            self.stream.write("\r\033[K" + line[:120])
            if done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


class FrameProgress:
    """Progress of one video on stderr: frames done (of the total, when known), frames/s.

    Called as ``progress(done, total_or_None)``. On a terminal the line is redrawn
    after every frame; otherwise a line is written at most every ``interval`` seconds
    (and at the end), so that logs of long clips stay short.
    """

    def __init__(self, label: str, stream=None, width: int = 30, interval: float = 2.0):
        self.stream = sys.stderr if stream is None else stream
        self.label, self.width, self.interval = label, width, interval
        self.interactive = self.stream.isatty()
        self.start = time.monotonic()
        self.last_write = -float("inf")
        self.last_line = ""
        self.line_open = False

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        elapsed = now - self.start
        rate = done / elapsed if elapsed > 0 else 0.0
        if total:
            filled = int(self.width * min(done, total) / total)
            count = f"[{'#' * filled}{'-' * (self.width - filled)}] {done}/{total}"
        else:
            count = f"{done}"
        line = f"{count} frames {rate:5.1f} frames/s {elapsed:6.1f}s {self.label}"
        self.last_line = line
        if self.interactive:
            self.stream.write("\r\033[K" + line[:120])
            self.line_open = True
        elif now - self.last_write >= self.interval or done == total:
            self.stream.write(line + "\n")
            self.last_write = now
            self.last_line = ""
        self.stream.flush()

    def finish(self) -> None:
        """End the progress line (writes the last state if it was throttled away)."""
        if self.line_open:
            self.stream.write("\n")
        elif self.last_line:
            self.stream.write(self.last_line + "\n")
        self.line_open, self.last_line = False, ""
        self.stream.flush()


def write_outputs(segmenter, path: str, stem: str, out_dir: Path, config: PredictConfig, mode=None):
    """Segment one file and write its PNGs and ``<stem>.json`` (raises on any failure).

    ``mode`` is the ``PredictionMode`` of ``config`` for ``segmenter``
    (``segmenter.prediction_mode(config.mc_samples)`` when None).

    Returns:
        The ``SegmentationResult``.
    """
    # Imported when called: numpy, PIL and TensorFlow, which the parser does not need.
    import numpy as np

    from segnet_tf.image_decoding import decode_image
    from segnet_tf.visualize import (
        draw_legend,
        mask_png_bytes,
        overlay,
        uncertainty_image,
        with_legend,
    )

    if mode is None:
        mode = segmenter.prediction_mode(config.mc_samples)
    image = decode_image(path)
    result = segmenter.predict(image, probabilities=False, mode=mode)
    classes = result.classes
    write_bytes_atomic(out_dir / f"{stem}_mask.png", mask_png_bytes(result.mask, classes))
    blended = overlay(image.rgb, result.mask, classes, alpha=config.alpha)
    if config.legend:
        blended = with_legend(blended, draw_legend(classes, np.unique(result.mask)))
    save_png_atomic(blended, out_dir / f"{stem}_overlay.png")
    if result.entropy is not None:
        picture = uncertainty_image(result.entropy, segmenter.num_classes)
        save_png_atomic(picture, out_dir / f"{stem}_uncertainty.png")
    write_json_atomic(out_dir / f"{stem}.json", result_summary(segmenter, path, result))
    return result


def result_summary(segmenter, path: str, result) -> dict:
    """What ``<stem>.json`` says of one image: sizes, the scale decision, the domain
    verdict and the share of pixels of each class."""
    import numpy as np

    counts = np.bincount(result.mask.ravel(), minlength=segmenter.num_classes)
    names = result.classes.names
    detector = segmenter.domain_detector
    return {
        "file": os.path.abspath(path),
        "size": list(result.mask.shape),
        "network_size": list(result.network_size),
        "scale": result.scale,
        "training_size": None if segmenter.training_size is None else list(segmenter.training_size),
        "domain_score": result.domain_score,
        "out_of_domain": result.out_of_domain,
        "domain_threshold": None if detector is None else detector.threshold,
        "class_shares": {
            names[i]: float(count / result.mask.size) for i, count in enumerate(counts) if count
        },
    }


def load_segmenter(config: PredictConfig):
    """The Segmenter of ``config.model`` with the config's classes and size limits."""
    from segnet_tf.classes import read_class_list  # imports numpy: only when called

    kwargs = {"precision": config.precision, "tta": config.tta, "scale": config.scale}
    if config.tile_size is not None:
        kwargs["tile_size"] = config.tile_size
    if config.max_pixels is not None:
        kwargs["max_pixels"] = config.max_pixels
    if config.classes:
        kwargs["classes"] = read_class_list(config.classes)
    return load_model_arg(config.model, **kwargs)


def predict(config: PredictConfig, verbose: bool = True) -> PredictResult:
    """Segment the images and videos of ``config.inputs`` into ``config.out``.

    Args:
        config: What to segment (validated here, before anything is written).
        verbose: Show progress on stderr and one line per video on stdout.

    Returns:
        A :class:`PredictResult` (a file that failed is in its ``failures``).

    Raises:
        ValueError: an invalid config (naming the field), no input to segment, a
            model that cannot be loaded, or ``mc_samples`` for a model without
            Monte-Carlo dropout.
    """
    from segnet_tf.inference.video import is_video_file

    config.validate()
    files, failures = collect_inputs(list(config.inputs))
    if not files:
        reasons = "; ".join(f"{p}: {r}" for p, r in failures)
        raise ValueError(f"no images to segment, nor videos ({reasons}).")
    segmenter = load_segmenter(config)
    try:
        mode = segmenter.prediction_mode(config.mc_samples)  # one for every file
    except ValueError:
        raise config_fields.ConfigError(
            "mc_samples",
            config.mc_samples,
            f"unset: Monte-Carlo sampling needs a Bayesian model with Monte-Carlo dropout, "
            f"and {config.model} has none",
        ) from None
    out_dir = Path(config.out)
    make_folder(out_dir)
    remove_stale_temp_files(out_dir)  # of killed runs: videos, mask folders, PNGs
    resolved = dataclasses.replace(config, out=os.path.abspath(config.out))
    resolved.save(out_dir / CONFIG_FILE)

    named = list(zip(files, output_stems(files), strict=True))
    images = [(path, stem) for path, stem in named if not is_video_file(path)]
    videos = [(path, stem) for path, stem in named if is_video_file(path)]

    done_images, out_of_domain = [], []
    if images:
        progress = Progress(len(images), stream=None if verbose else io.StringIO())
        for done, (path, stem) in enumerate(images, start=1):
            try:
                result = write_outputs(segmenter, path, stem, out_dir, config, mode)
                done_images.append(path)
                if result.out_of_domain:
                    out_of_domain.append(path)
            except Exception as err:  # one bad file must not stop the batch
                failures.append((path, failure_reason(err, path)))
            progress.update(done, os.path.basename(path))

    done_videos, frames, seconds = [], 0, 0.0
    for path, stem in videos:
        try:
            result = write_video_outputs(segmenter, path, stem, out_dir, config, verbose, mode)
            done_videos.append(path)
            frames += result.num_frames
            seconds += result.seconds
        except Exception as err:  # one bad file must not stop the batch
            failures.append((path, failure_reason(err, path)))
    return PredictResult(
        out_dir=out_dir,
        images=done_images,
        videos=done_videos,
        frames=frames,
        video_seconds=seconds,
        failures=failures,
        num_images=len(images),
        num_videos=len(videos),
        config=resolved,
        out_of_domain=out_of_domain,
    )


def failure_reason(err: Exception, path: str) -> str:
    """First line of the error, with its type unless it is a user-facing error.

    The ``path: `` prefix of messages that name the file is dropped, as the list of
    failures already starts each line with it.
    """
    plain = isinstance(err, ValueError | ImportError)
    reason = str(err) if plain else f"{type(err).__name__}: {err}"
    reason = reason.removeprefix(f"{path}: ")
    return reason.splitlines()[0] if reason.strip() else type(err).__name__


def write_video_outputs(
    segmenter,
    path: str,
    stem: str,
    out_dir: Path,
    config: PredictConfig,
    verbose: bool = True,
    mode=None,
):
    """Segment one video into ``<stem>_overlay.mp4`` (+ masks); prints one summary line.

    ``mode`` is as in :func:`write_outputs`.
    """
    from segnet_tf.inference.video import segment_video

    progress = FrameProgress(os.path.basename(path), stream=None if verbose else io.StringIO())
    try:
        result = segment_video(
            segmenter,
            path,
            out_dir / f"{stem}_overlay.mp4",
            masks_dir=out_dir / f"{stem}_masks" if config.video_masks else None,
            max_frames=config.max_frames,
            alpha=config.alpha,
            mode=mode if mode is not None else segmenter.prediction_mode(config.mc_samples),
            progress=progress,
        )
    finally:
        progress.finish()
    if not verbose:
        return result
    height, width = result.size
    masks = f" and {result.masks_dir.name}/" if result.masks_dir is not None else ""
    print(
        f"{path}: {result.num_frames} frames {width}x{height} at {result.fps:g} fps in "
        f"{result.seconds:.1f}s ({result.frames_per_second_processed:.1f} frames/s) -> "
        f"{result.output_path.name}{masks}"
    )
    return result
