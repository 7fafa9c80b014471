"""The run directory: what a finished, unfinished or foreign folder looks like.

A run writes ``config.json`` first and ``metrics.json`` last, so:

- no entries (or no folder): a fresh run;
- ``metrics.json`` present: a finished run, never replaced without ``overwrite``;
- ``config.json`` without ``metrics.json``: an interrupted run, resumed when the
  configuration is the same;
- anything else: not a run directory, left alone without ``overwrite``.

A run whose loss became NaN/inf leaves ``diverged.json``; it is then resumed (from its
last finite state) only with another ``--learning-rate`` or ``--warmup-steps``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

from segnet_tf.atomic_files import write_json_atomic
from segnet_tf.config.training import TrainConfig

CONFIG = "config.json"
METRICS = "metrics.json"
HISTORY = "history.csv"
EPOCH_TIMES = "epoch_times.csv"  # Wall time per epoch; see segnet_tf.training.epoch_times.
FINAL_MODEL = "model.keras"
BEST_MODEL = "best.keras"
BEST_INFO = "best.json"
CURVES = "training_curves.png"
CLASS_WEIGHTS = "class_weights.json"
CLASSES = "classes.json"  # The class list, where segnet_tf.inference looks for it.
BACKUP_DIR = "backup"
BACKUP_STATE = "state.h5"  # In BACKUP_DIR; see segnet_tf.training.backup.
LOGS_DIR = "logs"
DIVERGED = "diverged.json"
ARTIFACTS = (
    DIVERGED,
    CONFIG,
    METRICS,
    HISTORY,
    EPOCH_TIMES,
    FINAL_MODEL,
    BEST_MODEL,
    BEST_INFO,
    CURVES,
    CLASS_WEIGHTS,
    CLASSES,
)
ARTIFACT_DIRS = (BACKUP_DIR, LOGS_DIR)
# Fields that may differ when rerunning an interrupted run (they change where the
# run lives, not what it computes).
RESUME_IGNORED_FIELDS = ("run_dir",)
# Fields that may change when resuming a run that diverged (what cures divergence
# without changing the model or the data).
DIVERGENCE_FIXES = ("learning_rate", "warmup_steps")


def _entries(path: Path) -> list[str]:
    """Folder entries that matter: hidden temp files and other workers' folders
    (``worker-<k>``, written by non-chief workers) are ignored."""
    if not path.is_dir():
        return []
    return [n for n in os.listdir(path) if not n.startswith(".") and not n.startswith("worker-")]


def run_state(path: str | os.PathLike) -> str:
    """Classify a run directory: ``"empty"``, ``"finished"``, ``"unfinished"`` or
    ``"foreign"``.

    Args:
        path: Run directory (may not exist).
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        return "foreign"
    entries = _entries(path)
    if not entries:
        return "empty"
    if METRICS in entries:
        return "finished"
    if CONFIG in entries:
        return "unfinished"
    return "foreign"


def config_differences(a: TrainConfig, b: TrainConfig) -> list[str]:
    """Names of the fields that differ (ignoring :data:`RESUME_IGNORED_FIELDS`)."""
    return [
        f.name
        for f in dataclasses.fields(TrainConfig)
        if f.name not in RESUME_IGNORED_FIELDS and getattr(a, f.name) != getattr(b, f.name)
    ]


def check_run_dir(path: str | os.PathLike, config: TrainConfig, overwrite: bool) -> bool:
    """Decide what to do with a run directory, before anything is written.

    Args:
        path: Run directory.
        config: The configuration about to run.
        overwrite: Replace a finished, different or foreign run.

    Returns:
        True to resume an interrupted run, False to start a fresh one.

    Raises:
        ValueError: the folder holds a finished run, an interrupted run with another
            configuration, or other files, and ``overwrite`` is False.
    """
    path = Path(path)
    state = run_state(path)
    hint = "pass --overwrite to replace it, or choose another --run-dir"
    if state == "empty":
        return False
    if overwrite:
        return False
    if state == "finished":
        raise ValueError(f"{path} already holds a finished run ({METRICS}); {hint}.")
    if state == "foreign":
        raise ValueError(f"{path} is not empty and holds no segnet run ({CONFIG}); {hint}.")
    try:
        previous = TrainConfig.load(path / CONFIG)
    except (OSError, ValueError, TypeError) as err:
        raise ValueError(
            f"{path / CONFIG}: cannot read the interrupted run's config ({err}); {hint}."
        ) from err
    differences = config_differences(previous, config)
    divergence = read_divergence(path)
    if divergence is not None:
        if not differences:
            raise ValueError(
                f"{path}: this run diverged ({divergence.get('message', 'NaN/inf loss')}, "
                f"see {DIVERGED}); rerun with a lower --learning-rate or more --warmup-steps "
                f"to resume it from its last finite state, or {hint}."
            )
        if set(differences) <= set(DIVERGENCE_FIXES):
            return True
    if differences:
        changed = ", ".join(
            f"--{n.replace('_', '-')} {getattr(previous, n)!r} -> {getattr(config, n)!r}"
            for n in differences
        )
        raise ValueError(
            f"{path} holds an interrupted run with another configuration ({changed}); rerun "
            f"with the same settings to resume it, or {hint}."
        )
    return True


def read_divergence(path: str | os.PathLike) -> dict | None:
    """The record :func:`write_divergence` left in a run directory, or None.

    Args:
        path: Run directory.
    """
    marker = Path(path) / DIVERGED
    if not marker.exists():
        return None
    try:
        with open(marker, encoding="utf-8") as f:
            info = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        info = None
    return info if isinstance(info, dict) else {}


def write_divergence(path: str | os.PathLike, info: dict) -> None:
    """Record in a run directory that its loss became NaN/inf.

    Args:
        path: Run directory.
        info: Where and with which settings (``epoch``, ``batch``, ``message``...).
    """

    write_json_atomic(Path(path) / DIVERGED, info)


def clear_run_dir(path: str | os.PathLike) -> None:
    """Delete this package's artifacts from a run directory (for ``overwrite``).

    Only known artifact names are removed, never other files of the folder.
    """
    path = Path(path)
    for name in ARTIFACTS:
        (path / name).unlink(missing_ok=True)
    for name in ARTIFACT_DIRS:
        shutil.rmtree(path / name, ignore_errors=True)
