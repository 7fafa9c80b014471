"""Post-hoc logit adjustment: rebalance a trained model's classes without retraining.

A model trained with an unweighted loss learns the class posterior, in which the
classes covering most pixels (road, sky, building) win every doubtful pixel; the
class-average accuracy C suffers. Median-frequency loss weights (the SegNet paper's
fix) slow training down and, on a short budget, make large classes collapse into
rare ones. Logit adjustment (Menon et al., "Long-tail learning via logit
adjustment", ICLR 2021) instead adds ``-tau * log(prior[c])`` to each class logit of
the trained model: ``tau = 0`` is the model as trained, ``tau = 1`` the classifier
that is optimal for class-balanced accuracy. ``tau`` is chosen on validation data
(``segnet_tf.training.sweep_logit_adjustment``, ``segnet adjust``).
"""

from __future__ import annotations

import keras
import numpy as np

from segnet_tf.layers import ClassLogitOffset
from segnet_tf.models._blocks import LOGIT_ADJUSTMENT_LAYER as LAYER_NAME
from segnet_tf.models.base import SegmentationModel


def class_prior_offsets(class_frequencies, tau: float) -> np.ndarray:
    """Per-class logit offsets ``-tau * log(prior)``, centred on zero.

    Args:
        class_frequencies: Pixel count or share of each class in the training data.
            A class that never occurs gets the offset of the rarest class seen.
        tau: Strength; 0 leaves the model unchanged, 1 removes the prior entirely.

    Returns:
        float64 ``[num_classes]`` offsets (their mean is 0: only differences between
        classes change a prediction).
    """
    freq = np.asarray(class_frequencies, dtype=np.float64)
    if freq.ndim != 1 or freq.size < 2 or np.any(freq < 0) or not np.all(np.isfinite(freq)):
        raise ValueError(
            "`class_frequencies` must be a 1-D list of non-negative counts, one per class. "
            f"Received: {freq.tolist()!r}"
        )
    if not freq.sum() > 0:
        raise ValueError("`class_frequencies` are all zero; expected pixel counts per class.")
    if not np.isfinite(tau) or tau < 0:
        raise ValueError(f"`tau` must be a finite number >= 0. Received: tau={tau!r}")
    prior = freq / freq.sum()
    prior = np.where(prior > 0, prior, prior[prior > 0].min())
    offsets = -tau * np.log(prior)
    return offsets - offsets.mean()


def base_logits(model: keras.Model):
    """The model's logits before any logit adjustment it already carries."""
    last = model.layers[-1]
    if isinstance(last, ClassLogitOffset):
        return last.input
    return model.outputs[0]


def with_logit_adjustment(model: keras.Model, offsets) -> keras.Model:
    """A model sharing ``model``'s layers with per-class offsets added to its logits.

    An adjustment the model already ends with is replaced, not stacked. The result
    saves, loads, exports and serves like any other model of the package. A model of
    this package (`SegmentationModel`) is rebuilt from its config with
    ``class_logit_offsets=offsets`` (the copy has its own layers and the same weights).

    Args:
        model: A functional segmentation model (``[B, H, W, 3]`` -> logits).
        offsets: One logit offset per class, e.g. from :func:`class_prior_offsets`.

    Returns:
        A new ``keras.Model`` with the same name and weights.
    """
    if isinstance(model, SegmentationModel):
        offsets = np.asarray(offsets, dtype=np.float64)
        if offsets.ndim != 1:
            raise ValueError(f"`offsets` must be 1-D, one per class. Received: {offsets!r}")
        return model.copy_with(class_logit_offsets=offsets.tolist())
    if not getattr(model, "outputs", None) or len(model.outputs) != 1:
        raise ValueError(
            f"model {model.name!r} must be a functional model with one output (logits)."
        )
    logits = base_logits(model)
    adjusted = ClassLogitOffset(offsets, name=LAYER_NAME, dtype="float32")(logits)
    return keras.Model(model.input, adjusted, name=model.name)
