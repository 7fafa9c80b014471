"""Export to a TensorFlow Serving SavedModel: ``OUT/<name>/<version>/``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import keras
import tensorflow as tf

from segnet_tf.atomic_files import (
    make_folder,
    remove_stale_staging_dirs,
    remove_stale_temp_files,
    staging_dir_name,
)
from segnet_tf.classes import ClassList
from segnet_tf.export.portable import without_mc_dropout
from segnet_tf.export.serving import SegmentationServingModule
from segnet_tf.precision import check_precision, with_precision

STAGING_PREFIX = ".export-"


def next_version(model_dir: str | os.PathLike) -> int:
    """One more than the largest integer version directory in ``model_dir`` (1 if none)."""
    model_dir = Path(model_dir)
    versions = [int(p.name) for p in model_dir.glob("*") if p.is_dir() and p.name.isdigit()]
    return max(versions, default=0) + 1


def export_saved_model(
    model: keras.Model,
    out_dir: str | os.PathLike,
    name: str | None = None,
    version: int | None = None,
    classes: ClassList | None = None,
    pad_to_multiple: int = 1,
    keep_mc_dropout: bool = False,
    precision: str = "float32",
    tta=None,
    scale: str = "training",
    domain_detector=None,
) -> Path:
    """Save ``model`` as a SavedModel with ``serving_default`` and ``serve_image_bytes``.

    The version directory is written under a temporary name and renamed into place,
    because TensorFlow Serving watches ``OUT/<name>/`` and would otherwise try to load
    a half-written version.

    The gradients that the pooling and unpooling layers define (``tf.custom_gradient``)
    are not saved: the signatures' inputs are uint8 pixels or encoded bytes, which no
    gradient reaches. Saving them, TensorFlow's default, traced a gradient function per
    layer, whose own gradients could not be saved, so ``tf.saved_model.load`` logged 20
    ``Importing a function (__inference_internal_grad_fn_...) with ops with unsaved
    custom gradients`` warnings for a SegNet-Basic. It still logs that warning once for
    each signature function (5), since their graphs hold those layers' ops; it only
    says that asking for a gradient would fail, which serving never does.

    Args:
        model: The Keras segmentation model.
        out_dir: TensorFlow Serving model base directory (``--model_base_path``'s parent).
        name: Model name; defaults to ``model.name``.
        version: Integer version; defaults to the next free one.
        classes: Optional class list, written to ``assets.extra/classes.json``
            (TensorFlow Serving ignores ``assets.extra``).
        pad_to_multiple: See :class:`SegmentationServingModule`.
        keep_mc_dropout: For Bayesian models, keep Monte-Carlo dropout on, so every
            request is one random sample. By default it is removed, giving the
            deterministic "weight averaging" prediction (see
            :func:`~segnet_tf.export.portable.without_mc_dropout`).
        precision: ``"float32"`` or ``"bfloat16"``: the network computes in bfloat16
            (weights stored float32, read as bfloat16); the signatures still take uint8
            images and return float32 probabilities. Faster where the serving CPU has
            native bfloat16 (AMX, AVX512-BF16).
        tta: Test-time augmentation (e.g. ``"flip+scales:0.75,1,1.25"``) of an extra
            ``serve_images_tta`` signature (uint8 images in, like ``serving_default``);
            None adds none. See :class:`SegmentationServingModule`.
        scale: ``"training"`` (default): every signature resizes its images to the area
            of the model's training frames (``model.training_size``) and the results
            back; ``"native"``: the network runs on the images as they are.
        domain_detector: The model's fitted
            :class:`~segnet_tf.inference.domain.DomainDetector`: the signatures then
            also return ``domain_score`` and ``out_of_domain``.

    Returns:
        The version directory ``out_dir/name/version``.

    Raises:
        ValueError: If the version exists already or is not a positive int, or the
            precision is unknown.
    """
    name = name or model.name
    if not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\\" in name:
        raise ValueError(f"Invalid model name {name!r}; expected a plain directory name.")
    # Every argument is checked before the first directory is created.
    if version is not None and (
        isinstance(version, bool) or not isinstance(version, int) or version < 1
    ):
        raise ValueError(f"`version` must be a positive int; got {version!r}.")
    check_precision(precision)
    training_size = getattr(model, "training_size", None)  # before the copies below
    if not keep_mc_dropout:
        model = without_mc_dropout(model)
    model = with_precision(model, precision)
    module = SegmentationServingModule(
        model,
        pad_to_multiple=pad_to_multiple,
        tta=tta,
        training_size=training_size,
        scale=scale,
        domain_detector=domain_detector,
    )
    model_dir = Path(out_dir) / name
    if version is None:
        version = next_version(model_dir)
    target = model_dir / str(version)
    if target.exists():
        raise ValueError(f"{target} exists already; pass another version or remove it.")
    make_folder(model_dir)

    # A dot-prefixed temporary directory: TF Serving only loads all-digit names. Its
    # name holds this process's id, so the leftovers of killed exports are known.
    remove_stale_staging_dirs(model_dir, STAGING_PREFIX)
    remove_stale_temp_files(model_dir)
    staging = model_dir / staging_dir_name(STAGING_PREFIX)
    try:
        staging.mkdir()
    except PermissionError as err:
        raise PermissionError(
            err.errno,
            f"cannot write into {model_dir} ({err.strerror}); make that folder writable for "
            "this user, or choose another output folder",
        ) from err
    try:
        tf.saved_model.save(
            module,
            str(staging),
            signatures=module.signatures(),
            # The signatures take uint8 pixels or encoded bytes, which no gradient reaches;
            # see the docstring.
            options=tf.saved_model.SaveOptions(experimental_custom_gradients=False),
        )
        if classes is not None:
            extra = staging / "assets.extra"
            extra.mkdir(exist_ok=True)
            (extra / "classes.json").write_text(classes.to_json(), encoding="utf-8")
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
