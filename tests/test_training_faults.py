"""Training under faults: divergence, kills mid-epoch, two processes, damaged files,
a full disk, leftovers of killed processes, Ctrl-C.

Every run is tiny (synthetic 32x32 scenes, width 1/16, a few steps).
"""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys

import h5py
import keras
import numpy as np
import pytest

from segnet_tf.cli import main
from segnet_tf.commands.training import TrainConfig
from segnet_tf.training.epoch_times import read_epoch_times

TINY = dict(
    data="synthetic",
    synthetic_images=8,
    image_size=(32, 32),
    model="segnet_basic",
    width=0.0625,
    batch_size=2,
    steps_per_epoch=3,
    epochs=2,
    learning_rate=0.01,
)
TINY_ARGS = [
    "--data", "synthetic", "--synthetic-images", "8", "--image-size", "32", "32",
    "--model", "segnet_basic", "--width", "0.0625", "--batch-size", "2",
    "--steps-per-epoch", "3", "--epochs", "2",
]  # fmt: skip


class Interrupt(Exception):
    """Stands for a crash: raised from a callback, nothing after it runs."""


class InterruptAt(keras.callbacks.Callback):
    """Raise :class:`Interrupt` after ``step`` optimizer steps of this fit (before
    that step's backup), at the start of epoch ``epoch``, or in the validation of
    epoch ``validating`` (after its last step's backup)."""

    def __init__(self, step=None, epoch=None, validating=None):
        super().__init__()
        self.step, self.epoch, self.validating, self.seen = step, epoch, validating, 0
        self.current = None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch
        if epoch == self.epoch:
            raise Interrupt()

    def on_test_begin(self, logs=None):
        if self.current == self.validating:
            raise Interrupt()

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.step:
            raise Interrupt()


def _train(run_dir, callbacks=(), **changes):
    from segnet_tf.training import train

    return train(
        TrainConfig(**{**TINY, **changes, "run_dir": str(run_dir)}),
        callbacks=list(callbacks),
        verbose=0,
    )


def _interrupted(run_dir, model="segnet_basic", **when):
    with pytest.raises(Interrupt):
        _train(run_dir, [InterruptAt(**when)], backup_every_steps=1, model=model)


def _state_attrs(run_dir):
    with h5py.File(run_dir / "backup" / "state.h5") as f:
        return int(f.attrs["epochs_completed"]), int(f.attrs["steps_taken"])


def _all_finite(model):
    return all(np.all(np.isfinite(w)) for w in model.get_weights())


def _temp_files(folder):
    return [n for n in os.listdir(folder) if ".tmp" in n]


# --- Exact resume (a kill mid-epoch). ---


@pytest.mark.parametrize(
    "model, interrupt, backup",
    [
        # Killed at step 6 of 6 (epoch 2, step 3 of 3): the backup on disk is the
        # state after step 4 (written once step 5's loss proved it sound).
        ("segnet_basic", dict(step=6), (1, 1)),
        # Killed while validating epoch 1: the backup is after step 2 of 3; dropout
        # masks continue from their restored random state.
        ("bayesian_segnet_basic", dict(validating=0), (0, 2)),
    ],
)
def test_resumed_run_takes_the_steps_of_the_uninterrupted_one(tmp_path, model, interrupt, backup):
    uninterrupted = _train(tmp_path / "a", model=model, backup_every_steps=1)
    _interrupted(tmp_path / "b", model=model, **interrupt)
    assert _state_attrs(tmp_path / "b") == backup
    resumed = _train(tmp_path / "b", model=model, backup_every_steps=1)

    assert resumed.initial_epoch == backup[0]
    for a, b in zip(uninterrupted.model.get_weights(), resumed.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # Bit for bit.
    # Same losses, metrics and learning rates, epoch by epoch.
    history = (tmp_path / "a" / "history.csv").read_text()
    assert (tmp_path / "b" / "history.csv").read_text() == history
    # Each epoch timed once: the killed call's row of the resumed epoch is replaced.
    times = read_epoch_times(tmp_path / "b" / "epoch_times.csv")
    assert [row["epoch"] for row in times] == [0, 1]
    assert resumed.metrics["epochs_completed"] == 2
    assert uninterrupted.metrics["mean_iou"] == resumed.metrics["mean_iou"]


def test_resume_reads_the_batches_it_would_have_read(tmp_path):
    from segnet_tf.training.trainer import prepare_data, training_stream

    config = TrainConfig(**TINY, run_dir=str(tmp_path))
    keras.utils.set_random_seed(config.seed)
    data = prepare_data(config)
    full = [x.numpy() for x, _ in training_stream(config, data).take(7)]
    keras.utils.set_random_seed(config.seed)
    tail = [x.numpy() for x, _ in training_stream(config, data, skip_steps=4).take(3)]
    for a, b in zip(full[4:], tail, strict=True):
        np.testing.assert_array_equal(a, b)


def test_backup_refuses_a_state_from_another_schedule(tmp_path, interrupted_run):
    # The shared interrupted run's backup (3-step epochs) is only read here.
    with pytest.raises(ValueError, match="state.h5.*steps per epoch"):
        # Same model, but the recorded step cannot be placed in 5-step epochs.
        from segnet_tf.training.backup import read_state
        from segnet_tf.training.trainer import build_model, prepare_data

        config = TrainConfig(**TINY, run_dir=str(tmp_path / "run"))
        data = prepare_data(config)
        import tensorflow as tf

        read_state(
            interrupted_run / "backup" / "state.h5",
            build_model(config, data, tf.distribute.get_strategy()),
            5,
        )


# --- Divergence. ---


class PoisonAt(keras.callbacks.Callback):
    """Turn the first kernel into NaN before a given epoch's first step, like an
    overflowing update would."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch, self.current = epoch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if self.current == self.epoch and batch == 1:
            kernel = self.model.trainable_variables[0]
            kernel.assign(np.full(kernel.shape, np.nan, "float32"))


def test_divergence_keeps_the_last_finite_state_and_resumes_with_a_lower_rate(tmp_path):
    from segnet_tf.training import TrainingDivergedError, load_trained_model

    run_dir = tmp_path / "run"
    with pytest.raises(TrainingDivergedError) as info:
        _train(run_dir, [PoisonAt(epoch=1)], backup_every_steps=1)
    message = str(info.value)
    assert "epoch 2, batch 2" in message and "--learning-rate" in message
    assert "nothing from that step on was saved" in message
    assert "Best checkpoint so far" not in message
    # The backup is the end of epoch 1 (the state after epoch 2's step 1 was only
    # pending: step 2's loss condemned it), best.keras is finite.
    assert _state_attrs(run_dir) == (1, 0)
    assert "backup/ holds the end of epoch 1" in message
    assert _all_finite(load_trained_model(run_dir / "best.keras", compile=False))
    with h5py.File(run_dir / "backup" / "state.h5") as f:
        assert all(np.all(np.isfinite(v[()])) for v in f["values"].values())
    assert len((run_dir / "history.csv").read_text().splitlines()) == 1 + 1  # No epoch 2.
    assert [row["epoch"] for row in read_epoch_times(run_dir / "epoch_times.csv")] == [0]
    assert json.loads((run_dir / "diverged.json").read_text())["epoch"] == 1

    # The same command again would diverge again: refused, with what to change.
    with pytest.raises(ValueError, match="diverged.*lower --learning-rate"):
        _train(run_dir, backup_every_steps=1)
    # A lower learning rate resumes from the last finite state.
    resumed = _train(run_dir, backup_every_steps=1, learning_rate=0.005)
    assert resumed.initial_epoch == 1 and resumed.metrics["epochs_completed"] == 2
    assert not (run_dir / "diverged.json").exists()
    assert json.loads((run_dir / "config.json").read_text())["learning_rate"] == 0.005
    assert _all_finite(resumed.model)


def test_huge_learning_rate_is_one_clear_error_and_a_lower_one_recovers(tmp_path, capsys):
    run_dir = tmp_path / "run"
    args = ["train", *TINY_ARGS, "--backup-every-steps", "1", "--run-dir", str(run_dir)]
    assert main([*args, "--learning-rate", "1e9"]) == 1
    err = capsys.readouterr().err
    assert ("NaN/inf" in err or "exploded" in err) and "lower --learning-rate (e.g. 1e+08)" in err
    if (run_dir / "best.keras").exists():
        from segnet_tf.training import load_trained_model

        assert _all_finite(load_trained_model(run_dir / "best.keras", compile=False))
    if (run_dir / "backup" / "state.h5").exists():
        with h5py.File(run_dir / "backup" / "state.h5") as f:
            assert all(np.all(np.isfinite(v[()])) for v in f["values"].values())
    assert main([*args, "--learning-rate", "1e9"]) == 2
    assert "diverged" in capsys.readouterr().err
    assert main([*args, "--learning-rate", "0.01"]) == 0
    assert json.loads((run_dir / "metrics.json").read_text())["epochs_completed"] == 2


def test_weights_with_nan_are_never_saved_even_when_the_loss_is_finite(tmp_path):
    import tensorflow as tf

    from segnet_tf.training.backup import ResumePoint, write_state
    from segnet_tf.training.trainer import build_model, prepare_data

    config = TrainConfig(**TINY, run_dir=str(tmp_path))
    model = build_model(config, prepare_data(config), tf.distribute.get_strategy())
    path = tmp_path / "state.h5"
    write_state(path, model, ResumePoint(1, 0, 3))
    before = path.read_bytes()
    kernel = model.trainable_variables[0]
    kernel.assign(np.full(kernel.shape, np.inf, "float32"))
    with pytest.raises(ValueError, match="NaN/inf"):
        write_state(path, model, ResumePoint(1, 1, 3))
    assert path.read_bytes() == before and _temp_files(tmp_path) == []


# --- One process per run folder. ---


# Another training process, as the lock sees it: a flock on the run folder (plain
# Python, so that it starts without importing TensorFlow).
HOLD_LOCK = """
import fcntl, os, sys, time
os.makedirs(sys.argv[1], exist_ok=True)
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
print("locked", flush=True)
sys.stdin.read()  # Holds the lock until the test closes this pipe or kills it.
"""


def _hold_lock(run_dir):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(run_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_second_process_on_a_run_folder_is_refused_and_a_killed_one_leaves_no_lock(
    tmp_path, capsys
):
    run_dir = tmp_path / "run"
    holder = _hold_lock(run_dir)
    try:
        assert main(["train", *TINY_ARGS, "--run-dir", str(run_dir)]) == 2
        err = capsys.readouterr().err
        assert f"{run_dir} is in use by another segnet train process (pid {holder.pid})" in err
        assert os.listdir(run_dir) == []  # Nothing written by the refused run.
    finally:
        holder.kill()
        holder.wait()
    # kill -9 released the lock: the folder is usable at once.
    assert main(["train", *TINY_ARGS, "--epochs", "1", "--run-dir", str(run_dir)]) == 0


def test_run_lock_in_one_process(tmp_path):
    from segnet_tf.training.run_lock import RunFolderBusyError, RunLock

    with RunLock(tmp_path / "new"):
        with pytest.raises(RunFolderBusyError, match="in use"):
            RunLock(tmp_path / "new").__enter__()
    assert not (tmp_path / "new").exists()  # Created for a run that wrote nothing.
    with RunLock(tmp_path / "new"):
        pass
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        RunLock(tmp_path / "file").__enter__()


# --- Damaged files of an interrupted run: found before training, named. ---


@pytest.fixture(scope="module")
def interrupted_run(tmp_path_factory):
    """A run killed in epoch 2 (one epoch, its best checkpoint and history done)."""
    run_dir = tmp_path_factory.mktemp("faults") / "interrupted"
    _interrupted(run_dir, epoch=1)
    return run_dir


def _damage_best_keras(run_dir):
    data = (run_dir / "best.keras").read_bytes()
    (run_dir / "best.keras").write_bytes(data[: len(data) // 2])
    return "best.keras"


def _nan_best_keras(run_dir):
    from segnet_tf.training import load_trained_model

    model = load_trained_model(run_dir / "best.keras", compile=False)
    kernel = model.trainable_variables[0]
    kernel.assign(np.full(kernel.shape, np.nan, "float32"))
    model.save(run_dir / "best.keras")
    return "best.keras"


@pytest.mark.parametrize(
    "damage, file_name, fix",
    [
        (_damage_best_keras, "best.keras", "delete it and best.json"),
        (_nan_best_keras, "best.keras", "NaN/inf"),
        (lambda d: (d / "history.csv").write_text("garbage\n1,2\n") and "", "history.csv", ""),
        (lambda d: (d / "history.csv").write_bytes(b"\xff\xfe\x00bin"), "history.csv", ""),
        (lambda d: (d / "history.csv").write_text("epoch,loss\n0,1.0\n3,2.0\n"), "history.csv", ""),
        (lambda d: (d / "best.json").write_text('{"monitor": 1, "value": "x"}'), "best.json", ""),
        (lambda d: (d / "best.json").write_text("{not json"), "best.json", ""),
        (lambda d: (d / "backup" / "state.h5").write_bytes(b"\x89HDF\r\n"), "state.h5", ""),
    ],
    ids=[
        "truncated-best",
        "nan-best",
        "history-no-epoch",
        "history-binary",
        "history-gap",
        "best-json-types",
        "best-json-syntax",
        "truncated-backup",
    ],
)
def test_damaged_file_is_named_before_training(
    tmp_path, capsys, interrupted_run, damage, file_name, fix
):
    run_dir = tmp_path / "run"
    shutil.copytree(interrupted_run, run_dir)
    damage(run_dir)
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}
    args = [*TINY_ARGS, "--learning-rate", "0.01", "--backup-every-steps", "1"]
    code = main(["train", *args, "--run-dir", str(run_dir)])
    out, err = capsys.readouterr()
    assert code == 2
    assert str(run_dir / file_name) in err or f"{run_dir}/backup/{file_name}" in err
    assert fix in err and "Traceback" not in err
    assert "Epoch" not in out  # Nothing trained.
    assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()} == before


def _delete(*names):
    def follow(run_dir):
        for name in names:
            path = run_dir / name
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
        return []

    return follow


@pytest.mark.parametrize(
    "damage, fix, follow",
    [
        (_damage_best_keras, "delete it and best.json", _delete("best.keras", "best.json")),
        (_nan_best_keras, "delete it and best.json", _delete("best.keras", "best.json")),
        (_damage_best_keras, "or pass --overwrite to restart the run", lambda d: ["--overwrite"]),
        (lambda d: (d / "best.json").write_text("{not json"),
         "delete it and the checkpoint beside it", _delete("best.json", "best.keras")),
        (lambda d: (d / "backup" / "state.h5").write_bytes(b"\x89HDF\r\n"),
         "to restart the run from scratch", _delete("backup")),
        (lambda d: (d / "backup" / "state.h5").write_bytes(b"\x89HDF\r\n"),
         "or pass --overwrite", lambda d: ["--overwrite"]),
    ],
    ids=["best-deleted", "nan-best-deleted", "best-overwrite", "best-json-deleted",
         "backup-deleted", "backup-overwrite"],
)  # fmt: skip
def test_each_fix_a_damaged_file_message_prints_works_when_followed(
    tmp_path, capsys, interrupted_run, damage, fix, follow
):
    run_dir = tmp_path / "run"
    shutil.copytree(interrupted_run, run_dir)
    damage(run_dir)
    argv = ["train", *TINY_ARGS, "--backup-every-steps", "1", "--run-dir", str(run_dir)]
    assert main(argv) == 2
    assert fix in capsys.readouterr().err
    extra = follow(run_dir)
    assert main([*argv, *extra]) == 0, capsys.readouterr().err
    assert json.loads((run_dir / "metrics.json").read_text())["epochs_completed"] == 2


HISTORY_DAMAGE = {
    "garbage": lambda d: (d / "history.csv").write_text("garbage\n1,2\n"),
    "binary": lambda d: (d / "history.csv").write_bytes(b"\xff\xfe\x00bin"),
    "gap": lambda d: (d / "history.csv").write_text("epoch,loss\n0,1.0\n3,2.0\n"),
}


@pytest.mark.parametrize("damage", HISTORY_DAMAGE.values(), ids=HISTORY_DAMAGE.keys())
def test_the_fixes_a_damaged_history_message_prints_work_when_followed(
    tmp_path, capsys, interrupted_run, damage
):
    from segnet_tf.training.callbacks import read_history_csv

    run_dir = tmp_path / "run"
    shutil.copytree(interrupted_run, run_dir)
    original = (run_dir / "history.csv").read_bytes()
    damage(run_dir)
    argv = ["train", *TINY_ARGS, "--backup-every-steps", "1", "--run-dir", str(run_dir)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "restore it from a copy, or delete it and rerun the same command" in err
    assert "--overwrite restarts the run" in err

    # "Restore it from a copy": a copy of the run with the file restored finishes.
    restored = tmp_path / "restored"
    shutil.copytree(run_dir, restored)
    (restored / "history.csv").write_bytes(original)
    assert main([*argv[:-1], str(restored)]) == 0
    assert len(read_history_csv(restored / "history.csv")) == 2

    # "--overwrite restarts the run".
    overwritten = tmp_path / "overwritten"
    shutil.copytree(run_dir, overwritten)
    assert main([*argv[:-1], str(overwritten), "--overwrite"]) == 0
    assert len(read_history_csv(overwritten / "history.csv")) == 2

    # "Delete it and rerun the same command": the run finishes at once, epoch 1's values
    # empty, epoch 2's trained.
    (run_dir / "history.csv").unlink()
    capsys.readouterr()
    assert main(argv) == 0, capsys.readouterr().err
    rows = read_history_csv(run_dir / "history.csv")
    assert [row["epoch"] for row in rows] == [0, 1]
    assert all(np.isnan(v) for k, v in rows[0].items() if k != "epoch")
    assert np.isfinite(rows[1]["loss"])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs_completed"] == 2
    assert (run_dir / "training_curves.png").exists()


def test_a_history_deleted_after_the_last_epoch_still_finishes(tmp_path, capsys, monkeypatch):
    import segnet_tf.training.trainer as trainer
    from segnet_tf.training.callbacks import read_history_csv

    def crash(*args, **kwargs):
        raise Interrupt()  # Killed after the last epoch's backup, before the run's end.

    run_dir = tmp_path / "run"
    monkeypatch.setattr(trainer, "finish", crash)
    with pytest.raises(Interrupt):
        _train(run_dir, backup_every_steps=1)
    monkeypatch.undo()
    (run_dir / "history.csv").unlink()
    argv = ["train", *TINY_ARGS, "--backup-every-steps", "1", "--run-dir", str(run_dir)]
    assert main(argv) == 0, capsys.readouterr().err
    assert [row["epoch"] for row in read_history_csv(run_dir / "history.csv")] == [0, 1]
    assert json.loads((run_dir / "metrics.json").read_text())["epochs_completed"] == 2


# --- A full disk. ---


def test_full_disk_is_a_clear_error_and_the_run_resumes_once_space_is_freed(
    tmp_path, capsys, monkeypatch
):
    import segnet_tf.atomic_files as atomic_files

    run_dir = tmp_path / "run"

    class DiskFillsAt(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                # From now on every flush to disk fails as on a full device.
                def full(fd):
                    raise OSError(errno.ENOSPC, "No space left on device")

                monkeypatch.setattr(atomic_files.os, "fsync", full)

    args = dict(backup_every_steps=2)
    from segnet_tf.training import train

    config = TrainConfig(**{**TINY, **args, "run_dir": str(run_dir)})
    with pytest.raises(atomic_files.DiskFullError) as info:
        train(config, callbacks=[DiskFillsAt()], verbose=0)
    assert "no space left on the device" in str(info.value)
    assert "rerun the same command" in str(info.value)
    assert _state_attrs(run_dir) == (1, 0)  # The previous backup is intact.
    assert _temp_files(run_dir) == [] and _temp_files(run_dir / "backup") == []
    monkeypatch.undo()  # Space freed.
    resumed = train(config, verbose=0)
    assert resumed.initial_epoch == 1 and resumed.metrics["epochs_completed"] == 2


def test_full_disk_in_the_cli_exits_non_zero_with_one_line(tmp_path, capsys, monkeypatch):
    import segnet_tf.atomic_files as atomic_files

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic_files.os, "fsync", full)
    code = main(["train", *TINY_ARGS, "--run-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and "no space left on the device" in err and "Traceback" not in err


# --- Leftovers of killed processes; Ctrl-C. ---


def _dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_temp_files_of_killed_processes_are_removed_on_resume(tmp_path, interrupted_run):
    run_dir = tmp_path / "run"
    shutil.copytree(interrupted_run, run_dir)
    pid = _dead_pid()
    stale = [
        run_dir / f".best.keras.{pid}.{'a' * 32}.tmp.keras",
        run_dir / f".history.csv.{pid}.{'b' * 32}.tmp",
        run_dir / "backup" / f".state.h5.{pid}.{'c' * 32}.tmp",
    ]
    for path in stale:
        path.write_bytes(b"x" * 1000)
    mine = run_dir / "notes.tmp.txt"  # Not a temporary-file name: kept.
    mine.write_text("mine")
    _train(run_dir, backup_every_steps=1)
    assert not any(p.exists() for p in stale)
    assert mine.read_text() == "mine"


def test_stale_temp_files_and_staging_folders_of_dead_processes_only():
    import tempfile

    from segnet_tf.atomic_files import remove_stale_staging_dirs, remove_stale_temp_files

    with tempfile.TemporaryDirectory() as folder:
        dead, alive = _dead_pid(), os.getppid()
        for pid in (dead, alive):
            with open(os.path.join(folder, f".m.keras.{pid}.{'0' * 32}.tmp.keras"), "w"):
                pass
            os.mkdir(os.path.join(folder, f".export-{pid}-{'1' * 32}"))
        assert len(remove_stale_temp_files(folder)) == 1
        assert len(remove_stale_staging_dirs(folder, ".export-")) == 1
        assert sorted(os.listdir(folder)) == sorted(
            [f".m.keras.{alive}.{'0' * 32}.tmp.keras", f".export-{alive}-{'1' * 32}"]
        )


def test_export_removes_staging_folders_of_killed_exports(tmp_path):
    from segnet_tf.export.saved_model import export_saved_model
    from segnet_tf.models import get_model

    model_dir = tmp_path / "serving" / "tiny"
    model_dir.mkdir(parents=True)
    stale = model_dir / f".export-{_dead_pid()}-{'2' * 32}"
    (stale / "variables").mkdir(parents=True)
    model = get_model("segnet_basic", 3, width=0.0625)
    target = export_saved_model(model, tmp_path / "serving", name="tiny")
    assert target == model_dir / "1"
    assert sorted(os.listdir(model_dir)) == ["1"]


# `segnet train` in a child that prints READY and blocks once epoch 1 is backed up
# (in epoch 2's first step), so that Ctrl-C comes in that state however slow the
# machine, and not after the child has finished.
BLOCK_IN_EPOCH_2 = """
import signal, sys, time
import keras
import segnet_tf.training.trainer as trainer
from segnet_tf.cli import main

# SIGINT as a terminal delivers it, also when the suite runs as a background job,
# whose processes all ignore SIGINT (the child then trained all 50 epochs and exited
# 0; see tests/test_interrupts_and_litter.py). The inherited masks go with READY.
status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
INHERITED = f"SigBlk={status['SigBlk'].strip()} SigIgn={status['SigIgn'].strip()}"
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

class BlockInEpoch2(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == 1:  # Before this step's backup; epoch 1's is on disk.
            print("READY", INHERITED, flush=True)
            while True:
                time.sleep(0.05)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

real = trainer.make_callbacks
trainer.make_callbacks = lambda *a, **k: real(*a[:5], [BlockInEpoch2()])
sys.exit(main(["train", *sys.argv[1:]]))
"""


def test_ctrl_c_is_one_line_and_exit_130(tmp_path):
    run_dir = tmp_path / "run"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    args = [*TINY_ARGS, "--epochs", "50", "--backup-every-steps", "1", "--run-dir", str(run_dir)]
    process = subprocess.Popen(
        [sys.executable, "-u", "-c", BLOCK_IN_EPOCH_2, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in process.stdout:  # Waits for the state, however long it takes to come.
            if line.startswith("READY"):
                print(line.strip())  # The inherited signal masks, shown if the test fails.
                break
        else:
            pytest.fail(f"the child exited {process.wait()}: {process.stderr.read()[-2000:]}")
        assert _state_attrs(run_dir)[0] == 1  # Epoch 1 is backed up.
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=300)
    finally:
        if process.poll() is None:  # A failed test leaves no blocked child.
            process.kill()
            process.communicate()
    assert process.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "interrupted; rerun the same command to resume" in err
    assert _temp_files(run_dir) == [] and _temp_files(run_dir / "backup") == []
    assert _state_attrs(run_dir)[0] >= 1  # A readable backup.


# --- The stages of the trainer. ---


def test_callbacks_guard_first_backup_last(tmp_path):
    from segnet_tf.training.backup import ExactBackup
    from segnet_tf.training.callbacks import NaNGuard
    from segnet_tf.training.epoch_times import EpochTimes
    from segnet_tf.training.trainer import make_callbacks, prepare_data

    config = TrainConfig(**TINY, early_stopping_patience=2, run_dir=str(tmp_path))
    extra = keras.callbacks.Callback()
    parts = make_callbacks(config, tmp_path, prepare_data(config), None, [], [extra])
    assert isinstance(parts.all[0], NaNGuard) and isinstance(parts.all[-1], ExactBackup)
    assert isinstance(parts.all[-2], EpochTimes)  # timing the epoch's other writes too
    assert parts.all[-3] is extra and parts.early_stopping in parts.all


def test_prepare_data_refuses_a_batch_larger_than_the_split(tmp_path):
    from segnet_tf.training.trainer import prepare_data

    config = TrainConfig(**{**TINY, "steps_per_epoch": None, "batch_size": 16}, run_dir="x")
    with pytest.raises(ValueError, match="fewer than --batch-size 16"):
        prepare_data(config)


def test_early_stopping_resumes_its_patience(tmp_path):
    from segnet_tf.training.callbacks import ResumableEarlyStopping

    rows = [{"epoch": e, "val_mean_iou": v} for e, v in enumerate([0.5, 0.4, 0.3])]
    stopper = ResumableEarlyStopping(rows, monitor="val_mean_iou", patience=3, mode="max")
    stopper.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    stopper.on_train_begin()
    stopper.on_epoch_begin(3)
    assert stopper.wait == 2  # Two epochs without improvement already.
    stopper.on_epoch_end(3, {"val_mean_iou": 0.2})
    assert stopper.model.stop_training and stopper.stopped_epoch == 3
