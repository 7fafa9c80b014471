"""oneDNN settings: faster inference on AVX2-only CPUs, and no training with frozen weights."""

import os
import subprocess
import sys

import pytest

from segnet_tf import onednn
from segnet_tf.cli import main

AVX2_ONLY = {"sse4_2", "avx", "avx2", "fma"}  # e.g. AMD Zen 3
BOTH = {onednn.ONEDNN_ENV: "1", onednn.FROZEN_WEIGHTS_ENV: "1"}


@pytest.mark.parametrize(
    ("flags", "environ", "expected"),
    [
        (AVX2_ONLY, {}, BOTH),
        # TensorFlow turns oneDNN on by itself here: its default is left alone.
        (AVX2_ONLY | {"avx512f", "avx512_vnni", "avx512_bf16"}, {}, {}),  # Zen 4
        (AVX2_ONLY | {"avx_vnni"}, {}, {}),
        (AVX2_ONLY | {"amx_tile", "amx_bf16"}, {}, {}),
        ({"sse4_2", "avx"}, {}, {}),  # no AVX2: never measured
        (set(), {}, {}),  # flags unknown (not Linux)
        # Whatever the user chose wins, either variable, any value.
        (AVX2_ONLY, {onednn.ONEDNN_ENV: "0"}, {}),
        (AVX2_ONLY, {onednn.ONEDNN_ENV: "1"}, {}),
        (AVX2_ONLY, {onednn.FROZEN_WEIGHTS_ENV: "0"}, {}),
    ],
)
def test_inference_environment_only_where_measured_and_unset(flags, environ, expected):
    assert onednn.inference_environment(flags, environ) == expected


def test_nothing_is_set_once_tensorflow_is_loaded(tmp_path, monkeypatch):
    import tensorflow  # noqa: F401  (pytest's process has it; said here for clarity)

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("flags\t\t: " + " ".join(sorted(AVX2_ONLY)) + "\n")
    for name in BOTH:
        monkeypatch.delenv(name, raising=False)
    assert onednn.prepare_inference_process(cpuinfo) == {}
    assert not any(name in os.environ for name in BOTH)


PREPARE = """
import json, os, sys
from segnet_tf import onednn  # as the `segnet` command starts: no TensorFlow yet
assert "tensorflow" not in sys.modules
settings = onednn.prepare_inference_process(sys.argv[1])
names = (onednn.ONEDNN_ENV, onednn.FROZEN_WEIGHTS_ENV)
print(json.dumps([settings, {name: os.environ.get(name) for name in names}]))
try:
    onednn.check_training_environment({})
except ValueError:
    print("training refused")
"""


def test_a_fresh_process_gets_the_settings_and_then_refuses_to_train(tmp_path):
    # Before TensorFlow loads (a new process, as `segnet predict` is): the variables
    # are set, and the process remembers it even if they are removed again.
    import json

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("flags\t\t: " + " ".join(sorted(AVX2_ONLY)) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in BOTH}
    done = subprocess.run(
        [sys.executable, "-c", PREPARE, str(cpuinfo)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    settings, refused = done.stdout.splitlines()
    assert json.loads(settings) == [BOTH, BOTH]
    assert refused == "training refused"


@pytest.mark.parametrize("value", ["1", "true", "TRUE"])
def test_training_refuses_frozen_weights(value):
    with pytest.raises(ValueError, match=onednn.FROZEN_WEIGHTS_ENV):
        onednn.check_training_environment({onednn.FROZEN_WEIGHTS_ENV: value})


@pytest.mark.parametrize("environ", [{}, {onednn.FROZEN_WEIGHTS_ENV: "0"}, {"OTHER": "1"}])
def test_training_accepts_an_environment_without_frozen_weights(environ):
    onednn.check_training_environment(environ)


def test_segnet_train_says_why_it_refuses(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(onednn.FROZEN_WEIGHTS_ENV, "1")
    run_dir = tmp_path / "run"
    code = main(["train", "--data", "synthetic", "--epochs", "1", "--run-dir", str(run_dir)])
    assert code == 2
    assert f"{onednn.FROZEN_WEIGHTS_ENV}=1" in capsys.readouterr().err
    assert not run_dir.exists()  # refused before anything was written


@pytest.mark.parametrize(("command", "prepared"), [("predict", True), ("train", False)])
def test_only_inference_commands_prepare_onednn(monkeypatch, command, prepared):
    from segnet_tf.cli import tf_logs

    calls = []
    monkeypatch.setattr(onednn, "prepare_inference_process", lambda: calls.append(command))

    def stop(verbose):  # stands for loading TensorFlow, which comes after the preparation
        raise ValueError("stopped here")

    monkeypatch.setattr(tf_logs, "import_api", stop)
    argv = (
        ["predict", "camvid_segnet", "x.png", "--out", "out"] if command == "predict" else ["train"]
    )
    assert main(argv) == 2
    assert calls == ([command] if prepared else [])
