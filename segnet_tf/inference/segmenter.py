"""`Segmenter`: from an image (path, PIL image or array) to a class mask in one call."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from segnet_tf.classes import ClassList
from segnet_tf.image_decoding import DecodedImage, ImageSource, decode_image, source_name
from segnet_tf.inference import tiling
from segnet_tf.inference.class_info import check_classes, default_classes, read_sidecar_classes
from segnet_tf.inference.domain import (
    DomainDetector,
    encoder_model,
    pooled_statistics,
    read_sidecar_detector,
)
from segnet_tf.inference.prediction_mode import PredictionMode, Predictor, mode_or_settings
from segnet_tf.inference.tta import TestTimeAugmentation
from segnet_tf.model_files import check_model_file
from segnet_tf.models import has_mc_dropout
from segnet_tf.models.presets import load_preset_model
from segnet_tf.precision import with_precision
from segnet_tf.preset_folders import MODEL_FILE, is_preset_folder, preset_folder
from segnet_tf.resize_policy import DEFAULT_MAX_PIXELS, ResizePolicy
from segnet_tf.training_scale import check_scale_mode, resize_images, working_size

DEFAULT_TILE_SIZE = 1024
DEFAULT_TILE_OVERLAP = 64

# Rows of the full-size output computed at a time when upscaling a downscaled
# prediction, so that temporaries stay at a few tens of megabytes.
_UPSCALE_ROWS = 256


@dataclass(frozen=True)
class SegmentationResult:
    """What :meth:`Segmenter.predict` returns; every map has the input's size.

    Attributes:
        mask: int32 ``[H, W]`` class ids, the argmax of ``probabilities``.
        probabilities: float32 ``[H, W, num_classes]`` softmax (the Monte-Carlo mean
            with ``mc_samples``), or None if ``probabilities=False`` was passed.
        variance: float32 ``[H, W]`` Monte-Carlo variance of the softmax averaged over
            classes (model uncertainty), or None without ``mc_samples``.
        entropy: float32 ``[H, W]`` entropy (nats) of the mean softmax (predictive
            uncertainty), or None without ``mc_samples``.
        classes: Names and colours of the classes.
        network_size: ``(height, width)`` the network saw: smaller than the input
            when the input was larger than ``max_pixels``.
        confidence: float32 ``[H, W]`` probability of the predicted class (the largest
            softmax value), for every model; low values mark pixels the model is unsure
            of, e.g. on images unlike its training data.
        scale: How the network saw the image: ``"training"`` (resized to the area of
            the model's training frames) or ``"native"`` (at its own resolution, in
            tiles above ``tile_size``).
        domain_score: How unlike the training frames the image looks (higher: less
            alike; about 0.5 for a training frame), or None when the segmenter has no
            domain detector (``segnet calibrate``).
        out_of_domain: Whether ``domain_score`` is above the detector's threshold: the
            masks are then the nearest guess among the model's classes, not what is
            there. None without a detector.
    """

    mask: np.ndarray
    probabilities: np.ndarray | None
    variance: np.ndarray | None
    entropy: np.ndarray | None
    classes: ClassList
    network_size: tuple[int, int]
    confidence: np.ndarray | None = None
    scale: str = "native"
    domain_score: float | None = None
    out_of_domain: bool | None = None


class NoTrainingScaleWarning(UserWarning):
    """A model records no training frame size, so images are segmented as they are."""


def _positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"`{name}` must be an int >= {minimum}; got {value!r}.")
    return value


def _decoded(image: ImageSource | DecodedImage) -> DecodedImage:
    """``image`` decoded; a decoded image, or a uint8 ``[H, W, 3]`` array (already what
    the models see), is taken as it is instead of going through the decoder again."""
    if isinstance(image, DecodedImage):
        return image
    if (
        isinstance(image, np.ndarray)
        and image.dtype == np.uint8
        and image.ndim == 3
        and image.shape[-1] == 3
        and image.size  # an empty one gets the decoder's message
    ):
        rgb = np.ascontiguousarray(image)  # no copy unless it is a strided view
        return DecodedImage(rgb, source_name(image), (), rgb.shape[:2])
    return decode_image(image)


class Segmenter:
    """Runs a segmentation model on single images of any size and mode.

    By default (``scale="training"``) every image is resized, aspect ratio kept, to the
    area of the frames the model was trained on (its ``training_size``, which
    ``segnet train`` records), so that a 4000x3000 phone photo shows its cars at the
    size the network learned; the probabilities are resized back bilinearly and the
    returned maps always have the input's size (`segnet_tf.training_scale`). A model
    without ``training_size``, or ``scale="native"``, segments the image at its own
    resolution: images up to ``tile_size`` on both sides go through the network in one
    pass, larger ones are cut into overlapping ``tile_size`` tiles whose softmax outputs
    are blended, so the activation memory stays that of one tile, and images above
    ``max_pixels`` are first downscaled (area averaging) to ``max_pixels``. Choose
    ``"native"`` for imagery already at the training scale whatever its pixel count
    (e.g. large aerial tiles at the training data's ground resolution).

    With a ``domain_detector`` (loaded with the model from ``<stem>.domain.npz``),
    every result also says whether the image looks like the training frames
    (``out_of_domain``, ``domain_score``; see `segnet_tf.inference.domain`).

    Images narrower or lower than 8 pixels are refused; the native path's rules are
    :attr:`resize_policy`, a :class:`~segnet_tf.inference.ResizePolicy`. The full-size
    ``probabilities`` cost ``H * W * num_classes * 4`` bytes: pass
    ``probabilities=False`` to :meth:`predict` for huge images.

    Args:
        model: A Keras model mapping float32 RGB ``[B, H, W, 3]`` in 0..255 to logits
            ``[B, H, W, C]`` (every ``segnet_tf.get_model`` model).
        classes: Class names and colours; defaults to CamVid's for 11 classes, else
            generic names and a fixed palette.
        tile_size: Largest side processed in one pass. Defaults to 1024.
        tile_overlap: Overlap between tiles in pixels. Defaults to 64.
        max_pixels: Largest number of pixels the network is run on, over all tiles.
            Defaults to 8 000 000.
        precision: ``"float32"`` (default) or ``"bfloat16"``: the network computes in
            bfloat16 (weights read as bfloat16, Keras' ``mixed_bfloat16`` policy) and
            the probabilities are still float32. Faster only on CPUs with native
            bfloat16 (see :func:`~segnet_tf.precision.cpu_has_native_bf16`).
            ``model`` is then copied, not changed; ``self.model`` is the copy.
        tta: Default test-time augmentation of :meth:`predict`, a
            :class:`~segnet_tf.inference.tta.TestTimeAugmentation` or its text
            form (``"flip"``, ``"flip+scales:0.75,1,1.25"``); None for one plain pass.
        scale: Default of :meth:`predict`: ``"training"`` (default) or ``"native"``.
        domain_detector: A :class:`~segnet_tf.inference.domain.DomainDetector` fitted
            for this model (``segnet calibrate``), or None.

    Example:

    >>> segmenter = Segmenter.from_file("camvid_segnet.keras")
    >>> result = segmenter.predict("street.jpg")
    >>> result.mask.shape, result.probabilities.shape
    ((720, 960), (720, 960, 11))
    """

    def __init__(
        self,
        model: keras.Model,
        classes: ClassList | None = None,
        tile_size: int = DEFAULT_TILE_SIZE,
        tile_overlap: int = DEFAULT_TILE_OVERLAP,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        precision: str = "float32",
        tta: TestTimeAugmentation | str | None = None,
        scale: str = "training",
        domain_detector: DomainDetector | None = None,
    ):
        if not isinstance(model, keras.Model):
            raise ValueError(f"`model` must be a keras.Model; got {type(model).__name__}.")
        model = with_precision(model, precision)  # checks `precision` first
        self.precision = precision
        output_shape = model.output_shape
        if not isinstance(output_shape, tuple) or len(output_shape) != 4 or not output_shape[-1]:
            raise ValueError(
                f"Model {model.name!r} has output shape {output_shape}; expected logits "
                "[batch, height, width, num_classes]."
            )
        self.model = model
        self.num_classes = int(output_shape[-1])
        self.classes = (
            default_classes(self.num_classes)
            if classes is None
            else check_classes(classes, self.num_classes)
        )
        self.tile_size = _positive_int(tile_size, "tile_size", 16)
        self.tile_overlap = _positive_int(tile_overlap, "tile_overlap", 0)
        if self.tile_overlap >= self.tile_size // 2:
            raise ValueError(
                f"`tile_overlap` ({tile_overlap}) must be less than half of `tile_size` "
                f"({tile_size})."
            )
        self.max_pixels = _positive_int(max_pixels, "max_pixels", 1)
        self.is_bayesian = has_mc_dropout(model)
        self.tta = TestTimeAugmentation.parse(tta)
        self._predictors: dict[PredictionMode, Predictor] = {}
        self.scale = check_scale_mode(scale)
        self.training_size = getattr(model, "training_size", None)
        if self.training_size is None and self.scale == "training":
            warnings.warn(
                f"model {model.name!r} records no training frame size (`training_size`), "
                "so images are segmented at their own resolution (in tiles above "
                f"{self.tile_size} px) instead of at the scale it learned. Models trained "
                "by `segnet train` record it; for another model set it with "
                "`model.copy_with(training_size=(height, width))`.",
                NoTrainingScaleWarning,
                stacklevel=2,
            )
        self._encoder = self._features = None  # built on first use, or for the check
        self.domain_detector = domain_detector
        if domain_detector is not None:
            if not isinstance(domain_detector, DomainDetector):
                raise ValueError(
                    "`domain_detector` must be a DomainDetector or None; got "
                    f"{type(domain_detector).__name__}."
                )
            self._encoder = encoder_model(model)
            domain_detector.check_model(self._encoder)

        # uint8 in: the cast to float inside the graph is 6x faster than NumPy's for a
        # 12-megapixel photo.
        @tf.function(
            input_signature=[
                tf.TensorSpec([None, None, None, 3], tf.uint8),
                tf.TensorSpec([2], tf.int32),
            ]
        )
        def resize(images, size):
            return resize_images(tf.cast(images, tf.float32), size)

        self._resize = resize

    def prediction_mode(
        self, mc_samples: int | None = None, tta: TestTimeAugmentation | str | None = None
    ) -> PredictionMode:
        """The :class:`~segnet_tf.inference.prediction_mode.PredictionMode` of
        :meth:`predict`'s ``mc_samples`` and ``tta``, checked against this model.

        Resolve it once and pass it as ``predict(..., mode=...)`` for many images (a
        video's frames).

        Args:
            mc_samples: Monte-Carlo dropout passes, or None.
            tta: Test-time augmentation; None uses the segmenter's ``tta``.

        Raises:
            ValueError: For Monte-Carlo sampling with test-time augmentation, or of a
                model without Monte-Carlo dropout.
        """
        mode = PredictionMode(tta=self.tta if tta is None else tta, mc_samples=mc_samples)
        if mode.is_monte_carlo and not self.is_bayesian:
            mode.check_model(self.model)  # raises, naming the model
        return mode

    def _predictor(self, mode: PredictionMode) -> Predictor:
        """The mode's predictor of this model, built (and compiled) once per mode."""
        if mode not in self._predictors:
            self._predictors[mode] = mode.predictor(self.model)
        return self._predictors[mode]

    @classmethod
    def from_file(cls, path: str | os.PathLike, classes: ClassList | None = None, **kwargs):
        """Load a ``.keras`` model file (or a preset folder, see :meth:`from_preset`).

        The class list is, in order: ``classes``; ``<stem>.json`` or ``classes.json``
        next to the model file (``ClassList.to_json()`` output, or an object with a
        ``"classes"`` key holding it); the default of :class:`Segmenter`. The domain
        detector is ``<stem>.domain.npz`` beside the file, if there is one.

        Args:
            path: ``.keras`` file.
            classes: Class list overriding any sidecar file.
            **kwargs: Other :class:`Segmenter` arguments.

        Raises:
            ValueError: If the file is missing, not a ``.keras`` file or not loadable.
        """
        if is_preset_folder(path):
            return cls.from_preset(path, classes=classes, **kwargs)
        path = check_model_file(path)  # missing, a folder, truncated: before Keras reads it
        if path.suffix != ".keras":
            raise ValueError(f"{path}: expected a Keras model file ending in '.keras'.")
        # Importing segnet_tf.layers (via segnet_tf.models above) registers the custom
        # layers, so load_model needs no custom_objects.
        try:
            model = keras.models.load_model(path, compile=False)
        except Exception as err:  # Keras raises many types for a bad archive
            raise ValueError(f"{path}: cannot load the Keras model ({err}).") from err
        if classes is None:
            classes = read_sidecar_classes(path)
        if "domain_detector" not in kwargs:
            kwargs["domain_detector"] = read_sidecar_detector(path)
        return cls(model, classes=classes, **kwargs)

    @classmethod
    def from_preset(
        cls,
        name_or_folder: str | os.PathLike,
        presets_dir: str | os.PathLike | None = None,
        classes: ClassList | None = None,
        **kwargs,
    ) -> Segmenter:
        """Load a preset: its model, class list, training frame size and domain detector.

        The model comes from ``SegmentationModel.from_preset`` (its config records
        ``training_size``); the classes from the preset's ``model.json`` and the domain
        detector from its ``model.domain.npz``, when it has one.

        Args:
            name_or_folder: A name of ``segnet_tf.list_presets()`` or a preset folder.
            presets_dir: Where names are looked up; defaults to the bundled presets.
            classes: Class list overriding the preset's.
            **kwargs: Other :class:`Segmenter` arguments.

        Raises:
            ValueError: If there is no such preset; the message lists the available ones.
        """
        folder = preset_folder(name_or_folder, presets_dir)
        model = load_preset_model(folder)
        if classes is None:
            classes = read_sidecar_classes(folder / MODEL_FILE)
        if "domain_detector" not in kwargs:
            kwargs["domain_detector"] = read_sidecar_detector(folder / MODEL_FILE)
        return cls(model, classes=classes, **kwargs)

    def warm_up(
        self,
        height: int = 360,
        width: int = 480,
        mc_samples: int | None = None,
        mode: PredictionMode | None = None,
    ) -> None:
        """Run the model once on a blank image so that later calls are timed fairly.

        The first calls trace the network and let oneDNN pick its kernels, which takes
        several times as long as a prediction; an interactive caller warms up once when it
        loads the model, at the size it expects.

        Args:
            height: Image height to warm up at.
            width: Image width to warm up at.
            mc_samples: Warm up the Monte-Carlo path with this many passes instead.
            mode: Warm up this prediction mode (instead of ``mc_samples``); each
                test-time augmentation is a graph of its own.
        """
        blank = np.zeros((height, width, 3), np.uint8)
        self.predict(blank, mc_samples=mc_samples, probabilities=False, mode=mode)

    @property
    def resize_policy(self) -> ResizePolicy:
        """The size rule applied to every image: at most ``max_pixels``, at least 8x8."""
        return ResizePolicy(max_pixels=self.max_pixels)

    def network_size(self, height: int, width: int, scale: str | None = None) -> tuple[int, int]:
        """Size at which the network sees a ``height x width`` image.

        Args:
            height: Image height.
            width: Image width.
            scale: ``"training"`` or ``"native"``; None: the segmenter's ``scale``.
        """
        if self._scale_mode(scale) == "training":
            return working_size(height, width, self.training_size)
        return self.resize_policy.working_size(height, width)

    def _scale_mode(self, scale: str | None) -> str:
        """The scale mode applied: ``"native"`` for a model without ``training_size``."""
        mode = self.scale if scale is None else check_scale_mode(scale)
        return "native" if self.training_size is None else mode

    def resized(self, rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """uint8 ``[H, W, 3]`` ``rgb`` resized to ``size`` by the resampler of every
        inference path (`segnet_tf.training_scale.resize_images`), as float32; as it is
        when it has that size."""
        if tuple(rgb.shape[:2]) == tuple(size):
            return rgb.astype(np.float32)
        return self._resize(tf.constant(rgb[None]), tf.constant(size, tf.int32))[0].numpy()

    def _domain_features_of(self, image: np.ndarray) -> np.ndarray:
        """float32 ``[D]`` encoder statistics of a float ``[h, w, 3]`` network input."""
        if self._features is None:
            if self._encoder is None:
                self._encoder = encoder_model(self.model)
            encoder = self._encoder

            @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
            def features(images):
                return pooled_statistics(encoder(images))

            self._features = features
        return self._features(tf.constant(image[None], tf.float32))[0].numpy()

    def domain_features(self, rgb: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
        """What the domain detector sees of uint8 ``[H, W, 3]`` ``rgb``: float32 ``[D]``,
        the encoder statistics of the image resized to ``image_size``'s area."""
        height, width = rgb.shape[:2]
        return self._domain_features_of(self.resized(rgb, working_size(height, width, image_size)))

    def domain_score(self, rgb: np.ndarray) -> float:
        """The domain detector's score of uint8 ``[H, W, 3]`` ``rgb`` (see ``predict``).

        Raises:
            ValueError: If the segmenter has no domain detector.
        """
        detector = self.domain_detector
        if detector is None:
            raise ValueError(
                f"no domain detector for model {self.model.name!r}; fit one with "
                "`segnet calibrate`."
            )
        features = self.domain_features(rgb, detector.image_size)
        return float(detector.scores(features[None])[0])

    def _tile_outputs(self, mode: PredictionMode):
        """Function mapping an RGB tile to float32 ``[h, w, C (+2 with MC)]``."""
        predictor = self._predictor(mode)
        if not mode.is_monte_carlo:

            def predict(tile: np.ndarray) -> np.ndarray:
                return predictor(tile[None].astype(np.float32)).probabilities[0]

            return predict

        def predict_mc(tile: np.ndarray) -> np.ndarray:
            result = predictor(tile[None].astype(np.float32))
            uncertainty = np.stack([result.variance[0], result.entropy[0]], axis=-1)
            return np.concatenate([result.probabilities[0], uncertainty], axis=-1)

        return predict_mc

    def predict(
        self,
        image: ImageSource | DecodedImage,
        mc_samples: int | None = None,
        probabilities: bool = True,
        tta: TestTimeAugmentation | str | None = None,
        scale: str | None = None,
        mode: PredictionMode | None = None,
    ) -> SegmentationResult:
        """Segment one image.

        Args:
            image: File path, file contents, PIL image (any mode: RGB, RGBA, L, P, I;16,
                CMYK...), array ``[H, W]`` / ``[H, W, 1|3|4]`` (uint8, 16-bit, or float in
                0..255) or a :func:`~segnet_tf.image_decoding.decode_image` result. A
                uint8 ``[H, W, 3]`` array (an image already decoded, e.g. a video frame)
                is used as it is, without a decoding pass.
            mc_samples: Number of Monte-Carlo dropout passes averaged, for Bayesian
                models only; adds ``variance`` and ``entropy`` to the result.
            probabilities: Whether to return the full-size probabilities.
            tta: Test-time augmentation for this call (e.g. ``"flip"``, ``"none"``);
                None uses the segmenter's ``tta``. Each tile's probabilities are the
                mean over the augmentation's passes.
            scale: ``"training"`` or ``"native"`` for this call; None uses the
                segmenter's ``scale`` (see the class docstring).
            mode: A :class:`~segnet_tf.inference.prediction_mode.PredictionMode`
                instead of ``mc_samples`` and ``tta`` (see :meth:`prediction_mode`).

        Returns:
            A :class:`SegmentationResult` whose maps have the input's height and width.

        Raises:
            ValueError: If ``mc_samples`` is given for a model without Monte-Carlo
                dropout or together with test-time augmentation, or ``mode`` together
                with either; a :class:`~segnet_tf.errors.DataError` if the image cannot
                be read or is smaller than 8 pixels on a side.
        """
        mode = mode_or_settings(
            mode, lambda: self.prediction_mode(mc_samples, tta), mc_samples=mc_samples, tta=tta
        )
        mc = mode.is_monte_carlo
        scale_mode = self._scale_mode(scale)
        decoded = _decoded(image)
        height, width = decoded.size
        policy = self.resize_policy
        policy.check(height, width, decoded.name)
        if scale_mode == "training":
            rgb = self.resized(decoded.rgb, working_size(height, width, self.training_size))
        else:
            rgb = policy.apply(decoded.rgb)
        net_h, net_w = rgb.shape[:2]
        outputs = tiling.predict_tiled(
            self._tile_outputs(mode), rgb, self.tile_size, self.tile_overlap
        )
        domain_score = out_of_domain = None
        if self.domain_detector is not None:
            detector = self.domain_detector
            if scale_mode == "training" and tuple(detector.image_size) == self.training_size:
                # The network input is already what the detector looks at.
                features = self._domain_features_of(rgb)
                domain_score = float(detector.scores(features[None])[0])
            else:
                domain_score = self.domain_score(decoded.rgb)
            out_of_domain = bool(domain_score > detector.threshold)
        c = self.num_classes
        if (net_h, net_w) != (height, width) and not probabilities and not mc:
            mask, confidence = self._upscale_argmax(outputs, (height, width))
            probs = extra = None
        elif (net_h, net_w) != (height, width):
            mask, probs, extra, confidence = self._upscale(outputs, (height, width), probabilities)
        else:
            mask = np.argmax(outputs[..., :c], axis=-1).astype(np.int32)
            probs, extra = outputs[..., :c], outputs[..., c:]
            confidence = np.max(probs, axis=-1)
        return SegmentationResult(
            mask=mask,
            probabilities=probs if probabilities else None,
            variance=extra[..., 0] if mc else None,
            entropy=extra[..., 1] if mc else None,
            classes=self.classes,
            network_size=(net_h, net_w),
            confidence=confidence,
            scale=scale_mode,
            domain_score=domain_score,
            out_of_domain=out_of_domain,
        )

    def _upscale_argmax(self, outputs: np.ndarray, size: tuple[int, int]):
        """``(mask, confidence)`` of the probabilities upscaled bilinearly to ``size``,
        without making the full-size probabilities (``tiling.upscale_argmax``)."""
        return tiling.upscale_argmax(outputs[..., : self.num_classes], size, _UPSCALE_ROWS)

    def _upscale(self, outputs: np.ndarray, size: tuple[int, int], keep_probabilities: bool):
        """Bilinearly upscale network outputs to ``size``, a band of rows at a time.

        Returns:
            ``(mask, probabilities or None, extra channels, confidence)`` at ``size``;
            the mask and confidence are the argmax and max of the upscaled probabilities,
            as without resizing.
        """
        height, width = size
        c = self.num_classes
        mask = np.zeros((height, width), np.int32)
        probs = np.zeros((height, width, c), np.float32) if keep_probabilities else None
        extra = np.zeros((height, width, outputs.shape[-1] - c), np.float32)
        confidence = np.zeros((height, width), np.float32)
        for start in range(0, height, _UPSCALE_ROWS):
            stop = min(start + _UPSCALE_ROWS, height)
            band = tiling.resize_bilinear_rows(outputs, size, start, stop)
            mask[start:stop] = np.argmax(band[..., :c], axis=-1)
            confidence[start:stop] = np.max(band[..., :c], axis=-1)
            if probs is not None:
                probs[start:stop] = band[..., :c]
            extra[start:stop] = band[..., c:]
        return mask, probs, extra, confidence
