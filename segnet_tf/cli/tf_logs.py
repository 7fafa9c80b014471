"""TensorFlow's start-up logs, hidden by `segnet` unless asked for.

On a CPU-only machine `import tensorflow` prints lines about oneDNN, missing CUDA
drivers and CPU instructions, twice (two of its libraries log them), before its
logging is initialised and so whatever `TF_CPP_MIN_LOG_LEVEL` says; its first
operation then logs `failed call to cuInit` as an error. None of them is actionable
for `segnet` users, so by default the command line imports TensorFlow with standard
error captured (and shown only if the import fails), sets `TF_CPP_MIN_LOG_LEVEL=3`
unless it is set already, and lowers TensorFlow's Python loggers to errors.
`segnet --verbose` or `SEGNET_VERBOSE=1` leaves all of that alone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator

VERBOSE_ENV = "SEGNET_VERBOSE"
# TensorFlow's C++ threshold: 0 logs everything, 3 only fatal errors.
QUIET_TF_CPP_MIN_LOG_LEVEL = "3"


def verbose_requested() -> bool:
    """Whether `SEGNET_VERBOSE` asks for TensorFlow's logs."""
    return os.environ.get(VERBOSE_ENV, "").strip().lower() not in ("", "0", "false", "no")


@contextlib.contextmanager
def stderr_captured() -> Iterator[None]:
    """Send file descriptor 2 to a temporary file; write it back if the block raises.

    A descriptor rather than `sys.stderr`, because TensorFlow's C++ code writes to it
    directly.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if failed:
                capture.seek(0)
                sys.stderr.write(capture.read().decode(errors="replace"))
                sys.stderr.flush()


def import_api(verbose: bool = False) -> None:
    """Import `segnet_tf`'s public API (and so TensorFlow), quietly unless `verbose`.

    Args:
        verbose: Show TensorFlow's logs; also when `SEGNET_VERBOSE` is set.
    """
    import segnet_tf

    if verbose or verbose_requested():
        os.environ[VERBOSE_ENV] = "1"  # for the processes this one starts
        segnet_tf.import_api()
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", QUIET_TF_CPP_MIN_LOG_LEVEL)
    if "tensorflow" in sys.modules:
        segnet_tf.import_api()
    else:
        with stderr_captured():
            segnet_tf.import_api()
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
