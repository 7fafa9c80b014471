"""Pillow figures: valid PNGs of the expected size and colours in the right places."""

import os

import numpy as np
import pytest
from PIL import Image

from segnet_tf.visualize.figures import (
    EMPTY_ROW_COLOR,
    HIGH_COLOR,
    LOW_COLOR,
    SERIES_COLORS,
    color_for,
    confusion_matrix_layout,
    plot_confusion_matrix,
    plot_training_curves,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NAMES = ["sky", "building", "pole", "road"]


def _open_png(path):
    with open(path, "rb") as f:
        assert f.read(8) == PNG_SIGNATURE
    image = Image.open(path)
    image.load()
    assert image.format == "PNG"
    return image.convert("RGB")


def test_color_ramp_ends():
    assert color_for(0.0) == LOW_COLOR
    assert color_for(1.0) == HIGH_COLOR
    assert color_for(2.0) == HIGH_COLOR  # clipped


def test_perfect_confusion_matrix_colours(tmp_path):
    cm = np.diag([50, 20, 0, 7])  # class "pole" never in the ground truth
    path = plot_confusion_matrix(cm, NAMES, tmp_path / "sub" / "cm.png", size=(600, 500))
    image = _open_png(path)
    assert image.size == (600, 500)
    layout = confusion_matrix_layout(NAMES, size=(600, 500))
    assert layout.cell > 10

    def corner(row, col):  # inset from the cell's corner, away from the printed value
        x0, y0, _, _ = layout.cell_box(row, col)
        return image.getpixel((x0 + 2, y0 + 2))

    assert corner(0, 0) == HIGH_COLOR
    assert corner(3, 3) == HIGH_COLOR
    assert corner(0, 1) == LOW_COLOR
    assert corner(1, 0) == LOW_COLOR
    assert corner(2, 2) == EMPTY_ROW_COLOR


def test_row_normalisation(tmp_path):
    cm = np.array([[1, 3], [0, 100]])  # row 0: 0.25 / 0.75
    path = plot_confusion_matrix(cm, ["a", "b"], tmp_path / "cm.png", show_values=False)
    image = _open_png(path)
    layout = confusion_matrix_layout(["a", "b"])
    assert image.size == layout.size
    x0, y0, x1, y1 = layout.cell_box(0, 1)
    assert image.getpixel(((x0 + x1) // 2, (y0 + y1) // 2)) == color_for(0.75)
    x0, y0, x1, y1 = layout.cell_box(0, 0)
    assert image.getpixel(((x0 + x1) // 2, (y0 + y1) // 2)) == color_for(0.25)


def test_confusion_matrix_shape_mismatch(tmp_path):
    with pytest.raises(ValueError):
        plot_confusion_matrix(np.eye(3), NAMES, tmp_path / "cm.png")


def test_training_curves(tmp_path):
    history = {
        "loss": [2.0, 1.4, 1.1, 0.9],
        "val_loss": [2.2, 1.6, 1.4, 1.3],
        "mean_iou": [0.1, 0.2, 0.3, 0.35],
        "val_mean_iou": [0.1, 0.15, float("nan"), 0.3],
    }
    path = plot_training_curves(history, tmp_path / "curves.png", size=(800, 300))
    image = _open_png(path)
    assert image.size == (800, 300)
    pixels = np.asarray(image).reshape(-1, 3)
    for color in SERIES_COLORS[:2]:
        assert (pixels == color).all(axis=1).sum() > 50
    # Both panels drawn: the train colour appears in the left and right halves.
    arr = np.asarray(image)
    train = (arr == SERIES_COLORS[0]).all(axis=-1)
    assert train[:, :400].sum() > 20 and train[:, 400:].sum() > 20
    # No temporary files left behind by the atomic write.
    assert sorted(os.listdir(tmp_path)) == ["curves.png"]


def test_training_curves_titles_name_the_panels(tmp_path):
    history = {"fcn8s": [0.2, 0.4], "unet": [0.3, 0.5]}
    keys = (("fcn8s", "unet"),)
    default = np.asarray(_open_png(plot_training_curves(history, tmp_path / "a.png", keys)))
    titled = plot_training_curves(history, tmp_path / "b.png", keys, titles=["val mIoU"])
    titled = np.asarray(_open_png(titled))
    top = slice(0, 30)  # the title row
    assert (default[top] != titled[top]).any()
    for color in SERIES_COLORS[:2]:  # both runs' lines are still drawn
        assert (titled.reshape(-1, 3) == color).all(axis=1).sum() > 20
    with pytest.raises(ValueError, match="1 titles for 2 groups"):
        plot_training_curves(history, tmp_path / "c.png", (("fcn8s",), ("unet",)), titles=["x"])


def test_training_curves_missing_keys(tmp_path):
    path = plot_training_curves({"loss": [1.0]}, tmp_path / "one.png")
    assert _open_png(path).size == (1000, 400)
    with pytest.raises(ValueError):
        plot_training_curves({"accuracy": [0.5]}, tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()
