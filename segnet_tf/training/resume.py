"""Check every file a resumed run reads, before it trains.

A damaged file found only at the end of a run (or inside ``fit``) costs the epochs
run before it, and again on every rerun. Here each file is read once, up front, and
a problem is one error naming the file and the way out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from segnet_tf.training import run_dir as run_files
from segnet_tf.training.backup import first_non_finite
from segnet_tf.training.callbacks import read_best_info, read_history_csv
from segnet_tf.training.saving import load_trained_model


@dataclass
class ResumedFiles:
    """What an interrupted run left that the resumed run reads.

    Args:
        history: Rows of ``history.csv`` (see
            :func:`~segnet_tf.training.callbacks.read_history_csv`).
        best: Content of ``best.json``, or None.
    """

    history: list[dict[str, float]] = field(default_factory=list)
    best: dict | None = None


def check_resumed_files(run_dir: str | os.PathLike) -> ResumedFiles:
    """Read and check ``history.csv``, ``best.json`` and ``best.keras`` of a run.

    (The backup is checked against the model by
    :func:`segnet_tf.training.backup.read_state`.)

    Args:
        run_dir: Folder of the interrupted run.

    Returns:
        A :class:`ResumedFiles`.

    Raises:
        ValueError: a file is unreadable, has wrong content, or the backup is of a
            format this version cannot resume; the message names it and the fix.
    """

    run_dir = Path(run_dir)
    history = read_history_csv(run_dir / run_files.HISTORY)
    best = read_best_info(run_dir / run_files.BEST_INFO)
    best_model = run_dir / run_files.BEST_MODEL
    if best_model.exists():
        fix = (
            f"delete it and {run_files.BEST_INFO} to keep the best of the remaining epochs "
            "instead, or pass --overwrite to restart the run"
        )
        try:
            model = load_trained_model(best_model, compile=False)
        except ValueError as err:
            raise ValueError(f"{err} It is the interrupted run's best checkpoint: {fix}.") from err
        bad = first_non_finite(model.weights)
        if bad is not None:
            raise ValueError(f"{best_model}: {bad} holds NaN/inf; {fix}.")
    legacy = run_dir / run_files.BACKUP_DIR / "latest.weights.h5"
    if legacy.exists() and not (run_dir / run_files.BACKUP_DIR / run_files.BACKUP_STATE).exists():
        raise ValueError(
            f"{legacy}: this backup of an earlier segnet_tf version cannot be restored "
            f"exactly; delete {legacy.parent} to restart the run from scratch, or pass "
            "--overwrite."
        )
    return ResumedFiles(history=history, best=best)
