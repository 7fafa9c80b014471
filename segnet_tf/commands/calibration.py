"""``calibrate(CalibrateConfig)``: fit a model's out-of-domain detector on its training data.

Writes ``<model stem>.domain.npz`` beside the model file (where ``Segmenter.from_file``,
``segnet predict``, ``segnet export`` and the demo find it) and
``<model stem>.domain.config.json``. The detector and its threshold are described
in `segnet_tf.inference.domain`.

The config, :class:`~segnet_tf.config.calibration.CalibrateConfig`, lives with the
other configs in :mod:`segnet_tf.config` (no TensorFlow); it is importable from here too.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from segnet_tf.commands.model_arg import model_file
from segnet_tf.commands.model_data import progress_verbosity, resolve_data_source
from segnet_tf.config.calibration import CalibrateConfig
from segnet_tf.config_fields import ConfigError
from segnet_tf.data_sources import load_split
from segnet_tf.model_files import detector_path


def config_path(detector_file: str | os.PathLike) -> Path:
    """Where the resolved config is written: ``x.domain.npz`` -> ``x.domain.config.json``."""
    return Path(str(detector_file).removesuffix(".npz") + ".config.json")


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
