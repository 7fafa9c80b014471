"""Draw the documentation's figures with the package, from the bundled CamVid model.

Every picture in README.md and docs/ that shows a segmentation is made here, from one
CamVid test frame (Brostow et al., 2009) and the `camvid_segnet` preset:

  docs/assets/camvid_segmentation.jpg   the frame beside its segmentation (+ legend)
  docs/assets/inside_grid.jpg           block 1: encoder map, pooled map, the pooled
                                        values put back by the pooling indices, the
                                        decoder's unpooled map (4 channels each)
  docs/assets/inside_zoom.png           one channel around its strongest activation,
                                        one pixel per block, 2x2 pooling windows drawn
  docs/assets/confusion_matrix.png      the preset on the whole CamVid test split
                                        (with --confusion-matrix; about a minute)

The outputs are small JPEG/PNG drawings; CamVid's own files are never copied.

Usage:
  python scripts/make_doc_figures.py [--camvid-dir ../shared/camvid] [--confusion-matrix]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "docs" / "assets"
# A test frame with road, pavement, cars, pedestrians, a pole and a sign.
FRAME = "Seq05VD_f02370.png"
LABEL_HEIGHT = 26


def _labelled(picture: np.ndarray, label: str) -> Image.Image:
    """`picture` with a caption strip above it."""
    image = Image.fromarray(picture)
    out = Image.new("RGB", (image.width, image.height + LABEL_HEIGHT), "white")
    out.paste(image, (0, LABEL_HEIGHT))
    font = ImageFont.load_default(size=16)
    ImageDraw.Draw(out).text((4, 4), label, fill="black", font=font)
    return out


def _row(pictures: list[Image.Image], gap: int = 8) -> Image.Image:
    height = max(p.height for p in pictures)
    width = sum(p.width for p in pictures) + gap * (len(pictures) - 1)
    out = Image.new("RGB", (width, height), "white")
    x = 0
    for picture in pictures:
        out.paste(picture, (x, 0))
        x += picture.width + gap
    return out


def _column(pictures: list[Image.Image], gap: int = 8) -> Image.Image:
    width = max(p.width for p in pictures)
    height = sum(p.height for p in pictures) + gap * (len(pictures) - 1)
    out = Image.new("RGB", (width, height), "white")
    y = 0
    for picture in pictures:
        out.paste(picture, (0, y))
        y += picture.height + gap
    return out


def _save(image: Image.Image, name: str) -> Path:
    path = ASSETS / name
    if path.suffix == ".jpg":
        image.save(path, quality=82, optimize=True)
    else:
        image.save(path, optimize=True)
    print(
        f"{path.relative_to(ROOT)}: {image.width}x{image.height}, {path.stat().st_size // 1024} KB"
    )
    return path


def segmentation_figure(segmenter, frame: np.ndarray) -> None:
    from segnet_tf.inference import overlay
    from segnet_tf.visualize import draw_legend, with_legend

    result = segmenter.predict(frame)
    blended = overlay(frame, result.mask, result.classes, alpha=0.6)
    legend = draw_legend(result.classes, ids=np.unique(result.mask))
    pair = _row([_labelled(frame, "CamVid test frame"), _labelled(blended, "camvid_segnet")])
    _save(with_legend(np.asarray(pair), legend), "camvid_segmentation.jpg")


def inside_figures(model, frame: np.ndarray) -> None:
    from segnet_tf.visualize import InsideSegNet, pick_channels, render_panels, zoom_panels

    maps = InsideSegNet(model, block=1).extract(frame, max_side=320)
    channels = pick_channels(maps.encoder, count=4)
    titles = {
        "encoder": "1. encoder map",
        "pooled": "2. max-pooled (half size)",
        "replaced": "3. put back by the indices",
        "decoder": "4. decoder, unpooled",
    }
    grids = render_panels(maps, channels, columns=2)
    panels = [_labelled(grids[key], title) for key, title in titles.items()]
    _save(_column([_row(panels[:2], gap=16), _row(panels[2:], gap=16)]), "inside_grid.jpg")
    zooms = zoom_panels(maps, channels[0], window=12, scale=14)
    short = {
        "encoder": "1. encoder",
        "pooled": "2. pooled",
        "replaced": "3. put back",
        "decoder": "4. decoder",
    }
    _save(_row([_labelled(zooms[key], title) for key, title in short.items()]), "inside_zoom.png")


def confusion_figure(segmenter, camvid_dir: str) -> None:
    from segnet_tf.data import camvid_split_pairs
    from segnet_tf.metrics import confusion_matrix
    from segnet_tf.visualize import plot_confusion_matrix

    classes = segmenter.classes
    names = classes.names[: classes.void_id]  # CamVid's void (id 11, the last) is not scored
    total = np.zeros((len(names), len(names)), np.int64)
    for image_path, mask_path in camvid_split_pairs(camvid_dir, "test"):
        truth = np.asarray(Image.open(mask_path))
        predicted = segmenter.predict(image_path, probabilities=False).mask
        total += confusion_matrix(truth, predicted, len(names), ignore_class=classes.void_id)
    path = plot_confusion_matrix(
        total, names, ASSETS / "confusion_matrix.png", title="camvid_segnet, CamVid test"
    )
    print(f"{path.relative_to(ROOT)}: {path.stat().st_size // 1024} KB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--camvid-dir", help="CamVid folder (default: found as the tests find it)")
    parser.add_argument("--frame", default=FRAME, help=f"test frame to draw (default {FRAME})")
    parser.add_argument(
        "--confusion-matrix", action="store_true", help="also score the whole test split"
    )
    args = parser.parse_args(argv)

    from segnet_tf.data import find_camvid_dir
    from segnet_tf.inference import Segmenter

    camvid = args.camvid_dir or find_camvid_dir()
    if not camvid:
        parser.error("CamVid not found; pass --camvid-dir or set SEGNET_CAMVID_DIR")
    frame = np.asarray(Image.open(Path(camvid) / "test" / args.frame).convert("RGB"))
    ASSETS.mkdir(parents=True, exist_ok=True)
    segmenter = Segmenter.from_preset("camvid_segnet")
    segmentation_figure(segmenter, frame)
    inside_figures(segmenter.model, frame)
    if args.confusion_matrix:
        confusion_figure(segmenter, camvid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
