"""Out of domain: does an image look like the ones the model was trained on?

A segmentation model labels every pixel with one of its classes, whatever the picture:
the CamVid model calls a cat "SignSymbol" at 80% mean confidence. Softmax confidence
does not tell such a photo apart (Hendrycks & Gimpel 2017 call it a weak baseline; on
the CamVid model a foreign photo has 12-28% unsure pixels, a CamVid frame 4.5-10%).
What does is the encoder's view of the image as a whole: the mean and the standard
deviation over the image of every channel that each encoder block pools (its texture
and colour statistics, as in style transfer), compared with the same statistics of the
training frames by a Mahalanobis distance (Lee et al., "A Simple Unified Framework for
Detecting Out-of-Distribution Samples and Adversarial Attacks", NeurIPS 2018).

:class:`DomainDetector` holds that distance: the training frames' mean feature vector
and a whitening matrix of their covariance, shrunk towards its diagonal because there
are fewer frames than features. It is fitted (:func:`fit_domain_detector`, ``segnet
calibrate``) on the training frames, each also mirrored and with one random camera
shift (`segnet_tf.data.camera_shifts`), so that a photo of the same kind of scene from
another camera stays in domain; its threshold is a margin above the 99th percentile of
the validation frames' scores (clean and camera-shifted). Its score is computed on the
image brought to the detector's ``image_size`` (the model's training frames), by
``Segmenter``, ``segnet predict``, the demo and inside the exported SavedModel, TFLite
and ONNX graphs, from the same TensorFlow ops.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from segnet_tf.atomic_files import write_bytes_atomic
from segnet_tf.layers import MaxPoolingWithArgmax2D
from segnet_tf.model_files import detector_path

DEFAULT_SHRINKAGE = 0.5
"""Weight of the covariance's diagonal in the shrunk covariance (0: none, 1: diagonal)."""

DEFAULT_MARGIN = 1.2
"""Threshold: this times the 99th percentile of the validation frames' scores.

Chosen on the CamVid preset: its validation frames (clean and camera-shifted) score
0.56 at the 99th percentile; the nearest of the development photos (two faces, a
coffee cup, a rocket, an astronaut, brick, grass, text) score 0.82 and more. 1.2 puts
the threshold at 0.67, where all but one of the frames of CamVid's other sequences
(the 233 test frames) stay in domain and every held-out photo (lowest 0.69) is out.
Evidence: ``python benchmarks/photos.py --camvid-dir ../shared/camvid``.
"""

_POOLING_LAYER_TYPES: list[type] = [MaxPoolingWithArgmax2D, keras.layers.MaxPooling2D]


def register_pooling_layer(layer_type: type) -> type:
    """Mark ``layer_type`` (a layer whose first output is max-pooled) as an encoder
    pooling whose output feeds the detector; for replacements such as the exports'."""
    _POOLING_LAYER_TYPES.append(layer_type)
    return layer_type


def pooled_feature_tensors(model: keras.Model) -> list:
    """The outputs of ``model``'s max-pooling layers, in graph order.

    These are the encoder's blocks in every model of the package (SegNet's decoder
    unpools, U-Net's and FCN's upsample); their count and channels fix the feature size.

    Raises:
        ValueError: If ``model`` is not functional or has no max-pooling layer.
    """
    if not getattr(model, "inputs", None):
        raise ValueError(f"model {model.name!r} must be a functional Keras model.")
    tensors = []
    for layer in model.layers:
        if isinstance(layer, tuple(_POOLING_LAYER_TYPES)):
            output = layer.output
            tensors.append(output[0] if isinstance(output, list | tuple) else output)
    if not tensors:
        raise ValueError(
            f"model {model.name!r} has no max-pooling layer whose outputs could describe "
            "an image for the out-of-domain detector."
        )
    return tensors


def encoder_model(model: keras.Model) -> keras.Model:
    """A model from ``model``'s input to its pooled encoder maps (same layers, shared)."""
    return keras.Model(model.inputs, pooled_feature_tensors(model), name=f"{model.name}_encoder")


def pooled_statistics(maps) -> object:
    """float32 ``[B, D]``: the spatial mean and standard deviation of every channel.

    Args:
        maps: A list of ``[B, h, w, c]`` tensors (any float dtype).
    """
    import tensorflow as tf

    parts = []
    for tensor in maps:
        tensor = tf.cast(tensor, tf.float32)
        mean, variance = tf.nn.moments(tensor, axes=[1, 2])
        parts += [mean, tf.sqrt(variance + 1e-6)]
    return tf.concat(parts, axis=-1)


@dataclass(frozen=True)
class DomainDetector:
    """Mahalanobis distance of an image's encoder statistics from the training frames'.

    Attributes:
        mean: float32 ``[D]``, the training frames' mean feature vector.
        whitening: float32 ``[D, D]``: ``(features - mean) @ whitening`` has unit
            covariance (the Cholesky factor of the shrunk precision matrix).
        threshold: Scores above it are out of domain.
        image_size: ``(height, width)``: features are computed on the image resized to
            this area (the model's training frames).
        info: What it was fitted on (counts, percentiles, model), for the record.
    """

    mean: np.ndarray
    whitening: np.ndarray
    threshold: float
    image_size: tuple[int, int]
    info: dict = field(default_factory=dict, compare=False)

    @property
    def feature_size(self) -> int:
        return int(self.mean.shape[0])

    def scores(self, features: np.ndarray) -> np.ndarray:
        """float64 ``[B]`` scores of float ``[B, D]`` features: the root mean square of
        the whitened distance, about 0.5 for a training frame."""
        z = (np.asarray(features, np.float64) - self.mean) @ self.whitening
        return np.sqrt(np.mean(z * z, axis=-1))

    def tf_scores(self, features):
        """:meth:`scores` as TensorFlow ops (float32), for exported graphs."""
        import tensorflow as tf

        z = tf.matmul(features - tf.constant(self.mean), tf.constant(self.whitening))
        return tf.sqrt(tf.reduce_mean(tf.square(z), axis=-1))

    def save(self, path: str | os.PathLike) -> Path:
        """Write the detector to ``path`` (``.npz``) atomically; returns the path."""
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            mean=self.mean.astype(np.float32),
            whitening=self.whitening.astype(np.float32),
            threshold=np.float64(self.threshold),
            image_size=np.asarray(self.image_size, np.int64),
            info=np.asarray(json.dumps(self.info)),
        )
        path = Path(path)
        write_bytes_atomic(path, buffer.getvalue())
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> DomainDetector:
        """Read a detector written by :meth:`save`.

        Raises:
            ValueError: If the file is missing, damaged or not a detector.
        """
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as archive:
                mean = archive["mean"].astype(np.float32)
                whitening = archive["whitening"].astype(np.float32)
                threshold = float(archive["threshold"])
                image_size = tuple(int(v) for v in archive["image_size"])
                info = json.loads(str(archive["info"]))
        except FileNotFoundError:
            raise ValueError(f"{path}: no such domain detector file.") from None
        except Exception as err:  # zip, npz and JSON errors of a damaged file
            raise ValueError(
                f"{path}: not a readable domain detector ({type(err).__name__}: {err}); "
                "write it again with `segnet calibrate`."
            ) from err
        if mean.ndim != 1 or whitening.shape != (mean.size, mean.size) or len(image_size) != 2:
            raise ValueError(
                f"{path}: the detector's arrays do not fit together (mean {mean.shape}, "
                f"whitening {whitening.shape}); write it again with `segnet calibrate`."
            )
        return cls(mean, whitening, threshold, image_size, info)

    def check_model(self, encoder: keras.Model, source: str = "the domain detector") -> None:
        """Refuse a detector fitted on a model with other encoder channels.

        Raises:
            ValueError: Naming both feature sizes.
        """
        size = 2 * sum(int(t.shape[-1]) for t in encoder.outputs)
        if size != self.feature_size:
            raise ValueError(
                f"{source} describes images with {self.feature_size} encoder statistics, but "
                f"model {encoder.name!r} gives {size}: it was fitted on another model. "
                "Fit one for this model with `segnet calibrate`."
            )


def read_sidecar_detector(model_path: str | os.PathLike) -> DomainDetector | None:
    """The detector saved beside a model file, or None if there is none."""
    path = detector_path(model_path)
    return DomainDetector.load(path) if path.is_file() else None


def fit_domain_detector(
    train_features: np.ndarray,
    val_features: np.ndarray,
    image_size: tuple[int, int],
    shrinkage: float = DEFAULT_SHRINKAGE,
    margin: float = DEFAULT_MARGIN,
    info: dict | None = None,
) -> DomainDetector:
    """Fit the detector on training features and set its threshold on validation ones.

    Args:
        train_features: float ``[N, D]`` of the training frames (and their mirrored and
            camera-shifted copies).
        val_features: float ``[M, D]`` of the validation frames (likewise).
        image_size: ``(height, width)`` the features were computed at.
        shrinkage: See :data:`DEFAULT_SHRINKAGE`.
        margin: See :data:`DEFAULT_MARGIN`.
        info: Extra facts to keep with the detector.

    Raises:
        ValueError: Too few frames, mismatched feature sizes or bad settings.
    """
    train = np.asarray(train_features, np.float64)
    val = np.asarray(val_features, np.float64)
    if train.ndim != 2 or val.ndim != 2 or train.shape[1] != val.shape[1]:
        raise ValueError(
            f"features must be [N, D] with the same D; got {train.shape} and {val.shape}."
        )
    if len(train) < 2 or len(val) < 1:
        raise ValueError(
            f"fitting needs at least 2 training and 1 validation frames; got {len(train)} "
            f"and {len(val)}."
        )
    if not 0.0 < shrinkage <= 1.0:
        raise ValueError(f"`shrinkage` must be in (0, 1]; got {shrinkage!r}.")
    if not margin >= 1.0:
        raise ValueError(f"`margin` must be >= 1; got {margin!r}.")
    mean = train.mean(axis=0)
    centred = train - mean
    covariance = centred.T @ centred / len(train)
    diagonal = np.diag(np.diag(covariance))
    shrunk = (1.0 - shrinkage) * covariance + shrinkage * diagonal
    # A floor on the diagonal: channels that are constant (dead after ReLU) would
    # otherwise make the matrix singular.
    shrunk += np.eye(len(mean)) * 1e-6 * max(float(np.mean(np.diag(covariance))), 1e-12)
    whitening = np.linalg.cholesky(np.linalg.inv(shrunk))
    partial = DomainDetector(mean, whitening, 0.0, tuple(image_size))
    val_scores = partial.scores(val)
    train_scores = partial.scores(train)
    reference = float(np.quantile(val_scores, 0.99))
    facts = {
        "train_frames": int(len(train)),
        "val_frames": int(len(val)),
        "train_score_median": float(np.median(train_scores)),
        "val_score_median": float(np.median(val_scores)),
        "val_score_p99": reference,
        "val_score_max": float(val_scores.max()),
        "shrinkage": float(shrinkage),
        "margin": float(margin),
        **(info or {}),
    }
    return DomainDetector(
        mean.astype(np.float32),
        whitening.astype(np.float32),
        margin * reference,
        tuple(int(v) for v in image_size),
        facts,
    )
