"""``calibrate(CalibrateConfig)``: fit a model's out-of-domain detector on its training data.

Writes ``<model stem>.domain.npz`` beside the model file (where ``Segmenter.from_file``,
``segnet predict``, ``segnet export`` and the demo find it) and
``<model stem>.domain.config.json``. The detector and its threshold are described
in `segnet_tf.inference.domain`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from segnet_tf import config_fields
from segnet_tf.commands.model_arg import model_field, model_file
from segnet_tf.commands.model_data import (
    data_dir_field,
    data_field,
    progress_verbosity,
    resolve_data_source,
)
from segnet_tf.config_fields import CommandConfig, ConfigError
from segnet_tf.data_sources import load_split
from segnet_tf.model_files import detector_path


def config_path(detector_file: str | os.PathLike) -> Path:
    """Where the resolved config is written: ``x.domain.npz`` -> ``x.domain.config.json``."""
    return Path(str(detector_file).removesuffix(".npz") + ".config.json")


def _margin_check(value) -> str | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 1.0 <= value <= 10.0
    return None if ok else "a number in [1, 10]"


def _shrinkage_check(value) -> str | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 0.0 < value <= 1.0
    return None if ok else "a number in (0, 1]"


@dataclass(frozen=True)
class CalibrateConfig(CommandConfig):
    """Which model's detector to fit, on which data, and where to write it.

    Args:
        model: A ``.keras`` model file (e.g. a run's ``best.keras``) or a preset name.
        data: Data source; None takes the one of the ``config.json`` beside the model.
        data_dir: Folder of the camvid / folder source; None: the run's.
        training_size: ``(height, width)`` at which images are described, for a model
            that records no ``training_size``; None: the model's.
        shifted_copies: Camera-shifted copies of each frame added to the fit and to
            the threshold's validation frames.
        margin: Threshold = margin x the 99th percentile of the validation scores.
        shrinkage: Weight of the covariance's diagonal (see the detector).
        limit: Use only the first N training and N validation frames (quick checks).
        seed: Seed of the camera shifts.
        output: Detector file; None: ``<model stem>.domain.npz`` beside the model.
    """

    model: str = model_field(", e.g. a run's best.keras")
    data: str | None = data_field()
    data_dir: str | None = data_dir_field()
    training_size: tuple[int, int] | None = config_fields.option(
        None,
        "frame size to describe images at, for a model that records none (default: the "
        "model's training_size)",
        metavar=("H", "W"),
        check=config_fields.image_size(optional=True),
    )
    shifted_copies: int = config_fields.option(
        2, "camera-shifted copies of each frame", metavar="N", check=config_fields.count(0)
    )
    margin: float = config_fields.option(
        1.2, "threshold = MARGIN x the validation scores' 99th percentile", check=_margin_check
    )
    shrinkage: float = config_fields.option(
        0.5, "weight of the covariance's diagonal, in (0, 1]", check=_shrinkage_check
    )
    limit: int | None = config_fields.option(
        None,
        "use only the first N frames of each split (quick checks)",
        metavar="N",
        check=config_fields.count(2, optional=True),
    )
    seed: int = config_fields.option(
        0, "seed of the camera shifts", metavar="N", check=config_fields.count(0)
    )
    output: str | None = config_fields.option(
        None,
        "detector file (default: <model stem>.domain.npz beside the model)",
        metavar="FILE",
        check=config_fields.path(optional=True),
    )


@dataclass
class CalibrateResult:
    """What :func:`calibrate` returns.

    Args:
        path: The detector file written.
        detector: The fitted ``DomainDetector``.
        config: The resolved config (as written beside the detector).
    """

    path: Path
    detector: object
    config: CalibrateConfig = field(repr=False)


def resolve(config: CalibrateConfig) -> CalibrateConfig:
    """Fill in the data source (from the run) and the output path (nothing is written)."""
    model_path = os.path.abspath(model_file(config.model))
    data, source = resolve_data_source(model_path, config.data, config.data_dir)
    output = config.output or str(detector_path(model_path))
    return dataclasses.replace(
        config, model=model_path, data=data, data_dir=source["data_dir"], output=output
    ).validate()


def _frames(dataset, limit: int | None):
    """uint8 ``[H, W, 3]`` arrays of a split's images."""
    import numpy as np

    if limit is not None:
        dataset = dataset.take(limit)
    for example in dataset:
        yield np.asarray(example["image"].numpy(), np.uint8)


def calibrate(config: CalibrateConfig, verbose: int | str = "auto") -> CalibrateResult:
    """Fit the out-of-domain detector of a model on its training and validation frames.

    Every training frame is described as it is, mirrored, and ``shifted_copies`` times
    with a random camera shift; every validation frame as it is and shifted. The fit
    takes about one forward pass of the encoder per description (a minute for the
    CamVid preset on 2 cores).

    Args:
        config: What to fit (validated here, before anything is read or written).
        verbose: 1 shows a progress bar, 2 one line at the end, 0 nothing; ``"auto"``
            a bar on a terminal, else one line.

    Returns:
        A :class:`CalibrateResult`.

    Raises:
        ValueError: an invalid config (naming the field), missing data, a model that
            cannot be loaded or that records no training size (and none given).
    """
    config.validate()
    resolved = resolve(config)
    # Imported when called: these import TensorFlow (see segnet_tf.commands).
    import numpy as np

    from segnet_tf.commands.prediction import Progress
    from segnet_tf.data.camera_shifts import random_camera_shift
    from segnet_tf.inference import Segmenter
    from segnet_tf.inference.domain import fit_domain_detector

    segmenter = Segmenter.from_file(resolved.model, scale="native", domain_detector=None)
    size = resolved.training_size or segmenter.training_size
    if size is None:
        raise ConfigError(
            "training_size",
            None,
            f"the frame size the model was trained at (H W): {resolved.model} records none",
        )
    size = tuple(size)
    train_raw, _ = load_split(resolved.data, "train", data_dir=resolved.data_dir)
    val_raw, _ = load_split(resolved.data, "validation", data_dir=resolved.data_dir)
    rng = np.random.default_rng(resolved.seed)
    copies = resolved.shifted_copies
    level = progress_verbosity(verbose)

    def describe(frames, mirrored: bool, label: str) -> np.ndarray:
        frames = list(frames)
        bar = Progress(len(frames)) if level == 1 else None
        rows = []
        for index, frame in enumerate(frames):
            views = [frame] + ([frame[:, ::-1]] if mirrored else [])
            for _ in range(copies):
                view = frame[:, ::-1] if rng.random() < 0.5 else frame
                views.append(random_camera_shift(np.ascontiguousarray(view), rng))
            rows += [segmenter.domain_features(np.ascontiguousarray(v), size) for v in views]
            if bar is not None:
                bar.update(index + 1, label)
        return np.stack(rows)

    train = describe(_frames(train_raw, resolved.limit), True, "train frames")
    val = describe(_frames(val_raw, resolved.limit), False, "validation frames")
    detector = fit_domain_detector(
        train,
        val,
        tuple(size),
        shrinkage=resolved.shrinkage,
        margin=resolved.margin,
        info={"model": os.path.basename(resolved.model), "data": resolved.data},
    )
    path = detector.save(resolved.output)
    resolved.save(config_path(resolved.output))
    if level:
        info = detector.info
        print(
            f"segnet calibrate: {info['train_frames']} training and {info['val_frames']} "
            f"validation descriptions; validation scores median {info['val_score_median']:.3f}"
            f", 99th percentile {info['val_score_p99']:.3f}; threshold {detector.threshold:.3f}"
        )
    return CalibrateResult(path=path, detector=detector, config=resolved)
