"""Videos: `segment_video` and `segnet predict` on clips made here with PyAV."""

import io
import os
import sys

import av
import numpy as np
import pytest
from PIL import Image
from video_fixtures import write_clip

from segnet_tf.cli import main
from segnet_tf.inference import Segmenter, overlay, video
from segnet_tf.inference.video import (
    VideoError,
    VideoSupportMissing,
    is_video_file,
    iter_frames,
    segment_video,
)


@pytest.fixture(scope="module")
def segmenter(tiny_model_path):
    return Segmenter.from_file(tiny_model_path)


def decode(path):
    """Frames (RGB arrays) and the video stream's facts, read back with PyAV directly."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        decoded = list(container.decode(stream))
        frames = [f.to_ndarray(format="rgb24") for f in decoded]
        times = [float(f.pts * f.time_base) for f in decoded]
        facts = {
            "codec": stream.codec_context.name,
            "pix_fmt": stream.codec_context.pix_fmt,
            "rate": stream.average_rate,
            "size": (stream.height, stream.width),
            "times": times,
        }
    return frames, facts


def luma(rgb):
    return rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def test_overlay_video_and_masks_match_per_frame_predict(segmenter, tmp_path):
    # More frames than x264's first group of pictures: B-frames reorder timestamps.
    clip = write_clip(tmp_path / "drive.mp4", num_frames=24)
    calls = []
    result = segment_video(
        segmenter,
        clip,
        tmp_path / "out" / "drive_overlay.mp4",
        masks_dir=tmp_path / "out" / "masks",
        progress=lambda done, total: calls.append((done, total)),
    )
    assert (result.num_frames, result.size, result.fps) == (24, (32, 48), 12.5)
    assert result.frames_per_second_processed > 0
    assert calls == [(i, 24) for i in range(1, 25)]

    source_frames, _ = decode(clip)
    written, facts = decode(result.output_path)
    # A browser-playable H.264 video with the clip's frame count, size and timing.
    assert facts["times"] == pytest.approx([i / 12.5 for i in range(24)])
    del facts["times"]
    assert facts == {"codec": "h264", "pix_fmt": "yuv420p", "rate": 12.5, "size": (32, 48)}
    assert len(written) == len(source_frames) == 24
    assert sorted(os.listdir(result.masks_dir)) == [f"{i:06d}.png" for i in range(24)]
    for i, frame in enumerate(source_frames):
        expected = segmenter.predict(frame).mask
        with Image.open(result.masks_dir / f"{i:06d}.png") as mask:
            assert mask.mode == "P"
            np.testing.assert_array_equal(np.asarray(mask), expected)
        # Lossy 4:2:0 encoding of a noisy mask: compare brightness (kept at full
        # resolution); the written frame is near the overlay, far from the raw frame.
        blended = luma(overlay(frame, expected, segmenter.classes))
        error = np.abs(luma(written[i]) - blended).mean()
        assert error < 10 < np.abs(luma(written[i]) - luma(frame)).mean()


def test_bytes_source_odd_size_max_frames_masks_only(segmenter, tmp_path):
    clip = write_clip(tmp_path / "odd.mp4", num_frames=5, size=(31, 47), rate=10)
    data = clip.read_bytes()
    upload = io.BytesIO(data)  # a file object, as a web upload gives
    result = segment_video(segmenter, upload, None, masks_dir=tmp_path / "m", max_frames=3)
    assert (result.num_frames, result.size, result.fps, result.output_path) == (
        3,
        (31, 47),
        10.0,
        None,
    )
    assert sorted(os.listdir(tmp_path / "m")) == ["000000.png", "000001.png", "000002.png"]
    first = next(iter_frames(data))
    with Image.open(tmp_path / "m" / "000000.png") as mask:
        np.testing.assert_array_equal(np.asarray(mask), segmenter.predict(first).mask)
    # 4:2:0 video needs even sizes: the overlay is padded by one row and column.
    result = segment_video(segmenter, clip, tmp_path / "odd.webm")
    written, facts = decode(tmp_path / "odd.webm")
    assert facts["codec"] == "vp9" and facts["size"] == (32, 48) and len(written) == 5


def test_unreadable_videos_raise_an_error_naming_the_file(segmenter, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4)
    # H.264 in MP4 keeps its index at the end: a cut-off download cannot be opened.
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(write_clip(tmp_path / "full.mp4").read_bytes()[:1500])
    for bad in (garbage, truncated, tmp_path / "missing.mp4"):
        with pytest.raises(VideoError, match=str(bad.name)):
            segment_video(segmenter, bad, out / "o.mp4")
    with pytest.raises(VideoError, match="uploaded video: cannot read the video"):
        segment_video(segmenter, b"not a video", out / "o.mp4")
    with pytest.raises(ValueError, match="file path, bytes or a binary file object; got int"):
        segment_video(segmenter, 3, out / "o.mp4")
    with pytest.raises(ValueError, match=r"unsupported video ending '\.gif'"):
        segment_video(segmenter, garbage, out / "o.gif")
    assert os.listdir(out) == []  # no output, no temporary file left behind


def test_interrupted_run_leaves_previous_outputs_intact(segmenter, tmp_path):
    clip = write_clip(tmp_path / "c.mp4", num_frames=4)
    target, masks = tmp_path / "c_overlay.mp4", tmp_path / "c_masks"
    target.write_bytes(b"previous result")
    masks.mkdir()
    for name in ("000000.png", "000099.png"):
        (masks / name).write_bytes(b"previous mask")

    def stop_after_two(done, total):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        segment_video(segmenter, clip, target, masks_dir=masks, progress=stop_after_two)
    assert target.read_bytes() == b"previous result"
    assert sorted(os.listdir(masks)) == ["000000.png", "000099.png"]
    assert sorted(os.listdir(tmp_path)) == ["c.mp4", "c_masks", "c_overlay.mp4"]

    # A complete run replaces both; no mask of the earlier (longer) run remains.
    segment_video(segmenter, clip, target, masks_dir=masks, max_frames=3)
    assert sorted(os.listdir(masks)) == ["000000.png", "000001.png", "000002.png"]
    assert len(decode(target)[0]) == 3
    assert sorted(os.listdir(tmp_path)) == ["c.mp4", "c_masks", "c_overlay.mp4"]


def test_error_while_writing_is_raised_and_leaves_nothing(segmenter, tmp_path, monkeypatch):
    clip = write_clip(tmp_path / "c.mp4", num_frames=8)

    def disk_full(path, data):
        raise OSError(28, "No space left on device")

    # Overlays and masks are written in a worker thread: its errors reach the caller.
    monkeypatch.setattr(video, "write_bytes_atomic", disk_full)
    with pytest.raises(OSError, match="(?i)no space left"):
        segment_video(segmenter, clip, tmp_path / "o.mp4", masks_dir=tmp_path / "m")
    assert sorted(os.listdir(tmp_path)) == ["c.mp4"]


def test_missing_video_extra_names_the_install_command(
    segmenter, tiny_model_path, tmp_path, capsys
):
    clip = write_clip(tmp_path / "c.mp4", num_frames=2)
    image = tmp_path / "i.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(image)
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, "av", None)  # `import av` now raises ImportError
        with pytest.raises(VideoSupportMissing, match=r'pip install -e "\.\[video\]"'):
            segment_video(segmenter, clip, tmp_path / "o.mp4")
        # The images of the same call are still segmented.
        code = main(
            ["predict", str(tiny_model_path), str(image), str(clip), "--out", str(tmp_path)]
        )
    out = capsys.readouterr().out
    assert code == 1 and "Segmented 1 of 1 images" in out
    hint = (
        'Video files need PyAV, which is not installed; install it with pip install -e ".[video]"'
    )
    assert f"{clip}: {hint}" in out
    assert not (tmp_path / "c_overlay.mp4").exists()


def test_is_video_file_by_ending_or_content(tmp_path):
    clip = write_clip(tmp_path / "c.mp4", num_frames=1)
    no_ending = tmp_path / "upload"
    no_ending.write_bytes(clip.read_bytes())
    assert is_video_file(clip) and is_video_file("x.MOV") and is_video_file(no_ending)
    assert not is_video_file("x.png") and not is_video_file(tmp_path / "missing")


def test_predict_cli_mixes_images_and_videos(tiny_model_path, segmenter, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    write_clip(folder / "drive.mp4", num_frames=5)
    (folder / "broken.avi").write_bytes(b"RIFF\x00\x00\x00\x00AVI junk")
    Image.fromarray(np.full((20, 30, 3), 90, np.uint8)).save(folder / "still.png")
    out = tmp_path / "out"
    code = main(["predict", str(tiny_model_path), str(folder), "--out", str(out), "--video-masks"])
    captured = capsys.readouterr()
    assert code == 1
    assert "Segmented 1 of 1 images" in captured.out
    assert "Segmented 1 of 2 videos" in captured.out and "frames/s" in captured.out
    assert "drive.mp4: 5 frames 48x32 at 12.5 fps" in captured.out
    assert f"{folder / 'broken.avi'}: cannot read the video" in captured.out
    assert "5/5 frames" in captured.err and "frames/s" in captured.err  # progress bar
    assert sorted(p.name for p in out.iterdir()) == [
        "drive_masks",
        "drive_overlay.mp4",
        "predict_config.json",  # the resolved options, written first
        "still.json",
        "still_mask.png",
        "still_overlay.png",
    ]
    written, facts = decode(out / "drive_overlay.mp4")
    assert len(written) == 5 and facts["rate"] == 12.5
    assert len(os.listdir(out / "drive_masks")) == 5

    # --max-frames, and no masks without --video-masks.
    code = main(
        ["predict", str(tiny_model_path), str(folder / "drive.mp4"), "--out", str(tmp_path / "o2")]
        + ["--max-frames", "2"]
    )
    assert code == 0
    assert sorted(os.listdir(tmp_path / "o2")) == ["drive_overlay.mp4", "predict_config.json"]
    assert len(decode(tmp_path / "o2" / "drive_overlay.mp4")[0]) == 2
