"""TensorFlow's oneDNN settings for processes that only run trained networks.

TensorFlow reads two environment variables once, when it loads:

- ``TF_ENABLE_ONEDNN_OPTS``: its oneDNN kernels. On Linux they are on by default only
  on CPUs with AVX512-VNNI, AVX512-BF16, AVX-VNNI or AMX; elsewhere TensorFlow
  convolves with Eigen.
- ``TF_ONEDNN_ASSUME_FROZEN_WEIGHTS``: treat every filter as a constant, so oneDNN
  reorders it into its preferred layout once and keeps that copy.

On x86 CPUs with AVX2 but none of those features, inference with both set was
1.27-1.35x faster than TensorFlow's default for SegNet-Basic, SegNet, U-Net and FCN-8s
at 360x480, batch 1, and 1.16x for the CamVid preset (AMD EPYC Zen 3;
``python benchmarks/onednn.py``; README "Inference"). oneDNN alone is a trap there:
at batch 1 TensorFlow hands it float32 filters in plain HWIO layout, which its direct
AVX2 kernels refuse. It falls back to im2col + GEMM and, where the im2col buffer is
too large (a 7x7, 64-channel convolution at 360x480, as in SegNet-Basic), to its
reference loops, which take minutes per image. Frozen weights let it reorder the
filters once and use its direct kernels.

The frozen-weights variable is for inference only. A training process that sets it
keeps computing with the filters oneDNN cached first, so its loss barely moves;
:func:`check_training_environment` refuses that.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from segnet_tf.cpu_features import cpu_flags

ONEDNN_ENV = "TF_ENABLE_ONEDNN_OPTS"
FROZEN_WEIGHTS_ENV = "TF_ONEDNN_ASSUME_FROZEN_WEIGHTS"

ONEDNN_DEFAULT_ON_FLAGS = (
    "avx512_vnni",
    "avx512_bf16",
    "avx_vnni",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
)
"""``/proc/cpuinfo`` flags with which TensorFlow turns oneDNN on by itself (Linux)."""

# Set by prepare_inference_process: TensorFlow keeps what it read even if the
# variable is removed later, so the training check must remember it too.
_frozen_weights_set_here = False


def inference_environment(flags: set[str], environ: Mapping[str, str]) -> dict[str, str]:
    """The variables an inference-only process should set before TensorFlow loads.

    Empty, i.e. TensorFlow's default, unless the CPU has AVX2 and none of
    :data:`ONEDNN_DEFAULT_ON_FLAGS` (the only CPUs this was measured on), and the
    user set neither variable.

    Args:
        flags: The CPU's feature flags (:func:`segnet_tf.cpu_features.cpu_flags`).
        environ: The environment the process starts with.
    """
    if ONEDNN_ENV in environ or FROZEN_WEIGHTS_ENV in environ:
        return {}
    if "avx2" not in flags or any(flag in flags for flag in ONEDNN_DEFAULT_ON_FLAGS):
        return {}
    return {ONEDNN_ENV: "1", FROZEN_WEIGHTS_ENV: "1"}


def prepare_inference_process(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> dict[str, str]:
    """Set :func:`inference_environment` in ``os.environ``, if TensorFlow is not loaded.

    For ``segnet predict``, ``segnet evaluate`` and ``segnet demo``, which never train.
    Returns what it set.

    Args:
        cpuinfo: Where to read the CPU's flags.
    """
    global _frozen_weights_set_here
    if "tensorflow" in sys.modules:  # too late: TensorFlow has read its settings
        return {}
    settings = inference_environment(cpu_flags(cpuinfo), os.environ)
    os.environ.update(settings)
    _frozen_weights_set_here = _frozen_weights_set_here or FROZEN_WEIGHTS_ENV in settings
    return settings


def _is_true(value: str | None) -> bool:
    # TensorFlow's ReadBoolFromEnvVar accepts 0/1/false/true in any case.
    return (value or "").strip().lower() in ("1", "true")


def check_training_environment(environ: Mapping[str, str] | None = None) -> None:
    """Raise a ValueError if oneDNN was told to treat the weights as constants.

    Args:
        environ: The environment to check; ``os.environ`` by default.
    """
    environ = os.environ if environ is None else environ
    if _is_true(environ.get(FROZEN_WEIGHTS_ENV)) or _frozen_weights_set_here:
        raise ValueError(
            f"{FROZEN_WEIGHTS_ENV}=1 makes TensorFlow's oneDNN kernels cache every "
            "filter once, so training would keep computing with the first weights. "
            "It is meant for inference (segnet predict, evaluate and demo set it on "
            "CPUs with AVX2 only, for their own process). TensorFlow reads it when it "
            f"loads: train in a new process without {FROZEN_WEIGHTS_ENV}."
        )
