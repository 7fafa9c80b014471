"""scripts/make_preset.py rebuilds a run's model from the model's own config, in float32."""

import json

import keras
import numpy as np
from data_fixtures import script_main

from segnet_tf.models import SegNet
from segnet_tf.training import TrainConfig


def _make_preset():
    return script_main("make_preset")


def test_preset_is_the_trained_model_in_float32(tmp_path, dtype_policy):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    # The config.json says nothing of the input scale or offsets: they come from the model.
    TrainConfig(model="segnet_basic", width=1 / 16, data="synthetic").save(run_dir / "config.json")
    (run_dir / "classes.json").write_text(
        json.dumps({"names": ["a", "b", "c"], "colors": [[0, 0, 0], [1, 1, 1], [2, 2, 2]]})
    )
    dtype_policy("mixed_bfloat16")
    trained = SegNet(
        3,
        depth="basic",
        width=1 / 16,
        input_scale=0.5,
        class_logit_offsets=[0.25, 0.0, -0.25],
        name="segnet_basic",
    )
    trained.save(run_dir / "best.keras")
    dtype_policy("float32")

    out = tmp_path / "presets"
    assert _make_preset()([str(run_dir), "--name", "tiny", "--output-dir", str(out)]) == 0
    preset = keras.saving.load_model(out / "tiny" / "model.keras")
    assert type(preset) is SegNet
    # A model saved before models recorded their training frame size gets the run's.
    expected = {**trained.get_config(), "dtype": "float32", "training_size": [360, 480]}
    assert preset.get_config() == expected
    assert {layer.compute_dtype for layer in preset.layers} == {"float32"}
    for ours, theirs in zip(preset.get_weights(), trained.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    metadata = json.loads((out / "tiny" / "model.json").read_text())
    assert (metadata["input_scale"], metadata["logit_offsets"]) == (0.5, [0.25, 0.0, -0.25])
    assert metadata["model_config"] == preset.get_config()
    assert metadata["train_config"]["model"] == "segnet_basic"
    assert metadata["classes"]["names"] == ["a", "b", "c"]
    assert metadata["training_size"] == [360, 480]
    # The folder is a preset: SegNet.from_preset loads exactly the same model.
    loaded = SegNet.from_preset(out / "tiny")
    assert loaded.get_config() == preset.get_config()
