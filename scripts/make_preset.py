"""Turn a finished training run into a bundled preset of the package.

Writes the preset folder `segnet_tf/presets/<name>/` with `model.save_to_preset`:
`model.keras` (float32 weights, no optimizer state, so a few MB) and `model.json` (the
class list, which `Segmenter.from_preset` reads, the training frame size, where the
model came from and its test scores from `segnet evaluate`), plus the run's
out-of-domain detector when the checkpoint has one beside it (`best.domain.npz`).
Otherwise fit the preset's detector (`model.domain.npz`) afterwards with
`segnet calibrate <name> --data camvid --data-dir ../shared/camvid`.

    python scripts/make_preset.py RUN_DIR --name camvid_segnet \
        [--eval-dir RUN_DIR/eval-test] [--command "scripts/train_camvid.sh"]
"""

import argparse
import json
import sys
from pathlib import Path

PRESETS_DIR = Path(__file__).resolve().parent.parent / "segnet_tf" / "presets"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="folder of a finished `segnet train` run")
    parser.add_argument("--name", required=True, help="preset name, e.g. camvid_segnet")
    parser.add_argument("--checkpoint", default="best.keras", help="model file in the run")
    parser.add_argument("--eval-dir", type=Path, help="`segnet evaluate` output folder")
    parser.add_argument("--command", default="", help="the command that trained it")
    parser.add_argument(
        "--output-dir", type=Path, default=PRESETS_DIR, help="default: the package's presets"
    )
    args = parser.parse_args(argv)

    import segnet_tf  # noqa: F401  (registers the model classes for loading)
    from segnet_tf.classes import read_class_list
    from segnet_tf.models import SegmentationModel
    from segnet_tf.preset_folders import MODEL_FILE
    from segnet_tf.training import TrainConfig, load_trained_model

    config = TrainConfig.load(args.run_dir / "config.json")  # provenance only
    classes = read_class_list(args.run_dir / "classes.json")
    checkpoint = args.run_dir / args.checkpoint
    trained = load_trained_model(checkpoint, compile=False)
    if not isinstance(trained, SegmentationModel):
        raise SystemExit(
            f"{checkpoint} holds a plain functional model that does not "
            "record its architecture; expected a model of segnet_tf.models (SegNet, UNet, "
            "FCN), as `segnet train` saves them."
        )
    # A run trained under a mixed precision policy saves bfloat16/float16 layers; the
    # preset is rebuilt from the model's own config (variant, width, input scale and
    # any logit offsets of `segnet adjust`) in float32, which every runtime and
    # exporter takes. A run from before models recorded their training frame size gets
    # the one `segnet train` now records: the validation (else training) image size.
    training_size = trained.training_size or tuple(
        config.validation_image_size or config.image_size
    )
    model = trained.copy_with(dtype="float32", training_size=training_size)
    test_scores = None
    if args.eval_dir is not None:
        scores = json.loads((args.eval_dir / "metrics.json").read_text())
        test_scores = {
            key: scores[key]
            for key in ("global_accuracy", "class_average_accuracy", "mean_iou", "boundary_f1")
        }
    detector = checkpoint.with_name(checkpoint.stem + ".domain.npz")
    folder = model.save_to_preset(
        args.output_dir / args.name,
        classes=classes,
        trained_with=args.command,
        test_scores=test_scores,
        train_config=config.to_dict(),
        domain_detector=detector if detector.is_file() else None,
    )
    size_mb = (folder / MODEL_FILE).stat().st_size / 1e6
    print(f"wrote the preset {folder}/ ({MODEL_FILE}: {size_mb:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
