"""Generate a tiny fake CamVid folder (SegNet layout) from procedural scenes.

Test data: used by tests (and scripts/make_fake_camvid.py) in place of the real
data; images are generated, never copied. Label maps use CamVid ids (synthetic
classes mapped onto CamVid classes).
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from segnet_tf.data.camvid import CAMVID_SHAPE
from segnet_tf.data.synthetic import synthetic_example
from segnet_tf.data_sources import SEGNET_LAYOUT

# synthetic id -> CamVid id: sky->Sky, background->Building, road->Road, car->Car,
# sign->SignSymbol, person->Pedestrian, void->Unlabelled.
_TO_CAMVID = np.array([0, 1, 3, 8, 6, 9, 11], dtype=np.uint8)


def make_fake_camvid(
    out_dir: str | os.PathLike,
    counts: dict[str, int] | None = None,
    seed: int = 0,
    size: tuple[int, int] = CAMVID_SHAPE,
) -> str:
    """Write a fake CamVid folder with the SegNet tutorial layout.

    Args:
        out_dir: Folder to create (parents too); existing files are overwritten.
        counts: Images per split (keys ``train``, ``validation``, ``test``);
            default 3/2/2.
        seed: Seed of the procedural scenes.
        size: ``(height, width)``; CamVid's is 360x480.

    Returns:
        ``out_dir`` as a string.
    """
    counts = counts or {"train": 3, "validation": 2, "test": 2}
    out_dir = os.fspath(out_dir)
    index = 0
    for split, (img_dir, ann_dir) in SEGNET_LAYOUT.items():
        os.makedirs(os.path.join(out_dir, img_dir), exist_ok=True)
        os.makedirs(os.path.join(out_dir, ann_dir), exist_ok=True)
        for i in range(counts.get(split, 0)):
            image, mask = synthetic_example(index, size, seed)
            index += 1  # distinct scene per file, across splits
            name = f"fake{split[:2]}_{i:05d}.png"
            Image.fromarray(image, "RGB").save(os.path.join(out_dir, img_dir, name))
            Image.fromarray(_TO_CAMVID[mask[..., 0]], "L").save(
                os.path.join(out_dir, ann_dir, name)
            )
    return out_dir
