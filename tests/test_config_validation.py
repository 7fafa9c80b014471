"""TrainConfig.validate and `segnet train` flag/--config checks: every bad value is
refused before anything is written, naming the field and the expected form."""

import dataclasses
import json
import math
from pathlib import Path

import pytest

import segnet_tf
from segnet_tf.cli import main
from segnet_tf.commands.training import MIN_WIDTH_EXCLUSIVE, TrainConfig
from segnet_tf.config_fields import ConfigError

TINY = [
    "--data", "synthetic", "--synthetic-images", "8", "--image-size", "32", "32",
    "--model", "segnet_basic", "--batch-size", "4", "--steps-per-epoch", "2",
]  # fmt: skip

BAD_VALUES = [
    ("model", "segnet_huge"),
    ("model", None),
    ("width", 0),
    ("width", 0.0001),  # Leaves the 64-filter layers no filter.
    ("width", 1 / 128),  # round(64 / 128) == 0.
    ("width", math.inf),
    ("width", math.nan),
    ("width", 5.0),
    ("width", True),
    ("width", "0.5"),
    ("input_scale", math.inf),
    ("input_scale", math.nan),
    ("input_scale", -0.5),
    ("data", "Folder"),
    ("data", 5),
    ("data_dir", 5),
    ("data_dir", ""),
    ("synthetic_images", 1),
    ("synthetic_images", 8.0),
    ("image_size", 5),
    ("image_size", (360,)),
    ("image_size", (360, 480, 3)),
    ("image_size", (360.0, 480.0)),
    ("image_size", (True, 480)),
    ("image_size", (4, 480)),
    ("image_size", (360, 100_000)),
    ("image_size", "360 480"),
    ("scale_range", (1.0, math.inf)),
    ("scale_range", (math.nan, 1.0)),
    ("scale_range", (2.0, 1.0)),
    ("scale_range", (0.0, 1.0)),
    ("scale_range", (1e-300, 1.0)),
    ("scale_range", (1.0, 1e300)),
    ("scale_range", (1.0,)),
    ("scale_range", 1.5),
    ("validation_image_size", (0, 10)),
    ("validation_image_size", (360,)),
    ("batch_size", 0),
    ("batch_size", True),
    ("batch_size", 2.0),
    ("batch_size", 2**31),
    ("epochs", "5"),
    ("epochs", 0),
    ("steps_per_epoch", 0),
    ("steps_per_epoch", 1.5),
    ("validation_steps", -1),
    ("optimizer", "adam"),
    ("learning_rate", 0.0),
    ("learning_rate", math.nan),
    ("learning_rate", math.inf),
    ("learning_rate", "0.1"),
    ("momentum", 1.0),
    ("momentum", math.nan),
    ("lr_schedule", "step"),
    ("warmup_steps", -1),
    ("warmup_steps", math.nan),
    ("weight_decay", -1e-4),
    ("weight_decay", math.inf),
    ("class_weighting", None),
    ("augment", 1),
    ("augment", "yes"),
    ("camera_augment", 1),
    ("camera_augment", None),
    ("mixed_precision", None),
    ("strategy", "tpu"),
    ("early_stopping_patience", -1),
    ("backup_every_steps", 1.5),
    ("seed", -1),
    ("seed", 2**32),
    ("seed", 1.5),
    ("seed", False),
    ("run_dir", ""),
    ("run_dir", None),
]


def test_every_field_has_a_check():
    assert list(TrainConfig.field_checks()) == [f.name for f in dataclasses.fields(TrainConfig)]


@pytest.mark.parametrize("field, value", BAD_VALUES)
def test_validate_refuses_and_names_the_field(field, value):
    config = TrainConfig(**{field: value})  # No TypeError on construction.
    with pytest.raises(ConfigError) as info:
        config.validate()
    assert info.value.field == field
    message = str(info.value)
    assert message.startswith(f"{field}=") and "expected" in message
    assert "--" not in message  # The Python API speaks of fields, not flags.


@pytest.mark.parametrize(
    "changes",
    [
        {"width": MIN_WIDTH_EXCLUSIVE * 1.001},
        {"width": 4},
        {"scale_range": (1 / 16, 16)},
        {"scale_range": [1, 1]},
        {"image_size": [8, 16384], "validation_image_size": [360, 480]},
        {"seed": 2**32 - 1, "steps_per_epoch": 2**31 - 1},
        {"data": "folder", "data_dir": Path("data")},
        {"learning_rate": 10, "momentum": 0, "weight_decay": 0},
    ],
)
def test_validate_accepts_the_limits(changes):
    config = TrainConfig(**changes).validate()
    assert isinstance(config.data_dir, str | None) and isinstance(config.image_size, tuple)


def test_folder_source_needs_a_data_dir():
    with pytest.raises(ConfigError, match="^data_dir=None is invalid"):
        TrainConfig(data="folder").validate()


@pytest.mark.parametrize("name", segnet_tf.list_models())
def test_every_model_builds_at_the_smallest_valid_width(name):
    # Guards MIN_WIDTH_EXCLUSIVE: a valid config must never fail in the model builder.
    width = MIN_WIDTH_EXCLUSIVE * 1.001
    TrainConfig(model=name, width=width).validate()
    model = segnet_tf.get_model(name, 2, width=width)
    assert model.count_params() > 0


def test_load_names_the_file_and_field(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"image_size": 5}))
    with pytest.raises(ValueError, match=r"config.json: image_size=5 is invalid; expected two"):
        TrainConfig.load(path)
    path.write_text('{"learning_rate": NaN}')
    with pytest.raises(ValueError, match="learning_rate=nan is invalid"):
        TrainConfig.load(path)
    path.write_text(json.dumps({"widht": 0.5}))
    with pytest.raises(ValueError, match="'widht' \\(did you mean 'width'\\?\\)"):
        TrainConfig.load(path)
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(ValueError, match="config.json: not a UTF-8 text file"):
        TrainConfig.load(path)


def _train(tmp_path, capsys, *args):
    run_dir = tmp_path / "run"
    code = main(["train", *TINY, "--epochs", "1", *args, "--run-dir", str(run_dir)])
    return code, capsys.readouterr().err, run_dir


def _assert_one_clear_error(code, err, run_dir, *needles):
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err
    assert not run_dir.exists()  # Nothing written: the corrected rerun starts afresh.


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--width", "0.0001"], "--width 0.0001 is invalid; expected a finite number in (1/128"),
        (["--width", "inf"], "--width inf is invalid"),
        (["--width", "nan"], "--width nan is invalid"),
        (["--scale-range", "1", "inf"], "--scale-range 1.0 inf is invalid"),
        (["--scale-range", "2", "1"], "low <= high"),
        (["--image-size", "8", "100000"], "--image-size 8 100000 is invalid"),
        (["--learning-rate", "inf"], "--learning-rate inf is invalid"),
        (["--seed", "-1"], "--seed -1 is invalid; expected an integer in [0, 4294967295]"),
        (["--steps-per-epoch", "0"], "--steps-per-epoch 0 is invalid"),
        (["--data", "folder"], "--data-dir is missing"),
    ],
)
def test_cli_flag_errors_name_the_flag_and_write_nothing(tmp_path, capsys, args, needle):
    _assert_one_clear_error(*_train(tmp_path, capsys, *args), needle)


@pytest.mark.parametrize(
    "content, needle",
    [
        ({"image_size": 5}, "image_size=5 is invalid; expected two integers"),
        ({"image_size": [64]}, "image_size=[64] is invalid"),
        ({"width": "0.5"}, 'width="0.5" is invalid; expected a finite number'),
        ({"epochs": 1.5}, "epochs=1.5 is invalid; expected an integer"),
        ({"augment": "yes"}, 'augment="yes" is invalid; expected true or false'),
        ({"scale_range": [1, 1e999]}, "scale_range=[1, Infinity] is invalid"),
        ({"validation_image_size": [360, 480, 3]}, "validation_image_size=[360, 480, 3]"),
        ({"model": ["segnet"]}, 'model=["segnet"] is invalid'),
        ({"wdith": 0.5}, "unknown config key(s) 'wdith' (did you mean 'width'?)"),
    ],
)
def test_cli_config_file_errors_name_file_and_field(tmp_path, capsys, content, needle):
    # A tiny run in the file itself: flags would override the field under test.
    tiny = dict(data="synthetic", synthetic_images=8, image_size=[32, 32], width=0.0625)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**tiny, "epochs": 1, "steps_per_epoch": 2, **content}))
    run_dir = tmp_path / "run"
    code = main(["train", "--config", str(path), "--run-dir", str(run_dir)])
    _assert_one_clear_error(code, capsys.readouterr().err, run_dir, f"{path}: ", needle)


def test_cli_flag_overrides_a_bad_config_field(tmp_path):
    from segnet_tf.cli import build_parser
    from segnet_tf.commands.training import config_from_args

    path = tmp_path / "config.json"
    path.write_text(json.dumps({"width": 0, "epochs": 3}))
    args = build_parser().parse_args(["train", "--config", str(path), "--width", "0.25"])
    config = config_from_args(args)
    assert (config.width, config.epochs) == (0.25, 3)


def test_corrected_rerun_after_a_bad_width_trains(tmp_path, capsys):
    code, err, run_dir = _train(tmp_path, capsys, "--width", "0.0001")
    _assert_one_clear_error(code, err, run_dir, "--width 0.0001")
    code, err, run_dir = _train(tmp_path, capsys, "--width", "0.0625")
    assert code == 0, err
    assert json.loads((run_dir / "config.json").read_text())["width"] == 0.0625
