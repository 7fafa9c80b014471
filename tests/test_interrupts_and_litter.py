"""Ctrl-C and kill -9 in the commands other than train: one line and exit 130 on
Ctrl-C, and every command removes the temporary files and folders of killed runs.

The children wait in a known state (they print READY and block) before the signal
is sent, so no test depends on how fast the machine is.
"""

import contextlib
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from segnet_tf.cli import main
from segnet_tf.commands import EvaluateConfig, evaluate

# Runs `segnet` in a child whose chosen hook prints READY and then blocks until a
# signal arrives, so that the parent signals it in that state.
BLOCKING_CHILD = textwrap.dedent(
    """
    import signal, sys, time
    import segnet_tf.commands.prediction as prediction
    from segnet_tf.cli import main

    # SIGINT as a terminal delivers it. A child inherits an ignored or blocked SIGINT
    # from its parent, and in full-suite runs the pytest worker passed one on (the
    # child then ignored Ctrl-C; the inherited masks are printed with READY).
    status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
    INHERITED = f"SigBlk={status['SigBlk'].strip()} SigIgn={status['SigIgn'].strip()}"
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

    def block():
        print("READY", INHERITED, flush=True)
        while True:
            time.sleep(0.05)

    if sys.argv[1] == "image":  # after the first image's outputs are written
        real = prediction.write_outputs

        def write_outputs(*args, **kwargs):
            real(*args, **kwargs)
            block()

        prediction.write_outputs = write_outputs
    else:  # in a video, after frame 50 (the encoder has written some of it by then)
        real_progress = prediction.FrameProgress.__call__

        def progress(self, done, total):
            real_progress(self, done, total)
            if done == 50:
                block()

        prediction.FrameProgress.__call__ = progress
    sys.exit(main(sys.argv[2:]))
    """
)


@contextlib.contextmanager
def blocked_child(hook, argv):
    """The child, once it has printed READY; killed on the way out if a test failed."""
    process = subprocess.Popen(
        [sys.executable, "-u", "-c", BLOCKING_CHILD, hook, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    try:
        for line in process.stdout:  # Waits for a state, however long the start takes.
            if line.startswith("READY"):
                print(line.strip())  # The inherited signal masks, shown if the test fails.
                break
        else:
            _, err = process.communicate(timeout=60)
            pytest.fail(f"the child exited {process.returncode} before READY: {err[-2000:]}")
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def hidden_entries(folder):
    return sorted(name for name in os.listdir(folder) if name.startswith("."))


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)).save(
            folder / f"i{i}.png"
        )
    return folder


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    pytest.importorskip("av")
    from video_fixtures import write_clip

    return write_clip(tmp_path_factory.mktemp("video") / "clip.mp4", num_frames=56)


def test_ctrl_c_in_predict_is_one_line_and_exit_130(tiny_model_path, images, tmp_path):
    out = tmp_path / "out"
    argv = ["predict", str(tiny_model_path), str(images), "--out", str(out)]
    with blocked_child("image", argv) as process:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=300)
    assert process.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert err.strip().splitlines()[-1] == (
        "segnet predict: interrupted; no file was left half-written. Rerun the same command "
        "to do it again."
    )
    assert sorted(os.listdir(out)) == [
        "i0.json",
        "i0_mask.png",
        "i0_overlay.png",
        "predict_config.json",
    ]
    # Following the message: the same command again does it all.
    assert main(["predict", str(tiny_model_path), str(images), "--out", str(out)]) == 0
    assert len(list(out.glob("*_overlay.png"))) == 3 and hidden_entries(out) == []


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_an_interrupted_video_leaves_nothing_a_rerun_does_not_clean(
    tiny_model_path, clip, tmp_path, how
):
    out = tmp_path / "out"
    argv = ["predict", str(tiny_model_path), str(clip), "--out", str(out), "--video-masks"]
    with blocked_child("video", argv) as process:
        # Both outputs are being built under temporary names.
        building = hidden_entries(out)
        assert len(building) == 2, building
        assert any(name.startswith(".clip_overlay.mp4.") for name in building)
        assert any(name.startswith(".clip_masks.") for name in building)
        process.send_signal(how)
        _, err = process.communicate(timeout=300)
    if how == signal.SIGINT:
        assert process.returncode == 130 and "Traceback" not in err, err[-2000:]
        assert hidden_entries(out) == []  # Removed on the way out.
    else:
        assert process.returncode == -signal.SIGKILL
        assert hidden_entries(out) == building  # A killed process cleans nothing...
    assert not (out / "clip_overlay.mp4").exists() and not (out / "clip_masks").exists()
    assert main(argv) == 0
    assert hidden_entries(out) == []  # ...and the rerun removes its leftovers.
    assert (out / "clip_overlay.mp4").exists() and len(os.listdir(out / "clip_masks")) == 56


# --- Every command removes what killed runs left in the folders it writes to. ---


def dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def plant_leftovers(folder, name):
    """A killed process's temporary file and folder, and a running process's."""
    folder.mkdir(parents=True, exist_ok=True)
    dead, alive = dead_pid(), os.getppid()
    for pid in (dead, alive):
        (folder / f".{name}.{pid}.{'a' * 32}.tmp").write_bytes(b"half")
        (folder / f".{name}_masks.{pid}.{'b' * 32}.tmp").mkdir()
        (folder / f".{name}_masks.{pid}.{'b' * 32}.tmp" / "000000.png").write_bytes(b"x")
    return [f".{name}.{alive}.{'a' * 32}.tmp", f".{name}_masks.{alive}.{'b' * 32}.tmp"]


@pytest.mark.parametrize("fmt", ["tflite", "onnx", "saved_model"])
def test_export_removes_what_killed_exports_left(tiny_model_path, tmp_path, fmt):
    if fmt == "onnx":
        pytest.importorskip("tf2onnx")
    out = tmp_path / "out"
    folder = out / "tiny" if fmt == "saved_model" else out
    kept = plant_leftovers(folder, "tiny.tflite")
    assert (
        main(["export", str(tiny_model_path), "--format", fmt, "--out", str(out), "--name", "tiny"])
        == 0
    )
    assert hidden_entries(folder) == sorted(kept)


def test_evaluate_adjust_and_predict_remove_what_killed_runs_left(tmp_path, images):
    import keras

    import segnet_tf
    from segnet_tf.training import TrainConfig

    run = tmp_path / "run"
    run.mkdir()
    TrainConfig(data="synthetic", synthetic_images=8, image_size=(32, 32), width=1 / 16).save(
        run / "config.json"
    )
    keras.utils.set_random_seed(0)
    segnet_tf.get_model("segnet_basic", 6, width=1 / 16).save(run / "best.keras")
    model = str(run / "best.keras")

    kept = plant_leftovers(run / "eval-validation", "metrics.json")
    evaluate(EvaluateConfig(model=model, split="val", limit=1))
    assert hidden_entries(run / "eval-validation") == sorted(kept)

    kept = plant_leftovers(run, "best_adjusted.keras")
    assert main(["adjust", model, "--limit", "1", "--taus", "0"]) == 0
    assert hidden_entries(run) == sorted(kept)

    kept = plant_leftovers(tmp_path / "predicted", "i0_mask.png")
    assert main(["predict", model, str(images), "--out", str(tmp_path / "predicted")]) == 0
    assert hidden_entries(tmp_path / "predicted") == sorted(kept)
