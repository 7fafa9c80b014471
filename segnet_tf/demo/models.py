"""Where the demo's model comes from, loading it ready for timing, and facts about it."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from segnet_tf.atomic_files import remove_stale_temp_files, write_bytes_atomic
from segnet_tf.classes import parse_class_list
from segnet_tf.inference import PRESETS_DIR, Segmenter
from segnet_tf.precision import auto_precision
from segnet_tf.preset_folders import MODEL_FILE, read_metadata

MODEL_ENV = "SEGNET_DEMO_MODEL"
"""Environment variable naming the ``.keras`` file the demo opens with."""


@dataclass(frozen=True)
class BundledPreset:
    """A bundled model the sidebar offers.

    Attributes:
        name: The preset's folder under ``segnet_tf/presets``.
        label: Its choice in the sidebar.
        description: What sets it apart, for the sidebar's help text; the preset's
            measured test mIoU and robustness to camera shifts are added from its
            ``model.json``.
    """

    name: str
    label: str
    description: str


BUNDLED_PRESETS = (
    BundledPreset(
        "camvid_segnet_robust",
        "Bundled CamVid SegNet, robust to other cameras",
        "Trained on CamVid's train and val frames, each with a random white balance, "
        "exposure, blur, sensor noise and JPEG shift: the SegNet for your own photos.",
    ),
    BundledPreset(
        "camvid_unet_robust",
        "Bundled CamVid U-Net, robust to other cameras",
        "U-Net (Ronneberger et al. 2015), the comparison network, trained like the robust "
        "SegNet: on CamVid's train and val frames, each with a random camera shift. The "
        "most accurate bundled model, thin objects (poles, signs, bicycles) most of all.",
    ),
    BundledPreset(
        "camvid_segnet",
        "Bundled CamVid SegNet, original recipe",
        "Trained on CamVid's train frames without camera shifts: as accurate on CamVid's "
        "own frames, less so on photos from other cameras.",
    ),
)
"""The bundled models the sidebar offers, the one the demo opens with first."""
DEFAULT_PRESET = BUNDLED_PRESETS[0].name
"""Bundled model the demo uses when ``$SEGNET_DEMO_MODEL`` is not set."""


@dataclass(frozen=True)
class ModelSource:
    """Where the demo's model comes from.

    Attributes:
        path: The ``.keras`` file, or None when it could not be found.
        label: Short description for the page.
        problem: Why ``path`` is None (shown to the user), else None.
        description: What sets this model apart, for the sidebar's help text.
    """

    path: Path | None
    label: str
    problem: str | None = None
    description: str | None = None


def _measured_note(folder: Path) -> str:
    """'CamVid test mIoU 57.1. Under camera shifts it keeps 99% of it (...)', from the
    preset's ``model.json``: what sets one bundled model apart, in measured figures."""
    try:
        metadata = read_metadata(folder)
    except ValueError:  # an unreadable model.json: the description goes without it
        return ""
    note = ""
    scores = metadata.get("test_scores") or {}
    if "mean_iou" in scores:
        note += f" CamVid test mIoU {100 * scores['mean_iou']:.1f}."
    robustness = metadata.get("robustness") or {}
    if "mean_share" in robustness:
        note += (
            f" Under camera shifts it keeps {robustness['mean_share']:.0%} of its CamVid test "
            f"mIoU on average ({robustness['lowest_share']:.0%} under "
            f"{robustness['lowest_shift']})."
        )
    return note


def _bundled_source(preset: BundledPreset) -> ModelSource:
    folder = PRESETS_DIR / preset.name
    path = folder / MODEL_FILE
    if not path.is_file():
        return ModelSource(
            None,
            preset.label,
            f"The bundled model '{preset.name}' is not installed ({path} is missing). "
            f"Point the demo to a .keras file: enter its path or upload it in the sidebar, "
            f"or set ${MODEL_ENV}.",
        )
    description = f"**{preset.label}**: {preset.description}{_measured_note(folder)}"
    return ModelSource(path, preset.label, description=description)


def default_model_source(environ: dict[str, str] | None = None) -> ModelSource:
    """The model to open with: ``$SEGNET_DEMO_MODEL`` or the first bundled preset.

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
    return _bundled_source(BUNDLED_PRESETS[0])


def other_bundled_sources(default: ModelSource) -> list[ModelSource]:
    """The installed presets of :data:`BUNDLED_PRESETS` other than ``default``, as
    choices for the sidebar (a preset that is not installed is not offered)."""
    # The default is left out before its model.json is read a second time.
    others = [_bundled_source(p) for p in BUNDLED_PRESETS if p.label != default.label]
    return [source for source in others if source.path is not None]


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
    remove_stale_temp_files(folder)  # of demos killed while saving an upload
    path = folder / f"{hashlib.sha256(data).hexdigest()[:16]}.keras"
    if not path.is_file():
        write_bytes_atomic(path, data)
    return path


@dataclass(frozen=True)
class ModelRef:
    """Which model to load: the file, its modification time and an optional class list.

    It is what the page caches a loaded model under: a changed file (new ``mtime``) or
    another class list is another model.

    Attributes:
        path: ``.keras`` file.
        mtime: The file's modification time when the reference was made.
        classes_json: Contents of a class-list JSON, or None.
    """

    path: str
    mtime: float
    classes_json: bytes | None = None

    @classmethod
    def for_file(cls, path: str | os.PathLike, classes_json: bytes | None = None) -> ModelRef:
        """Reference the current version of ``path``.

        Raises:
            OSError: If the file cannot be read.
        """
        return cls(str(path), os.stat(path).st_mtime, classes_json)


WARM_UP_SIZE = (360, 480)
"""Size of the blank image the model is warmed up on: a CamVid frame at the
resolution SegNet was trained at."""


def load_segmenter(
    path: str | os.PathLike,
    classes_json: bytes | None = None,
    warm_up: tuple[int, int] | None = WARM_UP_SIZE,
    precision: str | None = None,
) -> Segmenter:
    """Load a model file, with class names from an uploaded JSON if given, and warm it up.

    Args:
        path: ``.keras`` file.
        classes_json: Contents of a class-list JSON (``ClassList.to_json()`` output) or
            None to use the model's sidecar file or the defaults.
        warm_up: ``(height, width)`` of one blank prediction run now, so that the first
            image's inference time is the model's and not its start-up; None for none.
        precision: ``"float32"`` or ``"bfloat16"``; by default bfloat16 where the CPU
            multiplies it natively (AMX or AVX512-BF16), else float32.

    Raises:
        ValueError: If the model or the class list cannot be loaded.
    """
    classes = None
    if classes_json is not None:
        classes = parse_class_list(classes_json, "class list")
    precision = auto_precision() if precision is None else precision
    segmenter = Segmenter.from_file(path, classes=classes, precision=precision)
    if warm_up is not None:
        segmenter.warm_up(*warm_up)
    return segmenter


@dataclass(frozen=True)
class ModelInfo:
    """Facts about a loaded model for the page."""

    name: str
    parameters: int
    num_classes: int
    bayesian: bool
    has_inside_view: bool
    precision: str = "float32"


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
        precision=segmenter.precision,
    )
