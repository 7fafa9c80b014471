"""Resolve a data source name (camvid / folder / synthetic) and a split to a dataset."""

from __future__ import annotations

import os

import tensorflow as tf

from segnet_tf.classes import ClassList

# Split name -> (image folder, mask folder) of the SegNet layout used by ``folder``.
FOLDER_SPLITS = {
    "train": ("train", "trainannot"),
    "validation": ("val", "valannot"),
    "test": ("test", "testannot"),
}
SPLIT_ALIASES = {"val": "validation", "valid": "validation"}
# Synthetic splits are disjoint scene streams: seed offsets per split.
_SYNTHETIC_SEED_OFFSET = {"train": 0, "validation": 1_000_003, "test": 2_000_003}


def normalize_split(split: str) -> str:
    """``"val"`` -> ``"validation"``; check the name.

    Args:
        split: ``train``, ``validation`` (``val``) or ``test``.
    """
    split = SPLIT_ALIASES.get(split, split)
    if split not in FOLDER_SPLITS:
        raise ValueError(f"unknown split {split!r}; expected train, validation (val) or test.")
    return split


def synthetic_split_size(split: str, synthetic_images: int) -> int:
    """Scenes in a synthetic split: ``synthetic_images`` for train, a quarter (>= 4)
    for validation and test."""
    return synthetic_images if split == "train" else max(4, synthetic_images // 4)


def load_split(
    source: str,
    split: str,
    data_dir: str | None = None,
    synthetic_images: int = 64,
    image_size: tuple[int, int] = (96, 128),
    seed: int = 0,
) -> tuple[tf.data.Dataset, ClassList]:
    """Load one split of a data source.

    Args:
        source: ``camvid``, ``folder`` or ``synthetic``.
        split: ``train``, ``validation`` (``val``) or ``test``.
        data_dir: Folder of camvid (default ``$SEGNET_CAMVID_DIR``) or folder sources.
        synthetic_images: Training scenes of the synthetic source.
        image_size: Size of synthetic scenes.
        seed: Seed of synthetic scenes.

    Returns:
        ``(dataset of {"image", "segmentation_mask"} dicts, class list)``.

    Raises:
        ValueError: unknown source or split, missing or empty folders (the data
            package's ``DataError`` is a ``ValueError`` naming the file).
    """
    from segnet_tf import data

    split = normalize_split(split)
    if source == "camvid":
        ds = data.load_camvid(split, data_dir)
        return ds, data.CAMVID_CLASSES
    if source == "folder":
        if not data_dir:
            raise ValueError(
                "--data folder needs --data-dir (a folder with train/, trainannot/, ...)."
            )
        if not os.path.isdir(data_dir):
            raise ValueError(f"{data_dir}: data folder does not exist.")
        images, masks = (os.path.join(data_dir, d) for d in FOLDER_SPLITS[split])
        for folder in (images, masks):
            if not os.path.isdir(folder):
                raise ValueError(
                    f"{folder}: missing; a folder data set needs "
                    f"{'/, '.join(FOLDER_SPLITS[split])}/ "
                    f"for the {split} split (and a classes.json in {data_dir})."
                )
        ds = data.folder_dataset(images, masks)
        return ds, data.dataset_class_list(ds)
    if source == "synthetic":
        n = synthetic_split_size(split, synthetic_images)
        ds = data.synthetic_dataset(n, tuple(image_size), seed + _SYNTHETIC_SEED_OFFSET[split])
        return ds, data.SYNTHETIC_CLASSES
    raise ValueError(f"unknown data source {source!r}; expected camvid, folder or synthetic.")


def count_examples(dataset: tf.data.Dataset) -> int:
    """Number of examples of a finite dataset with known cardinality.

    Raises:
        ValueError: if TensorFlow cannot tell the size (pass steps explicitly then).
    """
    n = int(dataset.cardinality())
    if n < 0:
        raise ValueError("the training data set has unknown size; pass --steps-per-epoch.")
    return n
