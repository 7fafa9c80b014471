"""The data a command that reads a trained model scores it on: its config, else the run's.

``evaluate`` and ``adjust`` take a model file; when it sits in a training run's
folder, the run's ``config.json`` says which data it was trained on, so that the
data source and its settings need not be repeated. The config fields these commands
share (``data``, ``data_dir``, ``split``, ``tta``, ``precision``) are made without
TensorFlow in :mod:`segnet_tf.config.command_fields`, and stay importable from here.
"""

from __future__ import annotations

import os
import sys

from segnet_tf import config_fields
from segnet_tf.config.command_fields import (  # noqa: F401 - re-exported
    check_prediction_mode,
    data_dir_field,
    data_field,
    precision_field,
    split_check,
    tta_check,
    tta_field,
)
from segnet_tf.config.training import TrainConfig
from segnet_tf.data_sources import get_data_source


def run_config_beside(model_path: str) -> TrainConfig | None:
    """The TrainConfig saved beside the model, if any."""
    path = os.path.join(os.path.dirname(os.path.abspath(model_path)), "config.json")
    return TrainConfig.load(path) if os.path.isfile(path) else None


def resolve_data_source(
    model_path: str,
    data: str | None = None,
    data_dir: str | None = None,
    synthetic_images: int | None = None,
    image_size=None,
    seed: int | None = None,
) -> tuple[str, dict]:
    """The data source to read and the settings for ``load_split``.

    Each argument left None is taken from the run's ``config.json`` when the run used
    the same source, else from the defaults of ``load_split``.

    Returns:
        ``(source name, {"data_dir", "synthetic_images", "image_size", "seed"})``.

    Raises:
        ValueError: no ``data`` and no run config to take it from.
    """
    run_config = run_config_beside(model_path)
    data = data or (run_config.data if run_config else None)
    if data is None:
        raise config_fields.ConfigError(
            "data", None, "a data source: there is no config.json beside the model to take it from"
        )
    get_data_source(data)
    same_source = run_config is not None and run_config.data == data

    def pick(value, name, default):
        if value is not None:
            return value
        return getattr(run_config, name) if same_source else default

    return data, {
        "data_dir": pick(data_dir, "data_dir", None),
        "synthetic_images": pick(synthetic_images, "synthetic_images", 64),
        "image_size": tuple(pick(image_size, "image_size", (96, 128))),
        "seed": pick(seed, "seed", 0),
    }


def data_label(data: str, data_dir: str | None, split: str) -> str:
    """How messages name the data a model is scored on: ``the camvid data's test split (DIR)``."""
    where = f" ({data_dir})" if data_dir else ""
    return f"the {data} data's {split} split{where}"


def progress_verbosity(verbose: int | str) -> int:
    """``"auto"``: a progress bar on a terminal, one summary line otherwise."""
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    return int(verbose)
