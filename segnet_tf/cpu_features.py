"""The CPU's feature flags, as Linux lists them in ``/proc/cpuinfo``.

Read before TensorFlow loads (:mod:`segnet_tf.onednn` chooses TensorFlow's oneDNN
settings from them) and to choose a precision (:mod:`segnet_tf.precision`), so this
module imports nothing of the package.
"""

from __future__ import annotations

import os

NATIVE_BF16_FLAGS = ("amx_bf16", "avx512_bf16")
"""``/proc/cpuinfo`` flags of the instructions that multiply bfloat16 natively, the
widest first (AMX tiles, then AVX512-BF16 dot products)."""


def _first_fields(cpuinfo: str | os.PathLike) -> dict[str, str]:
    """The first value of each ``key : value`` line of ``cpuinfo`` (empty if unreadable):
    the fields of the first CPU it lists."""
    fields: dict[str, str] = {}
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if not line.strip() and fields:
                    break  # A blank line ends the first CPU's block.
                name, sep, value = line.partition(":")
                if sep:
                    fields.setdefault(name.strip(), value.strip())
    except OSError:
        pass
    return fields


def _flags(fields: dict[str, str]) -> set[str]:
    """The feature flags among a CPU's ``/proc/cpuinfo`` fields."""
    return set(fields.get("flags", "").split())


def cpu_flags(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> set[str]:
    """The feature flags of the first CPU listed in ``cpuinfo`` (empty if unreadable).

    Args:
        cpuinfo: The file to read; Linux's ``/proc/cpuinfo`` by default.
    """
    return _flags(_first_fields(cpuinfo))


def cpu_label(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> str:
    """The CPU, its widest matrix instructions and the cores this process may use.

    For example ``"AMD EPYC (family 25 model 17, avx512_bf16, 2 cores)"``: a VM's model
    name alone does not tell one generation from the next, the family and model numbers
    do. The same text as ``cpu_name`` of ``scripts/train_camvid.sh``, so that a run's
    time logs name one machine one way.

    Args:
        cpuinfo: The file to read; Linux's ``/proc/cpuinfo`` by default.
    """
    fields = _first_fields(cpuinfo)
    flags = _flags(fields)
    kind = next((flag for flag in NATIVE_BF16_FLAGS if flag in flags), "avx2")
    name = fields.get("model name") or "unknown"
    family = fields.get("cpu family") or "?"
    model = fields.get("model") or "?"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{name} (family {family} model {model}, {kind}, {cores} cores)"
