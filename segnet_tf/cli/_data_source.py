"""The data source of a command that reads a trained model: flags, else the run's config.

`segnet evaluate` and `segnet adjust` take a model file; when it sits in a training
run's folder, the run's `config.json` says which data it was trained on, so that
`--data` and its settings need not be repeated.
"""

import argparse
import os


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--data`` and ``--data-dir``.

    Args:
        parser: The subcommand parser.
    """
    from segnet_tf.training.config import DATA_SOURCES

    parser.add_argument(
        "--data", choices=DATA_SOURCES, help="data source (default: from the run's config.json)"
    )
    parser.add_argument("--data-dir", metavar="DIR", help="data folder (default: from the run)")


def run_config_beside(model_path: str):
    """The TrainConfig saved beside the model, if any."""
    from segnet_tf.training.config import TrainConfig

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
        raise ValueError("no --data given and no config.json beside the model to take it from.")
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
