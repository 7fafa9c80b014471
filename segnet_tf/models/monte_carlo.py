"""Monte-Carlo dropout inference for Bayesian SegNet models."""

from dataclasses import dataclass

import keras
import numpy as np

from segnet_tf.layers import MonteCarloDropout
from segnet_tf.models.graph import all_layers


@dataclass(frozen=True)
class MonteCarloPrediction:
    """Result of `mc_predict`.

    Attributes:
        probabilities: float32 `[batch, height, width, classes]`, the mean softmax.
        variance: float32 `[batch, height, width]`, the variance of the softmax
            samples averaged over classes (Bayesian SegNet's model uncertainty).
        entropy: float32 `[batch, height, width]`, the entropy of the mean softmax
            in nats (the predictive uncertainty).
    """

    probabilities: np.ndarray
    variance: np.ndarray
    entropy: np.ndarray


def has_mc_dropout(model: keras.Model) -> bool:
    return any(isinstance(layer, MonteCarloDropout) for layer in all_layers(model))


def mc_predict(model: keras.Model, images, num_samples: int = 8) -> MonteCarloPrediction:
    """Averages `num_samples` stochastic forward passes of a Bayesian model.

    Args:
        model: keras.Model holding `MonteCarloDropout` layers, e.g.
            `get_model("bayesian_segnet_basic", ...)`.
        images: float array `[batch, height, width, 3]` with values in [0, 255].
        num_samples: int. Number of forward passes. Defaults to 8.
    """
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
        raise ValueError(f"`num_samples` must be a positive int. Received: {num_samples!r}")
    if not has_mc_dropout(model):
        raise ValueError(
            f"Model {model.name!r} has no MonteCarloDropout layers, so every sample would be "
            "identical. Use a Bayesian model (e.g. 'bayesian_segnet_basic')."
        )
    images = keras.ops.convert_to_tensor(images, dtype="float32")
    total = total_squares = None
    for _ in range(num_samples):
        probabilities = keras.ops.convert_to_numpy(
            keras.ops.softmax(model(images, training=False), axis=-1)
        ).astype("float64")
        if total is None:
            total, total_squares = probabilities, probabilities**2
        else:
            total += probabilities
            total_squares += probabilities**2
    mean = total / num_samples
    variance = np.maximum(total_squares / num_samples - mean**2, 0.0).mean(axis=-1)
    entropy = -np.sum(mean * np.log(np.clip(mean, 1e-12, None)), axis=-1)
    return MonteCarloPrediction(
        probabilities=mean.astype("float32"),
        variance=variance.astype("float32"),
        entropy=entropy.astype("float32"),
    )
