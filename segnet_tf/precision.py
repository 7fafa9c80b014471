"""Inference precision: float32, or bfloat16 compute on CPUs that have it natively.

bfloat16 keeps float32's exponent range with an 8-bit mantissa, so a network trained
in float32 runs in it without rescaling; the weights stay float32 variables and are
read as bfloat16 (Keras' ``mixed_bfloat16`` policy). It is faster only where the CPU
multiplies bfloat16 natively: AMX tiles (Intel Sapphire Rapids and later) or the
AVX512-BF16 dot-product instructions (Intel Cooper Lake, AMD Zen 4 and later);
elsewhere oneDNN emulates it and float32 is as fast or faster.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from segnet_tf.config.prediction_settings import PRECISIONS
from segnet_tf.cpu_features import NATIVE_BF16_FLAGS, cpu_flags

if TYPE_CHECKING:
    import keras


def check_precision(precision: str) -> str:
    """``precision`` if it is one of :data:`PRECISIONS`, else a ValueError saying so.

    Args:
        precision: The requested precision.
    """
    if precision not in PRECISIONS:
        raise ValueError(
            f"Unknown precision {precision!r}; expected one of {', '.join(PRECISIONS)}."
        )
    return precision


def cpu_has_native_bf16(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> bool:
    """Whether the CPU multiplies bfloat16 natively (AMX or AVX512-BF16).

    Args:
        cpuinfo: The file to read; Linux's ``/proc/cpuinfo`` by default. On other
            systems the flags are unknown and the answer is False.
    """
    return any(flag in cpu_flags(cpuinfo) for flag in NATIVE_BF16_FLAGS)


def auto_precision(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> str:
    """``"bfloat16"`` where the CPU has native bfloat16, else ``"float32"``.

    Args:
        cpuinfo: See :func:`cpu_has_native_bf16`.
    """
    return "bfloat16" if cpu_has_native_bf16(cpuinfo) else "float32"


def mixed_precision_policy(gpu: bool, native_bf16: bool) -> str:
    """The dtype policy that mixed-precision training uses on a machine.

    ``mixed_float16`` on a GPU; on a CPU ``mixed_bfloat16`` where the CPU multiplies
    bfloat16 natively, else ``float32``: where bfloat16 is emulated, a training step
    of the CamVid recipe's network took 7.9x as long as in float32 (AMD EPYC Zen 3,
    AVX2 only; ``python benchmarks/onednn.py``), so mixed precision would only slow
    training down.

    Args:
        gpu: Whether TensorFlow sees a GPU.
        native_bf16: Whether the CPU multiplies bfloat16 natively
            (:func:`cpu_has_native_bf16`).
    """
    if gpu:
        return "mixed_float16"  # GPUs multiply float16 natively; Keras scales the loss
    return "mixed_bfloat16" if native_bf16 else "float32"


def with_precision(model: keras.Model, precision: str) -> keras.Model:
    """``model`` computing in ``precision``: itself for float32, else a copy.

    The copy has the same weights (float32 variables) and the ``mixed_bfloat16`` dtype
    policy, so each layer casts its inputs and reads its weights as bfloat16. The
    package's models are rebuilt from their config, which keeps the final logits
    layer in float32 as in mixed-precision training; a plain functional model gets
    the policy on every layer and bfloat16 outputs. Cast outputs to float32 before a
    softmax either way.

    Args:
        model: A Keras model computing in float32.
        precision: One of :data:`PRECISIONS`.

    Raises:
        ValueError: For another precision.
    """
    import keras  # noqa: PLC0415 - the CLI imports this module to build its parser

    check_precision(precision)
    if precision == "float32":
        return model
    from segnet_tf.models.base import SegmentationModel  # noqa: PLC0415 - imports Keras

    if isinstance(model, SegmentationModel):
        # The package's models carry their dtype policy in their config.
        return model.copy_with(dtype="mixed_bfloat16")
    # A plain functional model (an older .keras file): clone it and set each layer's policy.
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    from segnet_tf.models.graph import all_layers  # noqa: PLC0415 - imports Keras

    for layer in all_layers(copy):
        if layer is not copy and not isinstance(layer, keras.layers.InputLayer):
            layer.dtype_policy = "mixed_bfloat16"
    return copy
