"""Turn a finished training run into a bundled preset of the package.

Writes the preset folder `segnet_tf/presets/<name>/` with `model.save_to_preset`:
`model.keras` (float32 weights, no optimizer state, so a few MB) and `model.json` (the
class list, which `Segmenter.from_preset` reads, the training frame size, where the
model came from and its test scores from `segnet evaluate`), plus the run's
out-of-domain detector when the checkpoint has one beside it (`best.domain.npz`).
Otherwise fit the preset's detector (`model.domain.npz`) afterwards with
`segnet calibrate <name> --data camvid --data-dir ../shared/camvid`, or fit it on a
first build in another folder and pass it with `--domain-detector` to the final build,
so that `model.json` names it.

`model.json` also records what the run folder says of the model, for the model card's
tables (`scripts/model_card_tables.py`): `training` (epochs, the kept epoch and its
validation mIoU, the splits trained on, time and CPU from `train_time.tsv`, and the
same of the run a fine-tune started from),
`logit_adjustment` (the tau `segnet adjust` chose), `test_per_class_iou`,
`test_scores_unadjusted` (with `--unadjusted-eval-dir`) and `robustness` (with
`--robustness`, the JSON of `benchmarks/robustness.py`).

    python scripts/make_preset.py RUN_DIR --name camvid_segnet \
        [--checkpoint best_adjusted.keras] [--eval-dir RUN_DIR/eval-test] \
        [--unadjusted-eval-dir RUN_DIR/eval-test-unadjusted] \
        [--robustness robustness.json] [--command "scripts/train_camvid.sh"]
"""

import argparse
import json
import sys
from pathlib import Path

from train_times import read_epoch_totals, read_train_calls, trained_splits

PRESETS_DIR = Path(__file__).resolve().parent.parent / "segnet_tf" / "presets"


SCORE_KEYS = ("global_accuracy", "class_average_accuracy", "mean_iou", "boundary_f1")


def headline_scores(metrics: dict) -> dict[str, float]:
    """G, C, mIoU and BF of a `segnet evaluate` metrics.json."""
    return {key: metrics[key] for key in SCORE_KEYS}


def training_record(run_dir: Path, config, seen: frozenset = frozenset()) -> dict:
    """Epochs, the kept epoch, the splits trained on, and the time training took.

    Time comes from the recipe scripts' `train_time.tsv` (``calls``: one line per call,
    when, CPU, epochs, seconds), so a run resumed across sessions adds up, and from
    `segnet train`'s `epoch_times.csv` (``epoch_times``: epochs and seconds per CPU),
    which also counts the epochs of calls killed before they returned.
    """
    finished = run_dir / "metrics.json"  # written last by a finished `segnet train`
    metrics = json.loads(finished.read_text()) if finished.is_file() else {}
    record = {
        "splits": trained_splits(config.train_on_validation),
        "epochs": metrics.get("epochs_completed"),
        "kept_epoch": metrics.get("best_epoch"),
        "kept_by": metrics.get("checkpoint_chosen_by", "best validation mIoU"),
        "validation_mean_iou": metrics.get("mean_iou"),
    }
    calls = read_train_calls(run_dir)
    if calls is not None:
        record["calls"] = calls
        record["seconds"] = sum(call["seconds"] for call in calls)
    epoch_totals = read_epoch_totals(run_dir)
    if epoch_totals is not None:
        record["epoch_times"] = epoch_totals
    earlier = earlier_stage(config.init_from, seen | {run_dir.resolve()})
    if earlier is not None:
        record["fine_tuned_from"] = earlier
    return record


def earlier_stage(init_from: str | None, seen: frozenset = frozenset()) -> dict | None:
    """The record of the run a fine-tune started from, or None.

    A run trained with ``--init-from RUN/model.keras`` (a checkpoint of another run
    folder) is the second stage of its recipe: the first stage's epochs, splits and
    time are part of what the preset cost, so they are recorded alike (with the
    checkpoint's file name), and so on down a chain of fine-tunes. A preset or a file
    outside a run folder gives None (the path stays in ``train_config.init_from``), as
    does a folder already in the chain (``seen``: a run started from its own checkpoint).
    """
    if not init_from:
        return None
    source = Path(init_from)
    run_dir = source.parent
    if source.suffix != ".keras" or not (run_dir / "config.json").is_file():
        return None
    if run_dir.resolve() in seen:
        return None
    from segnet_tf.training import TrainConfig

    config = TrainConfig.load(run_dir / "config.json")
    return {"checkpoint": source.name, **training_record(run_dir, config, seen)}


def logit_adjustment_record(sweep: dict) -> dict:
    """The tau of `segnet adjust`'s ``logit_adjustment.json`` and the split it was chosen on.

    A sweep of a single tau (``--taus 0.25``, as a train+val fit takes the tau its
    train-only run chose) chose nothing: its ``chosen_on`` is None.
    """
    swept = [row["tau"] for row in sweep.get("sweep", [])]
    return {
        "tau": sweep["chosen_tau"],
        "chosen_on": sweep["split"] if len(swept) != 1 else None,
        "taus_swept": swept,
    }


def evaluation_record(
    eval_dir: Path | None, unadjusted_eval_dir: Path | None = None, robustness: Path | None = None
) -> tuple[dict | None, dict]:
    """The test scores and the rest of ``model.json``'s measurements, from their files.

    Args:
        eval_dir: `segnet evaluate` output of the preset's model: its G / C / mIoU / BF
            (returned first) and ``test_per_class_iou``.
        unadjusted_eval_dir: Output of the same network without its logit adjustment:
            ``test_scores_unadjusted``.
        robustness: JSON of `benchmarks/robustness.py`: ``robustness``.
    """
    test_scores, details = None, {}
    if eval_dir is not None:
        scores = json.loads((eval_dir / "metrics.json").read_text())
        test_scores = headline_scores(scores)
        per_class = scores["per_class"]
        details["test_per_class_iou"] = dict(zip(per_class["name"], per_class["iou"], strict=True))
    if unadjusted_eval_dir is not None:
        scores = json.loads((unadjusted_eval_dir / "metrics.json").read_text())
        details["test_scores_unadjusted"] = headline_scores(scores)
    if robustness is not None:
        details["robustness"] = json.loads(robustness.read_text())
    return test_scores, details


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="folder of a finished `segnet train` run")
    parser.add_argument("--name", required=True, help="preset name, e.g. camvid_segnet")
    parser.add_argument("--checkpoint", default="best.keras", help="model file in the run")
    parser.add_argument("--eval-dir", type=Path, help="`segnet evaluate` output folder")
    parser.add_argument(
        "--unadjusted-eval-dir", type=Path, help="`segnet evaluate` of the unadjusted model"
    )
    parser.add_argument("--robustness", type=Path, help="JSON of benchmarks/robustness.py")
    parser.add_argument(
        "--domain-detector",
        type=Path,
        help="the .domain.npz to ship (default: the checkpoint's own, if it has one), e.g. "
        "one `segnet calibrate` fitted on a first build of this preset",
    )
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
    details = {"training": training_record(args.run_dir, config)}
    sweep = args.run_dir / "logit_adjustment.json"
    if sweep.is_file():
        details["logit_adjustment"] = logit_adjustment_record(json.loads(sweep.read_text()))
    test_scores, measured = evaluation_record(
        args.eval_dir, args.unadjusted_eval_dir, args.robustness
    )
    details.update(measured)
    detector = args.domain_detector or checkpoint.with_name(checkpoint.stem + ".domain.npz")
    if args.domain_detector is not None and not detector.is_file():
        raise SystemExit(f"{detector}: no such file; expected a `segnet calibrate` .domain.npz")
    folder = model.save_to_preset(
        args.output_dir / args.name,
        classes=classes,
        trained_with=args.command,
        test_scores=test_scores,
        train_config=config.to_dict(),
        domain_detector=detector if detector.is_file() else None,
        details=details,
    )
    size_mb = (folder / MODEL_FILE).stat().st_size / 1e6
    print(f"wrote the preset {folder}/ ({MODEL_FILE}: {size_mb:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
