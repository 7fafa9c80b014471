"""`segnet train` / `segnet evaluate` end to end on tiny synthetic runs."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from segnet_tf.cli import main

TINY = [
    "--data", "synthetic", "--synthetic-images", "8", "--image-size", "32", "32",
    "--model", "segnet_basic", "--width", "0.0625", "--batch-size", "4",
    "--steps-per-epoch", "2", "--learning-rate", "0.01",
]  # fmt: skip
ARTIFACTS = (
    "config.json",
    "history.csv",
    "epoch_times.csv",
    "metrics.json",
    "model.keras",
    "best.keras",
    "training_curves.png",
    "classes.json",
    "class_weights.json",
)
SUMMARY = ("global_accuracy", "class_average_accuracy", "mean_iou", "boundary_f1")


def _read_history(run_dir):
    lines = (run_dir / "history.csv").read_text().splitlines()
    header = lines[0].split(",")
    return [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """One short finished run shared by the read-only tests below."""
    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    assert main(["train", *TINY, "--epochs", "1", "--run-dir", str(run_dir)]) == 0
    return run_dir


def test_train_writes_every_artifact(finished_run):
    for name in ARTIFACTS:
        assert (finished_run / name).is_file(), name
    assert not (finished_run / "backup").exists()  # Removed once the run finished.
    assert any((finished_run / "logs" / "train").iterdir())  # TensorBoard events.
    config = json.loads((finished_run / "config.json").read_text())
    assert config["model"] == "segnet_basic" and config["image_size"] == [32, 32]
    assert config["run_dir"] == str(finished_run)
    history = _read_history(finished_run)
    assert [row["epoch"] for row in history] == ["0"]
    assert {"loss", "val_loss", "mean_iou", "val_mean_iou", "learning_rate"} <= set(history[0])
    metrics = json.loads((finished_run / "metrics.json").read_text())
    assert metrics["epochs_completed"] == 1 and metrics["best_epoch"] == 1
    for key in SUMMARY:
        assert 0.0 <= metrics[key] <= 1.0
    assert len(metrics["per_class"]["iou"]) == 6  # Synthetic: 6 classes + void.
    png = (finished_run / "training_curves.png").read_bytes()
    assert png.startswith(b"\x89PNG")


def test_finished_run_is_refused_without_overwrite(finished_run, capsys):
    before = {p.name: p.read_bytes() for p in finished_run.iterdir() if p.is_file()}
    code = main(["train", *TINY, "--epochs", "1", "--run-dir", str(finished_run)])
    assert code == 2
    assert "already holds a finished run" in capsys.readouterr().err
    after = {p.name: p.read_bytes() for p in finished_run.iterdir() if p.is_file()}
    assert after == before


def test_overwrite_replaces_a_finished_run(tmp_path, finished_run):
    # A copy of the shared finished run, with the config that training there writes.
    run_dir = tmp_path / "run"
    shutil.copytree(finished_run, run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    (run_dir / "config.json").write_text(json.dumps({**config, "run_dir": str(run_dir)}))
    (run_dir / "notes.txt").write_text("mine")
    args = ["train", *TINY, "--epochs", "2", "--validation-steps", "1", "--run-dir", str(run_dir)]
    assert main([*args, "--overwrite"]) == 0
    assert [r["epoch"] for r in _read_history(run_dir)] == ["0", "1"]
    assert json.loads((run_dir / "config.json").read_text())["epochs"] == 2
    assert (run_dir / "notes.txt").read_text() == "mine"  # Not ours: never deleted.


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "segnet_huge"], "--model 'segnet_huge' is invalid"),
        (["--data", "folder"], "--data-dir"),
        (["--batch-size", "0"], "--batch-size 0 is invalid"),
        (["--image-size", "-4", "32"], "--image-size"),
        (["--epochs", "0"], "--epochs 0 is invalid"),
        (["--data", "camvid", "--data-dir", "{empty}"], "not a SegNet CamVid folder"),
        (["--data", "folder", "--data-dir", "{missing}"], "does not exist"),
    ],
)
def test_bad_input_is_one_clear_error(tmp_path, capsys, args, message):
    (tmp_path / "empty").mkdir()
    args = [a.format(empty=tmp_path / "empty", missing=tmp_path / "nope") for a in args]
    run_dir = tmp_path / "run"
    code = main(["train", *TINY, "--epochs", "1", *args, "--run-dir", str(run_dir)])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not run_dir.exists()  # Nothing written for a run that cannot start.


def test_unknown_data_source_is_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--data", "imagenet"])
    assert info.value.code == 2
    assert "invalid choice: 'imagenet'" in capsys.readouterr().err


def test_foreign_folder_is_not_used_without_overwrite(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "thesis.tex").write_text("precious")
    assert main(["train", *TINY, "--epochs", "1", "--run-dir", str(run_dir)]) == 2
    assert "holds no segnet run" in capsys.readouterr().err
    assert sorted(os.listdir(run_dir)) == ["thesis.tex"]


KILL_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    import keras
    from segnet_tf.cli.train import add_arguments
    from segnet_tf.training import train
    from segnet_tf.commands.training import config_from_args
    import argparse

    class KillMidEpoch(keras.callbacks.Callback):
        # SIGKILL ourselves in the middle of epoch 2 (no cleanup can run).
        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == 1 and batch == 1:
                os.kill(os.getpid(), signal.SIGKILL)
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    train(config_from_args(parser.parse_args(sys.argv[1:])), callbacks=[KillMidEpoch()])
    """
)


def test_killed_run_resumes_from_the_interrupted_epoch(tmp_path, capsys):
    from segnet_tf.training import load_trained_model

    run_dir = tmp_path / "run"
    # Backups every batch: the kill (epoch 2, batch 2) happens after batch 1's backup.
    args = [*TINY, "--epochs", "3", "--backup-every-steps", "1", "--run-dir", str(run_dir)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    killed = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -9, killed.stderr[-3000:]
    assert not (run_dir / "metrics.json").exists()
    assert [r["epoch"] for r in _read_history(run_dir)] == ["0"]
    first_epoch_row = (run_dir / "history.csv").read_text().splitlines()[1]
    import h5py

    with h5py.File(run_dir / "backup" / "state.h5") as backup:
        # One epoch complete: the state after batch 0 of epoch 2 waited for batch 1's
        # loss to prove it sound, and the kill came first.
        assert (backup.attrs["epochs_completed"], backup.attrs["steps_taken"]) == (1, 0)

    # The kill needs a process of its own; the resume reads only what is on disk, so it
    # runs in this one (a second process would cost one more TensorFlow import).
    capsys.readouterr()
    code = main(["train", *args])
    resumed = capsys.readouterr()
    assert code == 0, resumed.err[-3000:]
    assert "(resuming)" in resumed.out
    # Epoch 1 is not trained again; the interrupted epoch 2 carries on, then epoch 3.
    assert "(resuming) at epoch 2, step 1" in resumed.out
    assert "Epoch 1/3" not in resumed.out
    assert "Epoch 2/3" in resumed.out and "Epoch 3/3" in resumed.out
    history = _read_history(run_dir)
    assert [r["epoch"] for r in history] == ["0", "1", "2"]
    assert (run_dir / "history.csv").read_text().splitlines()[1] == first_epoch_row
    for name in ARTIFACTS:
        assert (run_dir / name).is_file(), name
    assert not (run_dir / "backup").exists()
    # The optimizer state was restored from the mid-epoch backup and only the steps
    # the uninterrupted run takes were taken: 3 epochs of 2 steps.
    model = load_trained_model(run_dir / "model.keras")
    assert int(model.optimizer.iterations.numpy()) == 3 * 2


def test_interrupted_run_with_another_config_is_refused(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    from segnet_tf.commands.training import TrainConfig

    TrainConfig(data="synthetic", epochs=5, run_dir=str(run_dir)).save(run_dir / "config.json")
    before = (run_dir / "config.json").read_bytes()
    assert main(["train", *TINY, "--epochs", "1", "--run-dir", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "interrupted run with another configuration" in err and "--epochs 5 -> 1" in err
    assert (run_dir / "config.json").read_bytes() == before


def test_corrupt_backup_is_a_clear_error(tmp_path, capsys):
    run_dir = tmp_path / "run"
    args = ["train", *TINY, "--epochs", "1", "--run-dir", str(run_dir)]
    from segnet_tf.commands.training import TrainConfig
    from segnet_tf.commands.training import config_from_args as _  # noqa: F401

    run_dir.mkdir()
    config = TrainConfig(
        data="synthetic", synthetic_images=8, image_size=(32, 32), width=0.0625,
        batch_size=4, steps_per_epoch=2, epochs=1, run_dir=str(run_dir),
    )  # fmt: skip
    config.save(run_dir / "config.json")
    (run_dir / "backup").mkdir()
    (run_dir / "backup" / "latest.weights.h5").write_bytes(b"not an h5 file")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "cannot be restored" in err and "latest.weights.h5" in err
    assert (run_dir / "backup" / "latest.weights.h5").read_bytes() == b"not an h5 file"


def test_evaluate_writes_metrics_of_a_known_model(tmp_path, capsys):
    """A model that always predicts "road": scores follow from the masks alone."""
    import keras

    from segnet_tf.data import synthetic_dataset

    num_classes, road = 6, 2
    inputs = keras.Input((None, None, 3))
    logits = keras.layers.Conv2D(
        num_classes,
        1,
        kernel_initializer="zeros",
        bias_initializer=keras.initializers.Constant(np.eye(num_classes)[road] * 5.0),
    )(inputs)
    model_path = tmp_path / "road.keras"
    keras.Model(inputs, logits).save(model_path)

    out = tmp_path / "eval"
    code = main(
        ["evaluate", str(model_path), "--data", "synthetic", "--split", "test",
         "--synthetic-images", "16", "--image-size", "32", "48", "--seed", "3",
         "--output-dir", str(out)]
    )  # fmt: skip
    assert code == 0
    table = capsys.readouterr().out
    assert "mIoU" in table and "road" in table
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(SUMMARY) | {"per_class", "confusion_matrix"} <= set(metrics)
    assert (out / "confusion_matrix.png").read_bytes().startswith(b"\x89PNG")
    assert json.loads((out / "eval_config.json").read_text())["split"] == "test"

    # Expected scores from the test split's masks (void = 6 ignored).
    from segnet_tf.data_sources import load_split

    ds, _ = load_split("synthetic", "test", None, 16, (32, 48), 3)
    masks = np.concatenate([e["segmentation_mask"].numpy().ravel() for e in ds])
    assert len(masks) == synthetic_dataset(4, (32, 48)).cardinality() * 32 * 48
    labelled = masks[masks < num_classes]
    counts = np.bincount(labelled, minlength=num_classes)
    present = counts > 0
    road_share = counts[road] / labelled.size
    np.testing.assert_allclose(metrics["global_accuracy"], road_share)
    np.testing.assert_allclose(metrics["mean_iou"], road_share / present.sum())
    np.testing.assert_allclose(metrics["class_average_accuracy"], 1.0 / present.sum())
    assert metrics["per_class"]["iou"][road] == pytest.approx(road_share)
    assert metrics["per_class"]["support"] == counts.tolist()
    cm = np.array(metrics["confusion_matrix"])
    assert cm[:, road].tolist() == counts.tolist() and cm.sum() == labelled.size


def test_evaluate_defaults_to_the_runs_data_and_refuses_to_clobber(finished_run, capsys):
    model = str(finished_run / "best.keras")
    assert main(["evaluate", model, "--split", "val"]) == 0
    metrics_path = finished_run / "eval-validation" / "metrics.json"
    metrics = json.loads(metrics_path.read_text())
    # Same model, same split and resolution as the end-of-training evaluation.
    run_metrics = json.loads((finished_run / "metrics.json").read_text())
    assert metrics["mean_iou"] == pytest.approx(run_metrics["mean_iou"])
    before = metrics_path.read_bytes()
    capsys.readouterr()
    assert main(["evaluate", model, "--split", "val"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert metrics_path.read_bytes() == before


def test_evaluate_corrupt_model_and_mc_on_deterministic_model(tmp_path, finished_run, capsys):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"garbage")
    assert main(["evaluate", str(bad), "--data", "synthetic"]) == 2
    assert "cannot load the model" in capsys.readouterr().err
    model = str(finished_run / "best.keras")
    out = str(tmp_path / "mc")
    assert main(["evaluate", model, "--mc-samples", "2", "--output-dir", out]) == 2
    assert "Monte-Carlo dropout" in capsys.readouterr().err


def test_evaluate_bayesian_model_by_monte_carlo_dropout(tmp_path, capsys):
    import segnet_tf

    model = segnet_tf.get_model("bayesian_segnet_basic", 6, width=0.0625)
    path = tmp_path / "bayes.keras"
    model.save(path)
    out = tmp_path / "eval"
    args = ["evaluate", str(path), "--data", "synthetic", "--image-size", "32", "32"]
    assert main([*args, "--mc-samples", "3", "--output-dir", str(out), "--limit", "2"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["mc_samples"] == 3 and metrics["num_images"] == 2


def test_flip_averaged_probabilities_are_mirror_symmetric():
    import keras

    from segnet_tf.inference.tta import tta_probabilities

    def flip_averaged(model, images):
        return tta_probabilities(model, images, "flip")

    # A horizontal edge detector: its output changes sign under a mirror image.
    inputs = keras.Input((None, None, 3))
    edges = keras.layers.Conv2D(
        2, (1, 3), padding="same", kernel_initializer=keras.initializers.RandomNormal(seed=0)
    )(inputs)
    asymmetric = keras.Model(inputs, edges)
    images = np.random.default_rng(0).uniform(0, 255, (2, 5, 7, 3)).astype("float32")
    mirror = images[:, :, ::-1]
    averaged = np.asarray(flip_averaged(asymmetric, images))
    averaged_of_mirror = np.asarray(flip_averaged(asymmetric, mirror))
    np.testing.assert_allclose(averaged_of_mirror, averaged[:, :, ::-1], rtol=1e-5, atol=1e-4)
    plain = np.asarray(keras.ops.softmax(asymmetric(images)))
    assert not np.allclose(plain, averaged, atol=1e-2)  # it did average something
    # A model that is already mirror-symmetric is left as it is.
    pointwise = keras.Model(inputs, keras.layers.Conv2D(2, 1)(inputs))
    np.testing.assert_allclose(
        np.asarray(flip_averaged(pointwise, images)),
        np.asarray(keras.ops.softmax(pointwise(images))),
        rtol=1e-5,
        atol=1e-4,
    )


def test_evaluate_with_flip_records_it_and_refuses_monte_carlo(tmp_path, finished_run, capsys):
    model = str(finished_run / "best.keras")
    out = tmp_path / "flip"
    assert main(["evaluate", model, "--flip", "--limit", "2", "--output-dir", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["flip"] is True
    assert json.loads((out / "eval_config.json").read_text())["flip"] is True

    import segnet_tf

    bayes = tmp_path / "bayes.keras"
    segnet_tf.get_model("bayesian_segnet_basic", 6, width=0.0625).save(bayes)
    args = ["evaluate", str(bayes), "--data", "synthetic", "--image-size", "32", "32"]
    assert main([*args, "--flip", "--mc-samples", "2", "--output-dir", str(tmp_path / "x")]) == 2
    assert "not both" in capsys.readouterr().err
