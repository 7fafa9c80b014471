"""Segmentation losses (Keras), all ignoring void pixels and accepting class weights.

Every loss is float32 under mixed precision, serialisable (registered under the
``segnet_tf`` package) and contributes nothing, neither value nor gradient, from
pixels whose label is void. :func:`make_loss` builds the one ``segnet train --loss``
names.
"""

from __future__ import annotations

from collections.abc import Sequence

from segnet_tf.config.training import LOSSES
from segnet_tf.training.losses.combined import WeightedSumLoss
from segnet_tf.training.losses.cross_entropy import (
    FocalLoss,
    MaskedSparseCategoricalCrossentropy,
    OhemCrossEntropy,
)
from segnet_tf.training.losses.region import DiceLoss, LovaszSoftmaxLoss

__all__ = [
    "LOSSES",
    "DiceLoss",
    "FocalLoss",
    "LovaszSoftmaxLoss",
    "MaskedSparseCategoricalCrossentropy",
    "OhemCrossEntropy",
    "WeightedSumLoss",
    "make_loss",
]


def make_loss(
    name: str,
    num_classes: int,
    class_weights: Sequence[float] | None = None,
    ignore_class: int | None = None,
    secondary_weight: float = 1.0,
    focal_gamma: float = 2.0,
    ohem_threshold: float = 0.7,
    ohem_min_kept: int = 16384,
):
    """The loss called ``name`` (one of :data:`LOSSES`).

    Args:
        name: ``cross_entropy``, ``dice``, ``focal``, ``lovasz``, ``ohem``, or a sum
            ``cross_entropy+lovasz`` / ``cross_entropy+dice``.
        num_classes: Number of real classes.
        class_weights: Class weights for every loss (the focal loss's ``alpha``).
        ignore_class: Void id.
        secondary_weight: Weight of the second term of a sum (the first has 1).
        focal_gamma: Focusing exponent of the focal loss.
        ohem_threshold: Probability under which OHEM keeps a pixel.
        ohem_min_kept: Pixels per batch OHEM keeps at least.

    Raises:
        ValueError: an unknown name (listing the known ones) or a bad parameter.
    """
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; expected one of {', '.join(LOSSES)}.")
    common = {"class_weights": class_weights, "ignore_class": ignore_class}
    if "+" in name:
        first, second = name.split("+")
        return WeightedSumLoss(
            [make_loss(first, num_classes, **common), make_loss(second, num_classes, **common)],
            weights=[1.0, secondary_weight],
            name=name.replace("+", "_plus_"),
        )
    if name == "cross_entropy":
        return MaskedSparseCategoricalCrossentropy(num_classes, **common)
    if name == "dice":
        return DiceLoss(num_classes, **common)
    if name == "focal":
        return FocalLoss(num_classes, gamma=focal_gamma, **common)
    if name == "lovasz":
        return LovaszSoftmaxLoss(num_classes, **common)
    return OhemCrossEntropy(num_classes, threshold=ohem_threshold, min_kept=ohem_min_kept, **common)
