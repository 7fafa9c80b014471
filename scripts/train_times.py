"""How long a run folder's training took, from the two logs that time it.

``scripts/train_camvid.sh`` appends one tab-separated line per ``segnet train`` call to
``train_time.tsv``: when, the CPU, the epochs done before and after, and the seconds it
took (a call killed before it returned logs nothing). ``segnet train`` itself writes
``epoch_times.csv``, one row per epoch with its seconds and CPU, which a kill costs one
epoch at most. Read by ``algorithm_table.py`` (seconds per epoch), ``make_preset.py``
(the preset's record) and ``model_card_tables.py`` (the card's training column).
"""

from __future__ import annotations

from pathlib import Path


def read_train_calls(run: Path) -> list[dict] | None:
    """Each logged call as ``{"when", "cpu", "epochs", "seconds"}``; None without a log.

    ``epochs`` is the number the call trained (0 when the run was already finished).

    Raises:
        ValueError: a line without its 5 fields (the message names file and line).
    """
    file = Path(run) / "train_time.tsv"
    if not file.is_file():
        return None
    calls = []
    for number, line in enumerate(file.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 5:
            raise ValueError(
                f"{file}, line {number}: expected 5 tab-separated fields (when, CPU, "
                f"epochs before, epochs after, seconds); got {len(fields)}"
            )
        when, cpu, before, after, seconds = fields
        calls.append(
            {
                "when": when,
                "cpu": cpu,
                "epochs": int(after) - int(before),
                "seconds": float(seconds),
            }
        )
    return calls


def read_epoch_totals(run: Path) -> list[dict] | None:
    """Per CPU, in order of first use, the epochs ``epoch_times.csv`` timed and their
    seconds, as ``{"cpu", "epochs", "seconds"}``; None without the file.

    Raises:
        ValueError: the file is not an epoch-times file (the message names it).
    """
    file = Path(run) / "epoch_times.csv"
    if not file.is_file():
        return None
    from segnet_tf.training.epoch_times import read_epoch_times

    totals: dict[str, dict] = {}
    for row in read_epoch_times(file):
        total = totals.setdefault(row["cpu"], {"cpu": row["cpu"], "epochs": 0, "seconds": 0.0})
        total["epochs"] += 1
        total["seconds"] = round(total["seconds"] + row["seconds"], 3)
    return list(totals.values())


def total_time(parts: list[dict]) -> tuple[float, int, list[str]]:
    """Seconds, epochs and CPUs (in order of first use) summed over ``{"cpu", "epochs",
    "seconds"}`` parts, from :func:`read_epoch_totals` or :func:`read_train_calls`.

    A part that trained no epoch (a call on a finished run) adds nothing: its seconds
    went to loading, not training.
    """
    seconds, epochs, cpus = 0.0, 0, []
    for part in parts:
        if part["epochs"] > 0:
            seconds += part["seconds"]
            epochs += part["epochs"]
            if part["cpu"] not in cpus:
                cpus.append(part["cpu"])
    return seconds, epochs, cpus


def trained_splits(train_on_validation: bool) -> list[str]:
    """The splits a run trained on, from its config's ``train_on_validation``."""
    return ["train", "validation"] if train_on_validation else ["train"]
