"""The data sources of the commands, by name, and the one table of split names.

``segnet train``, ``evaluate`` and ``adjust`` read data as ``(source name, split)``:

- ``camvid``: the SegNet tutorial's CamVid folder (``segnet_tf.data.load_camvid``);
- ``folder``: any folder in the same SegNet layout, plus a ``classes.json``;
- ``synthetic``: procedural street scenes (no files), disjoint scenes per split.

:func:`register_data_source` adds another. The names and the split table are
known without importing TensorFlow (the ``segnet`` parser offers them as choices);
loading a split imports it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from segnet_tf.config.registered_names import add_data_source_name

# The split table lives with the configs (segnet_tf.config.splits); kept importable here.
from segnet_tf.config.splits import (  # noqa: F401
    SEGNET_LAYOUT,
    SPLIT_ALIASES,
    is_split_name,
    normalize_split,
)


@dataclass(frozen=True)
class DataSource:
    """A named way to read ``(dataset, class list)`` for a split.

    Args:
        name: The ``--data`` value.
        load: ``load(split, data_dir=..., synthetic_images=..., image_size=...,
            seed=...)`` -> ``(dataset of tfds-format dicts, ClassList)``, called with
            a normalised split; it may ignore the settings it does not use.
        needs_data_dir: The source reads a folder that has no default.
        synthetic: The source generates its data from ``synthetic_images``,
            ``image_size`` and ``seed`` (which then identify the data).
    """

    name: str
    load: Callable[..., tuple]
    needs_data_dir: bool = False
    synthetic: bool = False


_SOURCES: dict[str, DataSource] = {}


def register_data_source(source: DataSource) -> DataSource:
    """Add (or replace) a data source; returns it.

    Args:
        source: The source; its name becomes valid for ``data`` fields (the configs
            read it from :mod:`segnet_tf.config.registered_names`).
    """
    _SOURCES[source.name] = source
    add_data_source_name(source.name, source.needs_data_dir)
    return source


def data_source_names() -> tuple[str, ...]:
    """Names of the registered sources, in registration order."""
    return tuple(_SOURCES)


def get_data_source(name: str) -> DataSource:
    """The source named ``name``.

    Raises:
        ValueError: no source has that name.
    """
    if name not in _SOURCES:
        raise ValueError(
            f"unknown data source {name!r}; expected {', '.join(data_source_names())}."
        )
    return _SOURCES[name]


def load_split(
    source: str,
    split: str,
    data_dir: str | None = None,
    synthetic_images: int = 64,
    image_size: tuple[int, int] = (96, 128),
    seed: int = 0,
):
    """Load one split of a data source.

    Args:
        source: A registered source name (``camvid``, ``folder``, ``synthetic``).
        split: ``train``, ``validation`` (``val``) or ``test``.
        data_dir: Folder of camvid (default ``$SEGNET_CAMVID_DIR``) or folder sources.
        synthetic_images: Training scenes of the synthetic source.
        image_size: Size of synthetic scenes.
        seed: Seed of synthetic scenes.

    Returns:
        ``(tf.data.Dataset of {"image", "segmentation_mask"} dicts, ClassList)``.

    Raises:
        ValueError: unknown source or split, missing or empty folders (the data
            package's ``DataError`` is a ``ValueError`` naming the file).
    """
    loader = get_data_source(source).load
    return loader(
        normalize_split(split),
        data_dir=data_dir,
        synthetic_images=synthetic_images,
        image_size=tuple(image_size),
        seed=seed,
    )


def count_examples(dataset) -> int:
    """Number of examples of a finite dataset with known cardinality.

    Raises:
        ValueError: if TensorFlow cannot tell the size (pass steps explicitly then).
    """
    n = int(dataset.cardinality())
    if n < 0:
        raise ValueError("the training data set has unknown size; pass --steps-per-epoch.")
    return n


def _load_camvid(split: str, data_dir: str | None = None, **_):
    from segnet_tf import data

    return data.load_camvid(split, data_dir), data.CAMVID_CLASSES


def _load_folder(split: str, data_dir: str | None = None, **_):
    from segnet_tf import data

    if not data_dir:
        raise ValueError("--data folder needs --data-dir (a folder with train/, trainannot/, ...).")
    if not os.path.isdir(data_dir):
        raise ValueError(f"{data_dir}: data folder does not exist.")
    images, masks = (os.path.join(data_dir, d) for d in SEGNET_LAYOUT[split])
    for folder in (images, masks):
        if not os.path.isdir(folder):
            raise ValueError(
                f"{folder}: missing; a folder data set needs "
                f"{'/, '.join(SEGNET_LAYOUT[split])}/ "
                f"for the {split} split (and a classes.json in {data_dir})."
            )
    ds = data.folder_dataset(images, masks)
    return ds, data.dataset_class_list(ds)


# Synthetic splits are disjoint scene streams: seed offsets per split.
_SYNTHETIC_SEED_OFFSET = {"train": 0, "validation": 1_000_003, "test": 2_000_003}


def synthetic_split_size(split: str, synthetic_images: int) -> int:
    """Scenes in a synthetic split: ``synthetic_images`` for train, a quarter (>= 4)
    for validation and test."""
    return synthetic_images if split == "train" else max(4, synthetic_images // 4)


def _load_synthetic(
    split: str,
    synthetic_images: int = 64,
    image_size: tuple[int, int] = (96, 128),
    seed: int = 0,
    **_,
):
    from segnet_tf import data

    n = synthetic_split_size(split, synthetic_images)
    ds = data.synthetic_dataset(n, tuple(image_size), seed + _SYNTHETIC_SEED_OFFSET[split])
    return ds, data.SYNTHETIC_CLASSES


register_data_source(DataSource("camvid", _load_camvid))
register_data_source(DataSource("folder", _load_folder, needs_data_dir=True))
register_data_source(DataSource("synthetic", _load_synthetic, synthetic=True))
