"""epoch_times.csv: each kept epoch's wall time and CPU, beside the bit-identical history."""

import subprocess
from pathlib import Path

import pytest

from segnet_tf.cpu_features import cpu_label
from segnet_tf.training.epoch_times import EpochTimes, read_epoch_times

TRAIN_SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "train_camvid.sh"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Guard:
    diverged_at = None


def run_epochs(callback, clock, first, durations, between=0.0):
    """Call the callback as ``fit`` would for epochs ``first, first + 1, ...``.

    ``between``: seconds spent before each epoch begins (other callbacks' work).
    """
    callback.on_train_begin()
    for epoch, seconds in enumerate(durations, start=first):
        clock.now += between
        callback.on_epoch_begin(epoch)
        clock.now += seconds
        callback.on_epoch_end(epoch)


def test_each_epoch_is_timed_from_the_end_of_the_one_before(tmp_path):
    clock, path = Clock(), tmp_path / "epoch_times.csv"
    run_epochs(EpochTimes(path, clock=clock), clock, 0, [12.5, 3.0, 4.25], between=0.5)
    rows = read_epoch_times(path)
    # The half second before each epoch's start is part of it: nothing goes untimed.
    assert [(row["epoch"], row["seconds"]) for row in rows] == [(0, 13.0), (1, 3.5), (2, 4.75)]
    assert {row["cpu"] for row in rows} == {cpu_label()}


def test_a_resumed_run_replaces_the_rows_of_the_epochs_it_trains_again(tmp_path):
    clock, path = Clock(), tmp_path / "epoch_times.csv"
    run_epochs(EpochTimes(path, clock=clock), clock, 0, [10.0, 20.0, 30.0])
    # Killed after three epochs with a backup from the end of the first: the resumed
    # call starts again at epoch 1 (0-based).
    run_epochs(EpochTimes(path, clock=clock), clock, 1, [2.0, 3.0, 4.0])
    rows = read_epoch_times(path)
    assert [(row["epoch"], row["seconds"]) for row in rows] == [
        (0, 10.0),
        (1, 2.0),
        (2, 3.0),
        (3, 4.0),
    ]


def test_a_diverged_epoch_is_not_recorded(tmp_path):
    clock, path, guard = Clock(), tmp_path / "epoch_times.csv", Guard()
    callback = EpochTimes(path, divergence=guard, clock=clock)
    run_epochs(callback, clock, 0, [1.0])
    guard.diverged_at = (1, 0)
    callback.on_epoch_begin(1)
    clock.now += 5.0
    callback.on_epoch_end(1)
    assert [row["epoch"] for row in read_epoch_times(path)] == [0]


def test_a_damaged_file_is_started_afresh_with_a_warning(tmp_path):
    clock, path = Clock(), tmp_path / "epoch_times.csv"
    path.write_bytes(b"\xff\xfe garbage")
    with pytest.warns(UserWarning, match="not an epoch-times file.*afresh from epoch 3"):
        run_epochs(EpochTimes(path, clock=clock), clock, 2, [7.0])
    assert [(row["epoch"], row["seconds"]) for row in read_epoch_times(path)] == [(2, 7.0)]


@pytest.mark.parametrize(
    "text, detail",
    [
        ("epoch,loss\n0,1.0\n", "header"),
        ("epoch,seconds,cpu\nzero,1.0,x\n", "line 2"),
    ],
)
def test_reading_a_foreign_file_names_it_and_what_is_wrong(tmp_path, text, detail):
    path = tmp_path / "epoch_times.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=f"epoch_times.csv: not an epoch-times file.*{detail}"):
        read_epoch_times(path)


def test_cpu_label_names_family_model_widest_instructions_and_cores(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\n"
        "model name\t: AMD EPYC 7B13\nflags\t\t: fpu avx2 fma\n\nprocessor\t: 1\n"
    )
    label = cpu_label(cpuinfo)
    assert label.startswith("AMD EPYC 7B13 (family 25 model 1, avx2, ")
    assert label.endswith(" cores)")
    cpuinfo.write_text(cpuinfo.read_text().replace("avx2 fma", "avx2 avx512_bf16 amx_bf16"))
    assert ", amx_bf16, " in cpu_label(cpuinfo)
    assert cpu_label(tmp_path / "absent").startswith("unknown (family ? model ?, avx2, ")


def test_cpu_label_is_the_recipe_scripts_cpu_name():
    """The recipe's per-call log and the per-epoch file name one machine the same way."""
    shell = f'source <(sed -n "/^cpu_name() {{/,/^}}/p" {TRAIN_SCRIPT}); cpu_name'
    result = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == cpu_label()
