"""Segmentation data sets from a user's folders of images and masks.

Images and masks are paired by file-name stem (``img/0001.jpg`` <-> ``masks/0001.png``).
All checks that need a clear, file-naming error (pairing, readability, sizes, label
range) run eagerly in :func:`folder_dataset`, in a thread pool (Pillow releases the
GIL while decoding). The returned ``tf.data.Dataset`` then decodes in the tf.data
graph, in parallel; only files TensorFlow cannot decode identically (grayscale,
RGBA, 16-bit images, palette-indexed masks...) go through Pillow.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from segnet_tf.classes import ClassList, read_class_list
from segnet_tf.data import image_io
from segnet_tf.data.image_io import DataError

MASK_FORMATS = ("auto", "ids", "rgb")


@dataclass(frozen=True)
class Pair:
    """One validated image/mask pair.

    Args:
        image: Image path.
        mask: Mask path.
        image_info: Header of the image.
        mask_info: Header of the mask.
    """

    image: str
    mask: str
    image_info: image_io.FileInfo
    mask_info: image_io.FileInfo


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


# The class list's file name, looked for in the masks and images folders (and their
# parent): it may sit among the data files without being one.
CLASS_LIST_NAME = "classes.json"


def _list_strict(folder: str, role: str, ignore: Sequence[str] = ()) -> list[str]:
    """List image files of ``folder``; unknown regular files are an error.

    ``classes.json`` and the files in ``ignore`` (compared by real path) are skipped.
    """
    files = image_io.list_images(folder)
    ignored = {os.path.realpath(p) for p in ignore}
    others = [
        n
        for n in sorted(os.listdir(folder))
        if not n.startswith(".")
        and n != CLASS_LIST_NAME
        and os.path.isfile(os.path.join(folder, n))
        and not n.lower().endswith(image_io.IMAGE_EXTENSIONS)
        and os.path.realpath(os.path.join(folder, n)) not in ignored
    ]
    if others:
        bad = os.path.join(folder, others[0])
        raise DataError(
            f"{bad}: not an image file (unknown extension) in the {role} folder; expected only "
            f"{'/'.join(image_io.IMAGE_EXTENSIONS)} files and an optional {CLASS_LIST_NAME} "
            f"({len(others)} such file(s))."
        )
    if not files:
        raise DataError(f"{folder}: the {role} folder is empty; expected image files.")
    return files


def pair_files(
    images_dir: str, masks_dir: str, mask_suffix: str = "", ignore: Sequence[str] = ()
) -> list[tuple[str, str]]:
    """Pair images with masks by file-name stem.

    Args:
        images_dir: Folder of images.
        masks_dir: Folder of masks.
        mask_suffix: Extra text at the end of mask stems (e.g. ``"_L"`` for
            ``0001.png`` <-> ``0001_L.png``).
        ignore: Other non-image files allowed in the folders (e.g. the class list
            file); ``classes.json`` always is.

    Returns:
        Sorted list of ``(image_path, mask_path)``.

    Raises:
        DataError: Empty folder, non-image file, duplicated stem, or an image
            without a mask (or the reverse); the message names the file.
    """
    images = _list_strict(images_dir, "images", ignore)
    masks = _list_strict(masks_dir, "masks", ignore)
    by_stem: dict[str, str] = {}
    for path in images:
        stem = _stem(path)
        if stem in by_stem:
            raise DataError(f"{path}: same name stem as {by_stem[stem]}; expected unique names.")
        by_stem[stem] = path
    mask_by_stem: dict[str, str] = {}
    for path in masks:
        stem = _stem(path)
        if mask_suffix:
            if not stem.endswith(mask_suffix):
                raise DataError(
                    f"{path}: mask name does not end with suffix {mask_suffix!r}; expected masks "
                    f"named <image stem>{mask_suffix}.<ext>."
                )
            stem = stem[: -len(mask_suffix)]
        if stem in mask_by_stem:
            raise DataError(
                f"{path}: same name stem as {mask_by_stem[stem]}; expected unique names."
            )
        mask_by_stem[stem] = path
    for stem, path in by_stem.items():
        if stem not in mask_by_stem:
            raise DataError(
                f"{path}: image has no mask; expected {os.path.join(masks_dir, stem + mask_suffix)}"
                ".<ext> in the masks folder."
            )
    for stem, path in mask_by_stem.items():
        if stem not in by_stem:
            raise DataError(
                f"{path}: mask has no image; expected {os.path.join(images_dir, stem)}.<ext> in "
                "the images folder."
            )
    return [(by_stem[s], mask_by_stem[s]) for s in sorted(by_stem)]


def _resolve_mask_format(mask_format: str, first_mask: image_io.FileInfo) -> str:
    if mask_format not in MASK_FORMATS:
        raise ValueError(f"mask_format={mask_format!r}; expected one of {MASK_FORMATS}.")
    if mask_format != "auto":
        return mask_format
    return "rgb" if first_mask.mode in ("RGB", "RGBA") else "ids"


def _validate_pair(image: str, mask: str, mask_format: str, classes: ClassList, full: bool) -> Pair:
    """Check one pair; raise DataError naming the offending file."""
    image_info = image_io.probe(image)
    mask_info = image_io.probe(mask)
    if image_info.size != mask_info.size:
        raise DataError(
            f"{mask}: mask size {mask_info.size} (HxW) differs from its image {image} "
            f"{image_info.size}; expected the same height and width."
        )
    if full:
        image_io.read_image(image)  # Detects truncated/corrupt pixel data.
        if mask_format == "rgb":
            ids = image_io.read_mask_rgb(mask, classes.palette())
        else:
            ids = image_io.read_mask_ids(mask)
        image_io.check_ids(ids, classes.num_classes, classes.void_id, mask)
    elif mask_format == "ids" and mask_info.mode not in ("L", "P", "1", "I;16", "I"):
        image_io.read_mask_ids(mask)  # Raises the explanatory mode error.
    return Pair(image, mask, image_info, mask_info)


def validate_pairs(
    pairs: Sequence[tuple[str, str]],
    classes: ClassList,
    mask_format: str = "auto",
    full: bool = True,
    num_workers: int | None = None,
) -> tuple[list[Pair], str]:
    """Validate image/mask pairs in parallel threads.

    Args:
        pairs: ``(image_path, mask_path)`` list.
        classes: Class list giving the id range and the colours.
        mask_format: ``"ids"``, ``"rgb"`` or ``"auto"`` (from the first mask's mode).
        full: Decode every file (catches truncated data and out-of-range ids);
            if False only headers and sizes are checked.
        num_workers: Threads; default ``min(8, cpu_count)``.

    Returns:
        The validated pairs and the resolved mask format.

    Raises:
        DataError: For the first invalid pair (in file order).
    """
    if not pairs:
        raise DataError("no image/mask pairs to validate; expected a non-empty folder.")
    if num_workers is not None and (
        isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 1
    ):
        raise ValueError(f"num_workers={num_workers!r}; expected an integer >= 1 or None.")
    mask_format = _resolve_mask_format(mask_format, image_io.probe(pairs[0][1]))
    workers = num_workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(_validate_pair, img, msk, mask_format, classes, full) for img, msk in pairs
        ]
        # Collect in file order so the reported error is deterministic.
        results = [f.result() for f in futures]
    return results, mask_format


def load_class_list(
    class_list: ClassList | str | os.PathLike | None, *search_dirs: str
) -> ClassList:
    """Return a ClassList from an object, a JSON file, or ``classes.json`` nearby.

    Args:
        class_list: A ClassList, a path to a JSON file (read by
            :func:`segnet_tf.classes.read_class_list`), or None to look for
            ``classes.json`` in ``search_dirs``.
        *search_dirs: Folders searched for ``classes.json`` when ``class_list`` is None.
    """
    if isinstance(class_list, ClassList):
        return class_list
    if class_list is not None:
        return read_class_list(class_list)
    for folder in search_dirs:
        candidate = os.path.join(folder, CLASS_LIST_NAME)
        if os.path.isfile(candidate):
            return load_class_list(candidate)
    raise DataError(
        f"no class list given and no classes.json found in {list(search_dirs)}; pass "
        "class_list=ClassList(names, colors, void_id) or a JSON file path."
    )


def _tf_decode_ids(path: tf.Tensor) -> tf.Tensor:
    return tf.io.decode_png(tf.io.read_file(path), channels=1, dtype=tf.uint8)


def _tf_colors_to_ids(rgb: tf.Tensor, palette: np.ndarray) -> tf.Tensor:
    """Map RGB colours to ids in graph (colours were validated beforehand)."""
    rgb = tf.cast(rgb, tf.int32)
    codes = rgb[..., 0] * 65536 + rgb[..., 1] * 256 + rgb[..., 2]
    keys = tf.constant(
        palette[:, 0].astype(np.int32) * 65536
        + palette[:, 1].astype(np.int32) * 256
        + palette[:, 2].astype(np.int32)
    )
    # [H, W, K] comparison; K is small (a few dozen classes at most).
    ids = tf.argmax(tf.cast(tf.equal(codes[..., None], keys), tf.uint8), axis=-1)
    return tf.cast(ids, tf.uint8)[..., None]


def make_pairs_dataset(
    pairs: Sequence[Pair], mask_format: str, classes: ClassList, decoded: bool = True
) -> tf.data.Dataset:
    """Build the decoding dataset for validated pairs.

    Args:
        pairs: Validated pairs (see :func:`validate_pairs`).
        mask_format: ``"ids"`` or ``"rgb"``.
        classes: Class list (its palette decodes RGB masks).
        decoded: Whether validation decoded every file (``validate_pairs(full=True)``).
            Then TensorFlow's decoders read the files it decodes like Pillow. If not,
            every file goes through Pillow and its label ids are checked as it is
            read, because an error inside TensorFlow's decoders cannot name the file.

    Returns:
        Dataset of ``{"image": uint8 [H,W,3], "segmentation_mask": uint8 [H,W,1],
        "file_name": string}``. Without ``decoded``, iterating over a corrupt file
        or an invalid label raises ``tf.errors.InvalidArgumentError`` whose message
        holds the :class:`DataError` naming the file.
    """
    palette = classes.palette()
    if decoded:
        image_tf_ok = [p.image_info.tf_decodable_image for p in pairs]
        image_is_jpeg = [p.image_info.format == "JPEG" for p in pairs]
        if mask_format == "rgb":
            mask_tf_ok = [p.mask_info.tf_decodable_rgb for p in pairs]
        else:
            mask_tf_ok = [p.mask_info.tf_decodable_ids for p in pairs]
    else:
        image_tf_ok = mask_tf_ok = image_is_jpeg = [False] * len(pairs)

    def pil_image(path: bytes) -> np.ndarray:
        return image_io.read_image(path.decode())

    def pil_mask(path: bytes) -> np.ndarray:
        p = path.decode()
        if mask_format == "rgb":
            ids = image_io.read_mask_rgb(p, palette)
        else:
            ids = image_io.read_mask_ids(p)
        if not decoded:
            image_io.check_ids(ids, classes.num_classes, classes.void_id, p)
        return ids[..., None]

    def tf_image(image_path, is_jpeg):
        data = tf.io.read_file(image_path)
        return tf.cond(
            is_jpeg,
            # The accurate integer DCT is Pillow's (libjpeg's default): the same
            # pixels as inference, which reads files through Pillow. TensorFlow's
            # default fast DCT differs by up to about 10 levels.
            lambda: tf.io.decode_jpeg(data, channels=3, dct_method="INTEGER_ACCURATE"),
            lambda: tf.io.decode_image(data, channels=3, expand_animations=False),
        )

    def decode(image_path, mask_path, image_ok, mask_ok, is_jpeg):
        image = tf.cond(
            image_ok,
            lambda: tf_image(image_path, is_jpeg),
            lambda: tf.numpy_function(pil_image, [image_path], tf.uint8, stateful=False),
        )
        if mask_format == "rgb":
            fast_mask = lambda: _tf_colors_to_ids(  # noqa: E731
                tf.io.decode_png(tf.io.read_file(mask_path), channels=3), palette
            )
        else:
            fast_mask = lambda: _tf_decode_ids(mask_path)  # noqa: E731
        mask = tf.cond(
            mask_ok,
            fast_mask,
            lambda: tf.numpy_function(pil_mask, [mask_path], tf.uint8, stateful=False),
        )
        image = tf.ensure_shape(image, [None, None, 3])
        mask = tf.ensure_shape(mask, [None, None, 1])
        name = tf.strings.regex_replace(image_path, r"^.*[/\\]", "")
        return {"image": image, "segmentation_mask": mask, "file_name": name}

    ds = tf.data.Dataset.from_tensor_slices(
        (
            [p.image for p in pairs],
            [p.mask for p in pairs],
            np.array(image_tf_ok, dtype=bool),
            np.array(mask_tf_ok, dtype=bool),
            np.array(image_is_jpeg, dtype=bool),
        )
    )
    return ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def folder_dataset(
    images_dir: str | os.PathLike,
    masks_dir: str | os.PathLike,
    class_list: ClassList | str | os.PathLike | None = None,
    mask_format: str = "auto",
    mask_suffix: str = "",
    validate: bool = True,
    num_workers: int | None = None,
) -> tf.data.Dataset:
    """A segmentation data set from a folder of images and a folder of masks.

    Pairs files by name stem, validates them (clear errors naming the file) and returns
    a ``tf.data.Dataset`` of ``{"image": uint8 [H, W, 3], "segmentation_mask": uint8
    [H, W, 1], "file_name": tf.string}`` in file-name order. The class list is attached
    as ``dataset.class_list`` (and available through :func:`dataset_class_list`).

    Images that are grayscale, RGBA, palette or 16-bit are converted to 8-bit RGB
    (alpha dropped, 16-bit reduced to the high byte). Masks are class-id images
    (8-bit grayscale or palette indices) or RGB colour-coded masks mapped through the
    class list's colours. Files are only read, never modified.

    Args:
        images_dir: Folder of images.
        masks_dir: Folder of masks (same stems as the images).
        class_list: ClassList, path to a JSON class list, or None to read
            ``classes.json`` from ``masks_dir``, ``images_dir`` or their parent.
        mask_format: ``"ids"`` (class-id PNGs), ``"rgb"`` (colour-coded) or
            ``"auto"`` (RGB/RGBA masks are colour-coded, others hold ids).
        mask_suffix: Extra text at the end of mask stems (e.g. ``"_L"``).
        validate: Decode every file up front to catch corrupt data and invalid
            label ids (recommended). False checks headers and sizes only, and the
            rest as each file is read: iterating then raises
            ``tf.errors.InvalidArgumentError`` holding the DataError that names the
            file.
        num_workers: Threads used for validation.

    Returns:
        The ``tf.data.Dataset`` (not batched, not shuffled).

    Raises:
        DataError: (a ValueError) naming the offending file: corrupt or non-image
            file, image without mask or mask without image, image/mask size mismatch,
            label id outside the class range that is not void, empty folder, unknown
            mask colour.
    """
    images_dir, masks_dir = os.fspath(images_dir), os.fspath(masks_dir)
    # Before the class list, whose search would otherwise report the missing folder
    # as a missing classes.json.
    for folder, what in ((images_dir, "images"), (masks_dir, "masks")):
        if not os.path.isdir(folder):
            state = "is not a folder" if os.path.exists(folder) else "does not exist"
            raise DataError(f"{folder}: the {what} folder {state}; expected a folder of {what}.")
    classes = load_class_list(
        class_list, masks_dir, images_dir, os.path.dirname(os.path.abspath(images_dir))
    )
    # A class-list file given by path may sit among the data files.
    ignore = [] if class_list is None or isinstance(class_list, ClassList) else [class_list]
    raw_pairs = pair_files(images_dir, masks_dir, mask_suffix=mask_suffix, ignore=ignore)
    pairs, fmt = validate_pairs(
        raw_pairs, classes, mask_format=mask_format, full=validate, num_workers=num_workers
    )
    ds = make_pairs_dataset(pairs, fmt, classes, decoded=validate)
    ds.class_list = classes
    return ds


def dataset_class_list(dataset: tf.data.Dataset) -> ClassList | None:
    """Return the ClassList attached to a dataset by this package, if any.

    Args:
        dataset: A dataset returned by ``folder_dataset``, ``synthetic_dataset`` or
            ``load_camvid`` (transformations such as ``map`` drop the attribute).
    """
    return getattr(dataset, "class_list", None)
