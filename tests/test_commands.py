"""The command library: config dataclasses, library functions, their generated CLI.

Each command's config round-trips through JSON, refuses bad values (naming the field
in Python and the flag on the command line) before any file is written, and the
library function gives what the `segnet` subcommand gives.
"""

import json

import keras
import numpy as np
import pytest
from PIL import Image

import segnet_tf
from segnet_tf.cli import main
from segnet_tf.commands import (
    AdjustConfig,
    EvaluateConfig,
    ExportConfig,
    PredictConfig,
    adjust,
    evaluate,
    export,
    predict,
)
from segnet_tf.config_fields import ConfigError
from segnet_tf.data_sources import (
    SEGNET_LAYOUT,
    DataSource,
    data_source_names,
    normalize_split,
    register_data_source,
)
from segnet_tf.models.graph import all_layers
from segnet_tf.training import TrainConfig

# Non-default values of every command's fields.
CONFIGS = [
    TrainConfig(model="unet", width=0.25, image_size=(48, 64), steps_per_epoch=5),
    EvaluateConfig(
        model="m.keras", data="synthetic", split="val", batch_size=2, flip=True, limit=3,
        boundary=False, synthetic_images=8, image_size=(32, 48), seed=5, output_dir="out",
    ),
    AdjustConfig(
        model="m.keras", data="folder", data_dir="d", taus=(0, 0.5), metric="global_accuracy",
        limit=2, recompute_batch_norm=4, output="x.keras",
    ),
    PredictConfig(
        model="camvid_segnet", inputs=("a.png", "b"), out="o", mc_samples=2, alpha=0.2,
        legend=False, tile_size=256, max_pixels=10_000, video_masks=True, max_frames=3,
    ),
    ExportConfig(
        model="m.keras", format="saved_model", out="s", name="n", version=3,
        pad_to_multiple=8, opset=13, keep_mc_dropout=True,
    ),
]  # fmt: skip


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: type(c).__name__)
def test_config_round_trips_through_json(config, tmp_path):
    config.validate()
    again = type(config).from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config
    config.save(tmp_path / "c.json")
    assert type(config).load(tmp_path / "c.json") == config
    with pytest.raises(ValueError, match="'modle' \\(did you mean 'model'\\?\\)"):
        type(config).from_dict({**config.to_dict(), "modle": "m.keras"})


def test_required_fields_are_named():
    with pytest.raises(ValueError, match="missing config key\\(s\\) 'model', 'format'"):
        ExportConfig.from_dict({})


# (config, field, bad value, CLI arguments, the flag as the CLI names it)
EXPORT_TFLITE = ["export", "{model}", "--format", "tflite", "--out", "{out}"]
BAD = [
    (EvaluateConfig, "batch_size", 0, ["evaluate", "{model}", "--batch-size", "0"],
     "--batch-size 0"),
    (EvaluateConfig, "split", "tset", ["evaluate", "{model}", "--split", "tset"],
     "--split 'tset'"),
    (AdjustConfig, "taus", (-1.0,), ["adjust", "{model}", "--taus", "-1"], "--taus -1.0"),
    (AdjustConfig, "split", "test", ["adjust", "{model}", "--split", "test"], "never on test"),
    (PredictConfig, "alpha", 2.0,
     ["predict", "{model}", "{model}", "--out", "{out}", "--alpha", "2"], "--alpha 2.0"),
    (ExportConfig, "pad_to_multiple", 0, [*EXPORT_TFLITE, "--pad-to-multiple", "0"],
     "--pad-to-multiple 0"),
]  # fmt: skip
REQUIRED = {
    EvaluateConfig: {"model": "m.keras"},
    AdjustConfig: {"model": "m.keras"},
    PredictConfig: {"model": "m.keras", "inputs": ("a.png",), "out": "o"},
    ExportConfig: {"model": "m.keras", "format": "tflite"},
}


@pytest.mark.parametrize("cls, field, value, argv, flag", BAD, ids=lambda v: str(v)[:20])
def test_bad_values_are_refused_before_anything_is_written(
    cls, field, value, argv, flag, tiny_model_path, tmp_path, capsys
):
    with pytest.raises(ConfigError) as info:
        cls(**REQUIRED[cls], **{field: value}).validate()
    assert info.value.field == field and str(info.value).startswith(f"{field}=")
    out = tmp_path / "out"
    argv = [a.format(model=tiny_model_path, out=out) for a in argv]
    before = sorted(tiny_model_path.parent.iterdir())
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert flag in err and "is invalid" in err and "Traceback" not in err
    assert not out.exists() and sorted(tiny_model_path.parent.iterdir()) == before


def test_keep_mc_dropout_needs_saved_model_in_python_and_cli(tiny_model_path, tmp_path, capsys):
    config = ExportConfig(model=str(tiny_model_path), format="onnx", keep_mc_dropout=True)
    with pytest.raises(ConfigError, match="^keep_mc_dropout=True is invalid"):
        export(config)
    argv = ["export", str(tiny_model_path), "--format", "onnx", "--keep-mc-dropout"]
    assert main([*argv, "--out", str(tmp_path / "x")]) == 2
    assert "--keep-mc-dropout True is invalid" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@pytest.fixture
def synthetic_run(tmp_path):
    """A tiny untrained model in a run folder whose config.json names tiny synthetic data."""
    keras.utils.set_random_seed(0)
    run = tmp_path / "run"
    run.mkdir()
    TrainConfig(data="synthetic", synthetic_images=8, image_size=(32, 32), width=1 / 16).save(
        run / "config.json"
    )
    segnet_tf.get_model("segnet_basic", 6, width=1 / 16).save(run / "best.keras")
    return run


def test_evaluate_in_python_equals_the_cli(synthetic_run, tmp_path, capsys):
    model = synthetic_run / "best.keras"
    result = evaluate(EvaluateConfig(model=str(model), split="val", limit=2, output_dir="a"))
    assert (
        main(["evaluate", str(model), "--split", "val", "--limit", "2", "--output-dir", "b"]) == 0
    )
    cli_metrics = json.loads((synthetic_run.parent / "b" / "metrics.json").read_text())
    assert cli_metrics["confusion_matrix"] == result.metrics["confusion_matrix"]
    assert cli_metrics["mean_iou"] == result.metrics["mean_iou"]
    # The resolved config: the run's data settings filled in, loadable as it is.
    written = EvaluateConfig.load(result.paths["config"])
    assert written == result.config
    assert (written.data, written.split, written.image_size) == (
        "synthetic",
        "validation",
        (32, 32),
    )
    assert written.synthetic_images == 8 and written.seed == 0
    cli_config = EvaluateConfig.load(synthetic_run.parent / "b" / "eval_config.json")
    assert cli_config.to_dict() | {"output_dir": "a"} == written.to_dict() | {"output_dir": "a"}


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_adjust_in_python_equals_the_cli_and_recomputes_batch_norm(synthetic_run):
    model_path = synthetic_run / "best.keras"
    config = AdjustConfig(model=str(model_path), taus=(0.0, 1.0), limit=2, output="py.keras")
    result = adjust(config, verbose=0)
    assert [r["tau"] for r in result.sweep] == [0.0, 1.0]
    assert result.chosen_tau in (0.0, 1.0) and result.batch_norm_batches == 0
    assert AdjustConfig.load(result.paths["config"]) == result.config
    argv = ["adjust", str(model_path), "--taus", "0", "1", "--limit", "2", "--output", "cli.keras"]
    assert main(argv) == 0
    sweep = json.loads(result.paths["sweep"].read_text())  # the CLI's, same folder
    assert sweep["sweep"] == json.loads(json.dumps(result.sweep))

    def moving_means(model):
        return [
            np.array(layer.moving_mean)
            for layer in all_layers(model)
            if isinstance(layer, keras.layers.BatchNormalization)
        ]

    original = moving_means(keras.models.load_model(model_path))
    assert all(
        np.array_equal(a, b) for a, b in zip(original, moving_means(result.model), strict=True)
    )
    recomputed = adjust(
        AdjustConfig(model=str(model_path), taus=(0.0,), limit=1, recompute_batch_norm=3,
                     output="bn.keras"),
        verbose=0,
    )  # fmt: skip
    assert recomputed.batch_norm_batches == 3
    saved = moving_means(keras.models.load_model(recomputed.output))
    assert not np.allclose(original[0], saved[0])  # untrained stats (zeros) replaced


def test_predict_in_python_equals_the_cli(tiny_model_path, tmp_path, capsys):
    image = tmp_path / "i.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (20, 28, 3), dtype=np.uint8)).save(image)
    result = predict(PredictConfig(model=str(tiny_model_path), inputs=(image,), out="py"))
    assert result.images == [str(image)] and not result.failures
    assert main(["predict", str(tiny_model_path), str(image), "--out", "cli"]) == 0
    masks = []
    for folder in ("py", "cli"):
        with Image.open(tmp_path / folder / "i_mask.png") as mask:
            masks.append(np.asarray(mask))
    np.testing.assert_array_equal(*masks)
    written = PredictConfig.load(tmp_path / "py" / "predict_config.json")
    assert written == result.config and written.inputs == (str(image),)


def test_export_writes_its_resolved_config(tiny_model_path, tmp_path):
    result = export(ExportConfig(model=str(tiny_model_path), format="tflite", out="e"))
    assert result.path.resolve() == tmp_path / "e" / "segnet_basic.tflite"
    written = ExportConfig.load(tmp_path / "e" / "segnet_basic.tflite.config.json")
    assert written.name == "segnet_basic" and written == result.config


def test_one_split_table_and_a_registered_source_reaches_the_commands(tiny_model_path):
    assert normalize_split("val") == "validation" and set(SEGNET_LAYOUT) == {
        "train", "validation", "test"
    }  # fmt: skip
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        normalize_split("dev")

    def load_constant(split, **_):
        import tensorflow as tf

        from segnet_tf.classes import CAMVID_CLASSES

        image = np.full((1, 16, 16, 3), 100, np.uint8)
        mask = np.full((1, 16, 16, 1), 3, np.uint8)  # all road
        ds = tf.data.Dataset.from_tensor_slices({"image": image, "segmentation_mask": mask})
        return ds, CAMVID_CLASSES

    register_data_source(DataSource("constant_road", load_constant))
    try:
        assert "constant_road" in data_source_names()
        result = evaluate(
            EvaluateConfig(model=str(tiny_model_path), data="constant_road", output_dir="c"),
            verbose=0,
        )
        assert result.metrics["per_class"]["support"][3] == 16 * 16
        assert sum(result.metrics["per_class"]["support"]) == 16 * 16
    finally:
        from segnet_tf import data_sources

        data_sources._SOURCES.pop("constant_road")
