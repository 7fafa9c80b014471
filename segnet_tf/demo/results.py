"""One prediction as the demo shows it: timing, confidence, class shares, PNG downloads."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from segnet_tf.classes import CAMVID_CLASSES, ClassList
from segnet_tf.demo.images import InputImage
from segnet_tf.inference.prediction_mode import PredictionMode, mode_or_settings
from segnet_tf.inference.segmenter import Segmenter

LOW_CONFIDENCE = 0.6
"""A pixel whose predicted class has a lower probability than this counts as unsure."""
OUT_OF_DOMAIN_SHARE = 0.3
"""For a model without a domain detector only: the share of unsure pixels above which
the page warns that the image looks unlike the training data. On the 233 CamVid test
frames the bundled model is unsure of 10% of the pixels on average and of 25% at most;
but foreign photos stay below it too (12-28%), which is why models get a detector
(``segnet calibrate``)."""


@dataclass(frozen=True)
class Analysis:
    """One prediction as the page shows it.

    Attributes:
        mask: int32 ``[H, W]`` class ids at the working size.
        confidence: float32 ``[H, W]`` probability of the predicted class.
        uncertainty: float32 ``[H, W]`` Monte-Carlo variance, or None.
        entropy: float32 ``[H, W]`` predictive entropy, or None.
        seconds: Wall-clock time of the prediction alone (the model is warmed up when
            it is loaded; a test-time augmentation's graph is traced on its first use).
        mc_samples: Monte-Carlo samples used, or None.
        out_of_domain: The domain detector's verdict, or None without a detector.
        domain_score: Its score (higher: less like the training frames), or None.
    """

    mask: np.ndarray
    confidence: np.ndarray
    uncertainty: np.ndarray | None
    entropy: np.ndarray | None
    seconds: float
    mc_samples: int | None
    out_of_domain: bool | None = None
    domain_score: float | None = None

    @property
    def unsure_share(self) -> float:
        """Share of the pixels predicted with less than :data:`LOW_CONFIDENCE`."""
        return float(np.mean(self.confidence < LOW_CONFIDENCE)) if self.confidence.size else 0.0


def segment(
    segmenter: Segmenter,
    image: InputImage,
    mc_samples: int | None = None,
    tta: str | None = None,
    mode: PredictionMode | None = None,
) -> Analysis:
    """Run the model on an :class:`InputImage` and time the prediction.

    The image is segmented as it is: it was decoded and brought to its working size
    once (:func:`~segnet_tf.demo.images.decode_image_bytes`), and the model was warmed
    up when it was loaded (:func:`~segnet_tf.demo.models.load_segmenter`).

    Args:
        segmenter: Loaded model.
        image: Image at the working size.
        mc_samples: Monte-Carlo dropout passes (Bayesian models), or None.
        tta: Test-time augmentation (e.g. ``"flip"``), or None for one pass.
        mode: A :class:`~segnet_tf.inference.prediction_mode.PredictionMode` instead of
            ``mc_samples`` and ``tta``.
    """
    mode = mode_or_settings(
        mode,
        lambda: segmenter.prediction_mode(mc_samples, tta or "none"),
        mc_samples=mc_samples,
        tta=tta,
    )
    start = time.perf_counter()
    result = segmenter.predict(image.rgb, probabilities=False, mode=mode)
    seconds = time.perf_counter() - start
    return Analysis(
        result.mask,
        result.confidence,
        result.variance,
        result.entropy,
        seconds,
        mode.mc_samples,
        result.out_of_domain,
        result.domain_score,
    )


def domain_notice(analysis: Analysis, classes: ClassList) -> str | None:
    """A plain warning when the image looks unlike the model's training data, else None.

    Such an image (a portrait, a pet, an indoor scene for a road-scene model) still
    gets a mask, whose colours name the nearest known class, not what is there. The
    verdict is the model's domain detector's (`segnet_tf.inference.domain`); a model
    without one falls back on the share of unsure pixels.

    Args:
        analysis: The prediction.
        classes: The model's classes, named in the message.
    """
    names = ", ".join(classes.names[: classes.num_classes])
    camvid = classes.names == CAMVID_CLASSES.names
    kind = "road-scene classes from CamVid" if camvid else "classes"
    if analysis.out_of_domain is not None:
        if not analysis.out_of_domain:
            return None
        scenes = "the street scenes" if camvid else "the images"
        return (
            f"This photo does not look like {scenes} the model was trained on. It knows "
            f"only {classes.num_classes} {kind} ({names}) and labels every pixel with one "
            "of them, so the colours below are its nearest guess, not what is there."
        )
    share = analysis.unsure_share
    if share <= OUT_OF_DOMAIN_SHARE:
        return None
    return (
        f"The model is unsure of {share:.0%} of this image (less than "
        f"{LOW_CONFIDENCE:.0%} confidence). "
        f"This model knows {classes.num_classes} {kind} ({names}) and labels every pixel "
        "with one of them, so on a picture unlike its training images the colours are its "
        "nearest guess, not what is there. See the confidence map."
    )


@dataclass(frozen=True)
class ClassShare:
    """Share of the pixels predicted as one class."""

    class_id: int
    name: str
    color: str
    pixels: int
    share: float


def to_hex(color: tuple[int, int, int]) -> str:
    """``(r, g, b)`` -> ``"#rrggbb"``."""
    return "#{:02x}{:02x}{:02x}".format(*(int(c) for c in color))


def class_shares(mask: np.ndarray, classes: ClassList) -> list[ClassShare]:
    """Pixel count and share of every class present in ``mask``, largest first.

    Args:
        mask: Integer ``[H, W]`` class ids.
        classes: Names and colours.
    """
    mask = np.asarray(mask)
    counts = np.bincount(mask.ravel(), minlength=classes.num_labels)
    total = max(int(mask.size), 1)
    shares = [
        ClassShare(i, classes.names[i], to_hex(classes.colors[i]), int(n), int(n) / total)
        for i, n in enumerate(counts[: classes.num_labels])
        if n > 0
    ]
    return sorted(shares, key=lambda s: (-s.pixels, s.class_id))


def class_entries(classes: ClassList) -> list[ClassShare]:
    """Every class of ``classes`` (void included) with zero pixels, for a full legend."""
    return [
        ClassShare(i, name, to_hex(color), 0, 0.0)
        for i, (name, color) in enumerate(zip(classes.names, classes.colors, strict=True))
    ]


def png_bytes(array: np.ndarray) -> bytes:
    """Encode an RGB picture as PNG (class-id masks: ``segnet_tf.visualize.mask_png_bytes``).

    Args:
        array: uint8 ``[H, W, 3]``.

    Raises:
        ValueError: For anything but a uint8 RGB array.
    """
    array = np.asarray(array)
    if array.ndim != 3 or array.shape[-1] != 3 or array.dtype != np.uint8:
        raise ValueError(
            f"Picture has shape {array.shape} and dtype {array.dtype}; expected uint8 RGB "
            "[height, width, 3] (class-id masks go through mask_png_bytes)."
        )
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def stem(name: str) -> str:
    """File-name stem safe for downloads: ``"my photo.jpg"`` -> ``"my_photo"``."""
    base = Path(name).stem or "image"
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in base)
