"""Everything the Streamlit demo (``demo/app.py``) does besides drawing the page.

Decoding uploads with clear errors, the sample images, where the model comes from,
timing a prediction, the per-class pixel shares and PNG encoding. Nothing here imports
Streamlit, so all of it is testable (and usable) without a browser.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from segnet_tf.atomic_files import write_bytes_atomic
from segnet_tf.classes import ClassList
from segnet_tf.inference import PRESETS_DIR, Segmenter, load_rgb
from segnet_tf.inference.class_info import parse_classes_json

MODEL_ENV = "SEGNET_DEMO_MODEL"
"""Environment variable naming the ``.keras`` file the demo opens with."""
DEFAULT_PRESET = "camvid_segnet"
"""Bundled model the demo uses when ``$SEGNET_DEMO_MODEL`` is not set."""
IMAGE_TYPES = ("jpg", "jpeg", "png", "webp", "bmp")
"""File extensions offered by the uploader."""
MAX_UPLOAD_MB = 50
"""Upload limit; the same value is ``server.maxUploadSize`` in demo/.streamlit/config.toml."""
MAX_DECODE_PIXELS = 80_000_000
"""Larger images are refused before decoding (they would need gigabytes of memory)."""
MIN_SIDE = 8
"""Smallest accepted width and height, in pixels."""
WORKING_MAX_SIDE = 1024
"""Images are downscaled so that their longer side is at most this before inference."""
_EXIF_ORIENTATION = 0x0112


class ImageInputError(ValueError):
    """An uploaded file cannot be used as an image; the message says why and what to do."""


@dataclass(frozen=True)
class InputImage:
    """An image ready for the model.

    Attributes:
        name: File or sample name.
        rgb: uint8 ``[H, W, 3]`` at the working size.
        original_size: ``(height, width)`` of the file.
        notes: Human-readable conversions applied (mode, orientation, downscaling).
        digest: SHA-256 of the pixels, a cache key.
    """

    name: str
    rgb: np.ndarray
    original_size: tuple[int, int]
    notes: tuple[str, ...] = ()
    digest: str = ""

    @property
    def working_size(self) -> tuple[int, int]:
        """``(height, width)`` the model sees."""
        return int(self.rgb.shape[0]), int(self.rgb.shape[1])


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


def _mode_note(mode: str) -> str | None:
    """Describe the conversion of a Pillow mode to 8-bit RGB, or None if there is none."""
    if mode == "RGB":
        return None
    if mode.startswith("I;16") or mode == "I":
        return f"{'16' if mode.startswith('I;16') else '32'}-bit grayscale converted to 8-bit RGB"
    if mode == "CMYK":
        return "CMYK converted to RGB"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        return "transparency dropped"
    if mode in ("L", "1"):
        return "grayscale converted to RGB"
    if mode == "P":
        return "palette image converted to RGB"
    return f"{mode} converted to RGB"


def prepare_image(
    rgb: np.ndarray,
    name: str,
    original_size: tuple[int, int] | None = None,
    notes: tuple[str, ...] = (),
    max_side: int = WORKING_MAX_SIDE,
) -> InputImage:
    """Check the size of an RGB image and downscale it to the working size.

    Args:
        rgb: uint8 ``[H, W, 3]``.
        name: Name shown in messages.
        original_size: Size of the file when ``rgb`` was already shrunk while decoding.
        notes: Conversions already applied.
        max_side: Longest side after downscaling.

    Raises:
        ImageInputError: If the image is smaller than :data:`MIN_SIDE` pixels.
    """
    height, width = rgb.shape[:2]
    original_size = original_size or (height, width)
    if min(original_size) < MIN_SIDE:
        raise ImageInputError(
            f"{name}: the image is only {original_size[1]}×{original_size[0]} pixels; the "
            f"demo needs at least {MIN_SIDE}×{MIN_SIDE} pixels to segment anything."
        )
    if max(height, width) > max_side:
        scale = max_side / max(height, width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        rgb = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS), np.uint8)
    if rgb.shape[:2] != tuple(original_size):
        megapixels = original_size[0] * original_size[1] / 1e6
        notes = (
            *notes,
            f"downscaled from {original_size[1]}×{original_size[0]} ({megapixels:.1f} MP) "
            f"to {rgb.shape[1]}×{rgb.shape[0]} for inference",
        )
    return InputImage(name, rgb, tuple(original_size), tuple(notes), _digest(rgb))


def decode_image_bytes(
    data: bytes, name: str, max_side: int = WORKING_MAX_SIDE, max_pixels: int = MAX_DECODE_PIXELS
) -> InputImage:
    """Decode an uploaded file into an :class:`InputImage`.

    Obvious conversions are applied and listed in ``notes``: CMYK, grayscale, palette
    and 16-bit images become 8-bit RGB, alpha is dropped, EXIF orientation is applied,
    animated files give their first frame, and large images are downscaled.

    Args:
        data: File contents.
        name: File name, for messages.
        max_side: Longest side of the working image.
        max_pixels: Largest accepted image, in pixels.

    Raises:
        ImageInputError: For an empty file, a file that is not an image, a truncated or
            corrupt image, an image above ``max_pixels`` or below :data:`MIN_SIDE`.
    """
    if not data:
        raise ImageInputError(f"{name}: the file is empty (0 bytes); expected an image file.")
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as err:
        raise ImageInputError(
            f"{name}: not an image (or a format Pillow cannot read); expected a JPEG, PNG, "
            "WebP or BMP file."
        ) from err
    except Image.DecompressionBombError as err:
        raise ImageInputError(
            f"{name}: the image is too large ({err}); the demo accepts up to "
            f"{max_pixels / 1e6:.0f} MP. Please downscale it first."
        ) from err
    except Exception as err:  # Pillow's plugins raise OSError, SyntaxError, struct.error...
        raise ImageInputError(f"{name}: unreadable image header ({err}).") from err
    width, height = image.size
    if width * height > max_pixels:
        raise ImageInputError(
            f"{name}: the image is {width}×{height} ({width * height / 1e6:.0f} MP); the demo "
            f"accepts up to {max_pixels / 1e6:.0f} MP. Please downscale it first."
        )
    notes: list[str] = []
    if getattr(image, "n_frames", 1) > 1:
        notes.append(f"first of {image.n_frames} frames used")
    if image.format == "JPEG" and max(width, height) > 2 * max_side:
        # Let the JPEG decoder shrink by 2/4/8 while decoding: much faster on big photos.
        image.draft("RGB", (max_side, max_side))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as err:
        what = "truncated" if "truncated" in str(err).lower() else "corrupt or unreadable"
        raise ImageInputError(
            f"{name}: the image is {what} ({err}); please upload the complete file."
        ) from err
    mode_note = _mode_note(image.mode)
    if mode_note:
        notes.append(mode_note)
    oriented = image
    if image.getexif().get(_EXIF_ORIENTATION, 1) not in (0, 1):
        oriented = ImageOps.exif_transpose(image)
        notes.append("rotated as its EXIF orientation says")
    try:
        rgb = load_rgb(oriented)
    except ValueError as err:
        raise ImageInputError(f"{name}: cannot convert the image to RGB ({err}).") from err
    return prepare_image(rgb, name, (height, width), tuple(notes), max_side)


@dataclass(frozen=True)
class Sample:
    """An example image offered by the demo.

    Attributes:
        key: Stable identifier (``"synthetic:0"``, ``"camvid:<file>"``).
        label: Name shown in the page.
        load: Returns the image as RGB uint8.
    """

    key: str
    label: str
    load: Callable[[], np.ndarray]


def _synthetic_loader(index: int) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from segnet_tf.data import synthetic_example

        image, _ = synthetic_example(index, size=(360, 480), seed=2017)
        return image

    return load


def _file_loader(path: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from segnet_tf.data import read_image

        return read_image(path)

    return load


def list_samples(num_synthetic: int = 3, num_camvid: int = 3) -> list[Sample]:
    """Example images: synthetic street scenes, plus CamVid test frames when
    ``$SEGNET_CAMVID_DIR`` points to a CamVid folder (nothing is copied).

    Args:
        num_synthetic: Number of generated scenes.
        num_camvid: Number of CamVid test frames, spread over the split.
    """
    samples = [
        Sample(f"synthetic:{i}", f"Synthetic street scene {i + 1}", _synthetic_loader(i))
        for i in range(num_synthetic)
    ]
    if num_camvid <= 0 or not os.environ.get("SEGNET_CAMVID_DIR"):
        return samples
    from segnet_tf.data import DataError, camvid_split_pairs, resolve_camvid_dir

    try:
        pairs = camvid_split_pairs(resolve_camvid_dir(), "test")
    except (DataError, OSError):
        return samples
    if not pairs:
        return samples
    last = len(pairs) - 1
    picks = sorted({round(i * last / max(num_camvid - 1, 1)) for i in range(num_camvid)})
    for index in picks:
        path = pairs[index][0]
        name = os.path.basename(path)
        samples.append(Sample(f"camvid:{name}", f"CamVid test · {name}", _file_loader(path)))
    return samples


def load_sample(sample: Sample, max_side: int = WORKING_MAX_SIDE) -> InputImage:
    """Load a :class:`Sample` as an :class:`InputImage`."""
    try:
        rgb = sample.load()
    except ValueError as err:
        raise ImageInputError(f"{sample.label}: {err}") from err
    return prepare_image(rgb, sample.label, max_side=max_side)


@dataclass(frozen=True)
class ModelSource:
    """Where the demo's model comes from.

    Attributes:
        path: The ``.keras`` file, or None when it could not be found.
        label: Short description for the page.
        problem: Why ``path`` is None (shown to the user), else None.
    """

    path: Path | None
    label: str
    problem: str | None = None


def default_model_source(environ: dict[str, str] | None = None) -> ModelSource:
    """The model to open with: ``$SEGNET_DEMO_MODEL`` or the bundled preset.

    Args:
        environ: Environment mapping; defaults to ``os.environ``.
    """
    environ = os.environ if environ is None else environ
    configured = environ.get(MODEL_ENV)
    if configured:
        path = Path(configured).expanduser()
        if path.is_file():
            return ModelSource(path, f"{path.name} (from ${MODEL_ENV})")
        return ModelSource(None, configured, f"${MODEL_ENV}={configured}: no such model file.")
    path = PRESETS_DIR / f"{DEFAULT_PRESET}.keras"
    if path.is_file():
        return ModelSource(path, "Bundled CamVid SegNet")
    return ModelSource(
        None,
        "Bundled CamVid SegNet",
        f"The bundled model '{DEFAULT_PRESET}' is not installed ({path} is missing). Point "
        f"the demo to a .keras file: enter its path or upload it in the sidebar, or set "
        f"${MODEL_ENV}.",
    )


def store_uploaded_model(data: bytes, name: str, folder: str | os.PathLike | None = None) -> Path:
    """Write an uploaded ``.keras`` file under a content-addressed name and return its path.

    Args:
        data: File contents.
        name: Uploaded file name (must end in ``.keras``).
        folder: Where to write; defaults to a ``segnet_demo_models`` temporary folder.

    Raises:
        ValueError: If the name does not end in ``.keras`` or the file is empty.
    """
    if not name.lower().endswith(".keras"):
        raise ValueError(f"{name}: expected a Keras model file ending in '.keras'.")
    if not data:
        raise ValueError(f"{name}: the file is empty.")
    folder = Path(folder) if folder is not None else Path(tempfile.gettempdir()) / "segnet_demo"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()[:16]}.keras"
    if not path.is_file():
        write_bytes_atomic(path, data)
    return path


def load_segmenter(path: str | os.PathLike, classes_json: bytes | None = None) -> Segmenter:
    """Load a model file, with class names from an uploaded JSON if given.

    Args:
        path: ``.keras`` file.
        classes_json: Contents of a class-list JSON (``ClassList.to_json()`` output) or
            None to use the model's sidecar file or the defaults.

    Raises:
        ValueError: If the model or the class list cannot be loaded.
    """
    classes = None
    if classes_json is not None:
        try:
            text = classes_json.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ValueError(f"class list: not UTF-8 text ({err}).") from err
        classes = parse_classes_json(text, "class list")
    return Segmenter.from_file(path, classes=classes)


@dataclass(frozen=True)
class ModelInfo:
    """Facts about a loaded model for the page."""

    name: str
    parameters: int
    num_classes: int
    bayesian: bool
    has_inside_view: bool


def describe_model(segmenter: Segmenter) -> ModelInfo:
    """Summarise a :class:`Segmenter`'s model."""
    from segnet_tf.visualize import has_inside_view

    model = segmenter.model
    return ModelInfo(
        name=model.name,
        parameters=int(model.count_params()),
        num_classes=segmenter.num_classes,
        bayesian=bool(segmenter.is_bayesian),
        has_inside_view=has_inside_view(model),
    )


@dataclass(frozen=True)
class Analysis:
    """One prediction as the page shows it.

    Attributes:
        mask: int32 ``[H, W]`` class ids at the working size.
        uncertainty: float32 ``[H, W]`` Monte-Carlo variance, or None.
        entropy: float32 ``[H, W]`` predictive entropy, or None.
        seconds: Wall-clock inference time.
        mc_samples: Monte-Carlo samples used, or None.
    """

    mask: np.ndarray
    uncertainty: np.ndarray | None
    entropy: np.ndarray | None
    seconds: float
    mc_samples: int | None


def segment(segmenter: Segmenter, image: InputImage, mc_samples: int | None = None) -> Analysis:
    """Run the model on an :class:`InputImage` and time it.

    Args:
        segmenter: Loaded model.
        image: Image at the working size.
        mc_samples: Monte-Carlo dropout passes (Bayesian models), or None.
    """
    start = time.perf_counter()
    result = segmenter.predict(image.rgb, mc_samples=mc_samples, probabilities=False)
    seconds = time.perf_counter() - start
    return Analysis(result.mask, result.variance, result.entropy, seconds, mc_samples)


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
    """Encode an image array as PNG.

    Args:
        array: uint8 ``[H, W, 3]`` (RGB) or integer ``[H, W]`` class ids, saved as a
            single-channel 8-bit PNG (16-bit when an id exceeds 255).
    """
    array = np.asarray(array)
    if array.ndim == 2:
        if array.size and (array.min() < 0 or array.max() > 65535):
            raise ValueError("A single-channel PNG holds values 0..65535 only.")
        array = array.astype(np.uint8 if array.max(initial=0) <= 255 else np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def stem(name: str) -> str:
    """File-name stem safe for downloads: ``"my photo.jpg"`` -> ``"my_photo"``."""
    base = Path(name).stem or "image"
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in base)
