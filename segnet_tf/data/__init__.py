"""Data sets and input pipelines for segnet_tf.

Sources (all yield ``{"image": uint8 [H, W, 3], "segmentation_mask": uint8 [H, W, 1],
"file_name": string}`` dicts, the tfds feature format):

- :func:`load_camvid` / the tfds builder ``camvid`` (registered on import);
- :func:`folder_dataset` for users' own image/mask folders;
- :func:`synthetic_dataset` for procedural scenes (no files).

Pipelines: :func:`make_training_pipeline`, :func:`make_eval_pipeline`.
Camera-robust augmentation: :func:`random_camera_shift`.
Class balancing: :func:`median_frequency_weights`, :func:`class_frequencies`.
"""

from segnet_tf.classes import CAMVID_CLASS_WEIGHTS, CAMVID_CLASSES, ClassList
from segnet_tf.data.camera_augment import random_camera_shift
from segnet_tf.data.camvid import (
    CAMVID_ENV,
    CAMVID_SPLIT_SIZES,
    Camvid,
    camvid_search_paths,
    camvid_split_pairs,
    find_camvid_dir,
    load_camvid,
    resolve_camvid_dir,
)
from segnet_tf.data.class_weights import (
    class_frequencies,
    class_pixel_counts,
    median_frequency_weights,
)
from segnet_tf.data.folders import dataset_class_list, folder_dataset, pair_files
from segnet_tf.data.image_io import DataError, read_image, read_mask_ids, read_mask_rgb
from segnet_tf.data.pipeline import (
    augment_example,
    make_eval_pipeline,
    make_training_pipeline,
    resize_example,
)
from segnet_tf.data.synthetic import SYNTHETIC_CLASSES, synthetic_dataset, synthetic_example

__all__ = [
    "CAMVID_CLASSES",
    "CAMVID_CLASS_WEIGHTS",
    "CAMVID_ENV",
    "CAMVID_SPLIT_SIZES",
    "Camvid",
    "ClassList",
    "DataError",
    "SYNTHETIC_CLASSES",
    "augment_example",
    "camvid_search_paths",
    "camvid_split_pairs",
    "find_camvid_dir",
    "class_pixel_counts",
    "dataset_class_list",
    "folder_dataset",
    "load_camvid",
    "make_eval_pipeline",
    "make_training_pipeline",
    "median_frequency_weights",
    "class_frequencies",
    "pair_files",
    "random_camera_shift",
    "read_image",
    "read_mask_ids",
    "read_mask_rgb",
    "resize_example",
    "resolve_camvid_dir",
    "synthetic_dataset",
    "synthetic_example",
]
