"""Unit tests of the training building blocks: config, loss, schedules, callbacks."""

import argparse
import dataclasses
import json
import math
import os

import numpy as np
import pytest

from segnet_tf.commands.training import TrainConfig, add_config_arguments, config_from_args


def _parse(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    add_config_arguments(parser)
    return parser, parser.parse_args(argv)


def test_exactly_one_flag_per_config_field():
    parser, _ = _parse([])
    flags = {
        opt for action in parser._actions for opt in action.option_strings if opt.startswith("--")
    }
    fields = {"--" + f.name.replace("_", "-") for f in dataclasses.fields(TrainConfig)}
    assert fields <= flags
    assert flags - fields == {"--help", "--config"} | {
        "--no-" + f.name.replace("_", "-")
        for f in dataclasses.fields(TrainConfig)
        if f.type in (bool, "bool")
    }


def test_flags_override_config_file_which_overrides_defaults(tmp_path):
    path = tmp_path / "c.json"
    TrainConfig(model="unet", epochs=7, batch_size=2).save(path)
    _, args = _parse(
        ["--config", str(path), "--epochs", "3", "--image-size", "64", "96", "--no-augment",
         "--steps-per-epoch", "none"]
    )  # fmt: skip
    config = config_from_args(args)
    assert (config.model, config.epochs, config.batch_size) == ("unet", 3, 2)
    assert config.image_size == (64, 96) and config.augment is False
    assert config.steps_per_epoch is None


def test_float_and_optional_pair_flags_parse_and_round_trip(tmp_path):
    _, args = _parse(["--scale-range", "1.4", "2.8", "--validation-image-size", "360", "480"])
    config = config_from_args(args).validate()
    assert config.scale_range == (1.4, 2.8)
    assert config.validation_image_size == (360, 480)
    config.save(tmp_path / "config.json")
    assert TrainConfig.load(tmp_path / "config.json") == config
    assert TrainConfig().validation_image_size is None


def test_config_json_roundtrip_and_unknown_keys(tmp_path):
    config = TrainConfig(model="segnet", width=0.25, image_size=(48, 64), steps_per_epoch=5)
    config.save(tmp_path / "config.json")
    loaded = TrainConfig.load(tmp_path / "config.json")
    assert loaded == config and isinstance(loaded.image_size, tuple)
    (tmp_path / "bad.json").write_text(json.dumps({"modle": "segnet"}))
    with pytest.raises(ValueError, match="unknown config key"):
        TrainConfig.load(tmp_path / "bad.json")


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"width": 0}, "width"),
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"momentum": 1.0}, "momentum"),
        ({"steps_per_epoch": 0}, "steps_per_epoch"),
        ({"optimizer": "adam"}, "optimizer"),
        ({"strategy": "tpu"}, "strategy"),
        ({"image_size": (32,)}, "image_size"),
        ({"warmup_steps": -1}, "warmup_steps"),
        ({"scale_range": (2.0, 1.0)}, "scale_range"),
        ({"scale_range": (0.0, 1.0)}, "scale_range"),
        ({"validation_image_size": (360,)}, "validation_image_size"),
        ({"input_scale": 0.0}, "input_scale"),
        ({"input_scale": 8.0}, "input_scale"),
    ],
)
def test_validate_names_the_bad_field(changes, field):
    # The Python API names the field (``width=0``); only the CLI speaks in flags.
    with pytest.raises(ValueError, match=f"^{field}="):
        dataclasses.replace(TrainConfig(), **changes).validate()


def test_masked_loss_ignores_void_and_weights_classes():
    import keras

    from segnet_tf.training.losses import MaskedSparseCategoricalCrossentropy

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 3, 4, 3)).astype("float32")
    labels = rng.integers(0, 3, size=(2, 3, 4))
    labels[0, 0, :] = 3  # void (= num_classes)
    labels[1, 2, 1] = 255  # any id >= num_classes is void too
    weights = np.array([0.5, 1.0, 4.0])
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    valid = labels < 3
    safe = np.where(valid, labels, 0)
    ce = -np.take_along_axis(log_p, safe[..., None], -1)[..., 0]
    expected = (ce * weights[safe])[valid].sum() / valid.sum()

    loss = MaskedSparseCategoricalCrossentropy(3, class_weights=weights, ignore_class=3)
    np.testing.assert_allclose(float(loss(labels, logits)), expected, rtol=1e-5)
    # Changing logits of void pixels changes nothing.
    logits2 = logits.copy()
    logits2[0, 0, :] = 100.0
    np.testing.assert_allclose(float(loss(labels, logits2)), expected, rtol=1e-5)
    # Per-pixel output, zeros on void; bfloat16 logits still give a float32 loss.
    per_pixel = MaskedSparseCategoricalCrossentropy(3, weights, reduction="none")(labels, logits)
    assert per_pixel.shape == (2, 3, 4) and float(per_pixel[0, 0, 0]) == 0.0
    bf16 = loss(labels, keras.ops.cast(logits, "bfloat16"))
    assert keras.backend.standardize_dtype(bf16.dtype) == "float32"
    # Serialisable.
    clone = MaskedSparseCategoricalCrossentropy.from_config(loss.get_config())
    np.testing.assert_allclose(float(clone(labels, logits)), expected, rtol=1e-5)
    # All-void batch: 0, not NaN.
    assert float(loss(np.full((1, 2, 2), 3), logits[:1, :2, :2])) == 0.0


def test_schedules_warm_up_then_decay():
    from segnet_tf.training.schedules import PolyDecay, WarmupCosineDecay, make_schedule

    poly = PolyDecay(0.1, total_steps=110, power=1.0, warmup_steps=10)
    values = [float(poly(s)) for s in (0, 9, 10, 60, 110, 500)]
    np.testing.assert_allclose(values, [0.01, 0.1, 0.1, 0.05, 0.0, 0.0], atol=1e-7)
    cosine = WarmupCosineDecay(1.0, total_steps=20, warmup_steps=10, min_lr=0.1)
    np.testing.assert_allclose(
        [float(cosine(s)) for s in (4, 10, 15, 20)], [0.5, 1.0, 0.55, 0.1], atol=1e-6
    )
    assert make_schedule("constant", 0.3, 100) == 0.3
    restored = PolyDecay.from_config(poly.get_config())
    assert float(restored(60)) == pytest.approx(0.05)


def test_history_csv_drops_rows_of_a_restarted_epoch(tmp_path):
    from segnet_tf.training.callbacks import HistoryCSV, read_history_csv

    path = tmp_path / "history.csv"
    first = HistoryCSV(path)
    for epoch in range(3):
        first.on_epoch_begin(epoch)
        first.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1), "val_mean_iou": 0.1 * epoch})
    # A killed run restarts at epoch 1: rows of epochs 1 and 2 are replaced.
    resumed = HistoryCSV(path)
    resumed.on_train_begin()
    resumed.on_epoch_begin(1)
    resumed.on_epoch_end(1, {"loss": 9.0, "val_mean_iou": 0.9})
    rows = read_history_csv(path)
    assert [r["epoch"] for r in rows] == [0, 1]
    assert rows[0]["loss"] == 1.0 and rows[1]["loss"] == 9.0
    assert resumed.first_epoch == 1
    assert not [n for n in os.listdir(tmp_path) if n != "history.csv"]  # no temp files


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    from segnet_tf.atomic_files import atomic_path, write_json_atomic

    target = tmp_path / "metrics.json"
    write_json_atomic(target, {"mean_iou": np.float32(0.5), "bf": math.nan})
    assert json.loads(target.read_text()) == {"mean_iou": 0.5, "bf": None}
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            with open(tmp, "w") as f:
                f.write("partial")
            raise RuntimeError("crash while writing")
    assert json.loads(target.read_text())["mean_iou"] == 0.5
    assert os.listdir(tmp_path) == ["metrics.json"]


def test_worker_info_from_tf_config(monkeypatch):
    from segnet_tf.training.distribute import worker_info

    assert worker_info("none").is_chief
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG"):
        worker_info("multiworker")
    cluster = {"worker": ["a:1", "b:2"]}
    monkeypatch.setenv(
        "TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 1}})
    )
    info = worker_info("multiworker")
    assert (info.index, info.is_chief) == (1, False)


@pytest.mark.parametrize(("native_bf16", "policy"), [(True, "mixed_bfloat16"), (False, "float32")])
def test_mixed_precision_uses_bfloat16_only_where_the_cpu_has_it(
    native_bf16, policy, tmp_path, monkeypatch, capsys
):
    import keras

    from segnet_tf.training import TrainConfig, train, trainer

    monkeypatch.setattr(trainer, "cpu_has_native_bf16", lambda: native_bf16)
    config = TrainConfig(
        data="synthetic", synthetic_images=8, image_size=(32, 32), width=0.0625,
        batch_size=4, epochs=1, steps_per_epoch=1, validation_steps=1,
        mixed_precision=True, run_dir=str(tmp_path / "run"),
    )  # fmt: skip
    result = train(config, verbose=0)
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored
    model = result.model
    assert model.dtype_policy.name == policy  # CPU: bfloat16 without loss scaling, or float32
    assert model.outputs[0].dtype == "float32"  # logits stay float32
    # Emulated bfloat16 is several times slower than float32: the run says why it fell back.
    assert ("no native bfloat16" in capsys.readouterr().out) is not native_bf16
    assert math.isfinite(result.history["loss"][0])
    assert result.initial_epoch == 0


def test_input_scale_trains_a_model_that_scores_full_resolution(tmp_path):
    from segnet_tf.training import TrainConfig, load_trained_model, train

    config = TrainConfig(
        data="synthetic", synthetic_images=8, image_size=(32, 48), width=0.0625,
        input_scale=0.5, batch_size=4, epochs=1, steps_per_epoch=1, validation_steps=1,
        mixed_precision=True, run_dir=str(tmp_path / "run"),
    )  # fmt: skip
    result = train(config, verbose=0)
    best = load_trained_model(result.run_dir / "best.keras", compile=False)
    for model in (result.model, best):
        assert model.get_layer("input_scale").scale == 0.5
        assert tuple(model(np.zeros((1, 32, 48, 3), "float32")).shape) == (1, 32, 48, 6)
    assert math.isfinite(result.history["loss"][0])
    assert result.metrics["num_images"] > 0  # scored at full resolution


def test_nan_guard_stops_training_and_reports_where():
    import keras

    from segnet_tf.training.callbacks import NaNGuard

    guard = NaNGuard()
    guard.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    guard.model.stop_training = False  # as fit() sets it
    guard.on_epoch_begin(2)
    guard.on_train_batch_end(0, {"loss": 0.7})
    assert guard.diverged_at is None and not guard.model.stop_training
    guard.on_train_batch_end(5, {"loss": float("nan")})
    assert guard.diverged_at == (2, 5) and guard.model.stop_training


def test_mirrored_strategy_run_writes_a_loadable_model_with_class_sidecar(tmp_path):
    from segnet_tf.inference.class_info import read_sidecar_classes
    from segnet_tf.training import TrainConfig, load_trained_model, train

    config = TrainConfig(
        data="synthetic", synthetic_images=8, image_size=(32, 32), width=0.0625,
        batch_size=4, epochs=1, steps_per_epoch=1, validation_steps=1,
        strategy="mirrored", run_dir=str(tmp_path / "run"),
    )  # fmt: skip
    result = train(config, verbose=0)
    best = result.run_dir / "best.keras"
    model = load_trained_model(best)  # compile state too: custom loss and schedule
    assert model.loss.get_config()["ignore_class"] == 6
    assert read_sidecar_classes(best).class_names[2] == "road"
    assert result.metrics["split"] == "validation" and "mean_iou" in result.metrics


def test_training_on_validation_adds_its_images_and_forbids_early_stopping():
    from segnet_tf.training.trainer import prepare_data

    config = TrainConfig(data="synthetic", synthetic_images=8, image_size=(32, 32), batch_size=4)
    held_out = prepare_data(config)
    both = prepare_data(dataclasses.replace(config, train_on_validation=True))
    assert (held_out.n_train, held_out.n_val) == (8, 4)
    assert (both.n_train, both.n_val) == (12, 4) and both.steps_per_epoch == 3
    with pytest.raises(ValueError, match="^early_stopping_patience=.*train_on_validation"):
        dataclasses.replace(config, train_on_validation=True, early_stopping_patience=5).validate()


def test_best_checkpoint_in_last_mode_keeps_every_finite_epoch(tmp_path):
    import keras

    from segnet_tf.training.callbacks import BestModelCheckpoint, read_best_info

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    for mode, kept_epoch in (("max", 0), ("last", 2)):
        path = tmp_path / mode / "best.keras"
        path.parent.mkdir()
        checkpoint = BestModelCheckpoint(path, "val_mean_iou", mode)
        checkpoint.set_model(model)
        checkpoint.on_train_begin()
        for epoch, value in enumerate((0.5, 0.4, 0.3, float("nan"))):
            checkpoint.on_epoch_end(epoch, {"val_mean_iou": value, "loss": 1.0})
        assert read_best_info(path.with_suffix(".json"))["epoch"] == kept_epoch
