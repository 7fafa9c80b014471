"""Segment images and videos with a trained model; write masks and overlays.

For every input image, writes into --out:
  <stem>_mask.png         class ids as pixel values (palette PNG in the class colours)
  <stem>_overlay.png      the image blended with the class colours (+ legend)
  <stem>_uncertainty.png  with --mc-samples: entropy, black = certain, white = ln(C)
  <stem>.json             sizes, the scale used, the domain verdict (out_of_domain,
                          domain_score; with a detector from `segnet calibrate`) and
                          the share of each class

Each image (and video frame) is resized to the area of the frames the model was trained
on, keeping its aspect ratio, and its masks resized back (--scale training, the
default): a 4000x3000 photo is segmented as a 480x360 frame of the same view would be.
--scale native segments it at its own resolution, in tiles (imagery already at the
training scale, e.g. large aerial tiles).

MODEL is a .keras file or the name of a bundled preset, e.g. camvid_segnet.

For every input video (.mp4, .mov, .avi, .mkv, .webm...; needs the video extra,
pip install -e ".[video]"), segmented frame by frame:
  <stem>_overlay.mp4      the clip blended with the class colours (H.264, same fps)
  <stem>_masks/000000.png with --video-masks: one class-id mask PNG per frame

INPUT may be files or folders (the images and videos directly inside, by
extension). A file that cannot be read or segmented is reported at the end; the
others are still processed. Exit code 0 if every file succeeded, 1 if some failed.
The resolved options go to predict_config.json. Every field of
segnet_tf.commands.PredictConfig is one argument.
"""

from __future__ import annotations

import argparse

from segnet_tf import config_fields
from segnet_tf.commands.prediction import PredictConfig, predict

HELP = "segment images and videos: PNG masks and overlays, overlay videos"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``segnet predict`` arguments: one per config field.

    Args:
        parser: The subcommand parser.
    """
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    config_fields.add_field_arguments(
        parser, PredictConfig, "prediction (one argument per config field)"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``segnet predict``; returns 0 if every file succeeded, else 1.

    Args:
        args: Parsed arguments.
    """
    config = config_fields.config_from_args(PredictConfig, args)
    try:
        result = predict(config)
    except config_fields.ConfigError as err:
        raise ValueError(config_fields.cli_message(PredictConfig, err)) from None
    if result.num_images:
        print(f"Segmented {len(result.images)} of {result.num_images} images into {config.out}.")
    if result.num_videos:
        seconds = result.video_seconds
        rate = f" at {result.frames / seconds:.1f} frames/s" if seconds > 0 else ""
        print(
            f"Segmented {len(result.videos)} of {result.num_videos} videos into {config.out}: "
            f"{result.frames} frames{rate}."
        )
    if result.out_of_domain:
        print(
            f"{len(result.out_of_domain)} image(s) look unlike the street scenes the model was "
            "trained on; their masks are its nearest guess among its classes, not what is "
            "there (out_of_domain in <stem>.json):"
        )
        for path in result.out_of_domain:
            print(f"  {path}")
    if result.failures:
        print(f"{len(result.failures)} failed:")
        for path, reason in result.failures:
            print(f"  {path}: {reason}")
    return 0 if not result.failures else 1
