"""Frames per second of `segment_video` on a CamVid-size clip (360x480) made here.

The clip is synthetic (moving colour blocks, H.264) so the figure needs no data
set; decoding, segmentation and encoding are all counted. The model's share is
measured apart by running `Segmenter.predict` alone on the same decoded frames.
One warm-up frame first (tracing), then the timed runs, interleaved; the medians
are printed.
CPU timings on a shared machine are noisy: compare within one run.

    python benchmarks/video.py [--preset camvid_segnet] [--frames 30] [--repeats 3]
"""

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `benchmarks` importable
    sys.path.append(str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import av  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.machine import cpu_label  # noqa: E402
from segnet_tf.inference import Segmenter  # noqa: E402
from segnet_tf.inference.video import iter_frames, segment_video  # noqa: E402

HEIGHT, WIDTH = 360, 480


def write_clip(path: str, frames: int, fps: int) -> None:
    rng = np.random.default_rng(0)
    blocks = rng.integers(0, 256, (HEIGHT // 24 + 1, WIDTH // 24 + 1, 3), dtype=np.uint8)
    scene = np.repeat(np.repeat(blocks, 24, axis=0), 24, axis=1)[:HEIGHT]
    with av.open(path, "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.height, stream.width, stream.pix_fmt = HEIGHT, WIDTH, "yuv420p"
        for i in range(frames):
            frame = np.ascontiguousarray(np.roll(scene, 4 * i, axis=1)[:, :WIDTH])
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="camvid_segnet")
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    segmenter = Segmenter.from_preset(args.preset)
    with tempfile.TemporaryDirectory() as tmp:
        clip = os.path.join(tmp, "clip.mp4")
        write_clip(clip, args.frames, args.fps)
        frames = list(iter_frames(clip))
        segmenter.predict(frames[0], probabilities=False)  # warm-up: tracing

        # Interleaved, so that a change of load on a shared machine hits both alike.
        model_times, results = [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            for frame in frames:
                segmenter.predict(frame, probabilities=False)
            model_times.append(time.perf_counter() - start)
            results.append(segment_video(segmenter, clip, os.path.join(tmp, "overlay.mp4")))
        results_masks = segment_video(
            segmenter, clip, os.path.join(tmp, "overlay.mp4"), masks_dir=os.path.join(tmp, "m")
        )

    whole = float(np.median([r.seconds for r in results]))
    model = float(np.median(model_times))
    print(f"{datetime.date.today()}  {cpu_label()}")
    print(
        f"preset {args.preset}, clip {args.frames} frames {WIDTH}x{HEIGHT} at {args.fps} fps, "
        f"median of {args.repeats}"
    )
    print(
        f"segment_video (decode + segment + overlay + H.264): {args.frames / whole:6.2f} frames/s"
    )
    print(
        f"  + per-frame mask PNGs:                            "
        f"{results_masks.frames_per_second_processed:6.2f} frames/s (one run)"
    )
    print(
        f"Segmenter.predict alone on the decoded frames:      {args.frames / model:6.2f} frames/s"
    )


if __name__ == "__main__":
    main()
