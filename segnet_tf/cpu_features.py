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
