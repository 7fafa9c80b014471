"""The CPU's feature flags, as Linux lists them in ``/proc/cpuinfo``.

Read before TensorFlow loads (:mod:`segnet_tf.onednn` chooses TensorFlow's oneDNN
settings from them) and to choose a precision (:mod:`segnet_tf.precision`), so this
module imports nothing of the package.
"""

from __future__ import annotations

import os


def cpu_flags(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> set[str]:
    """The feature flags of the first CPU listed in ``cpuinfo`` (empty if unreadable).

    Args:
        cpuinfo: The file to read; Linux's ``/proc/cpuinfo`` by default.
    """
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _first_field(cpuinfo: str | os.PathLike, key: str) -> str | None:
    """The value of the first ``key : value`` line of ``cpuinfo`` (None if absent)."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as lines:
            for line in lines:
                name, sep, value = line.partition(":")
                if sep and name.strip() == key:
                    return value.strip()
    except OSError:
        pass
    return None


def cpu_label(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> str:
    """The CPU, its widest matrix instructions and the cores this process may use.

    For example ``"AMD EPYC (family 25 model 17, avx512_bf16, 2 cores)"``: a VM's model
    name alone does not tell one generation from the next, the family and model numbers
    do. The same text as ``cpu_name`` of ``scripts/train_camvid.sh``, so that a run's
    time logs name one machine one way.

    Args:
        cpuinfo: The file to read; Linux's ``/proc/cpuinfo`` by default.
    """
    flags = cpu_flags(cpuinfo)
    kind = next((flag for flag in ("amx_bf16", "avx512_bf16") if flag in flags), "avx2")
    name = _first_field(cpuinfo, "model name") or "unknown"
    family = _first_field(cpuinfo, "cpu family") or "?"
    model = _first_field(cpuinfo, "model") or "?"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{name} (family {family} model {model}, {kind}, {cores} cores)"
