"""Exports and their runners refuse what they cannot answer, before anything is written.

Every format refuses images of another rank or channel count (the TFLite
interpreter used to answer them with a wrong-shaped result); `segnet evaluate` and
`segnet adjust` refuse a model whose class count is not the data's, naming both (they
used to write metrics under the wrong class names, or fail with a NumPy broadcast
error); an ONNX opset the models cannot be written in is refused before the
converter runs; a truncated `.tflite` file is an error message, not a crash.
"""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import segnet_tf
from segnet_tf.cli import main
from segnet_tf.commands import AdjustConfig, EvaluateConfig, ExportConfig, adjust, evaluate
from segnet_tf.config_fields import ConfigError
from segnet_tf.export import export_onnx, export_saved_model, export_tflite
from segnet_tf.export.input_checks import IMAGES_FORM
from segnet_tf.export.runners import ExportedModel
from segnet_tf.training import TrainConfig

# The synthetic data set has 6 classes.
SYNTHETIC_CLASSES = 6
WRONG_SHAPES = [
    (24, 32, 3),  # No batch dimension.
    (1, 1, 24, 32, 3),
    (1, 24, 32, 3, 1),
    (1, 24, 32, 1),
    (1, 24, 32, 4),
    (1, 0, 32, 3),
    (0, 24, 32, 3),
]
pytestmark = pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated:UserWarning")


def tiny(num_classes, seed=0):
    keras.utils.set_random_seed(seed)
    return segnet_tf.get_model("segnet_basic", num_classes, width=1 / 16)


def pixels(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """A 4-class and an 8-class model (the data has 6) in every format, in a run folder."""
    run = tmp_path_factory.mktemp("run")
    TrainConfig(data="synthetic", synthetic_images=8, image_size=(32, 32), width=1 / 16).save(
        run / "config.json"
    )
    paths = {}
    tiny(6).save(run / "k6.keras")  # the synthetic data's count
    paths["keras", 6] = run / "k6.keras"
    for classes in (4, 8):
        model = tiny(classes)
        model.save(run / f"k{classes}.keras")
        paths["keras", classes] = run / f"k{classes}.keras"
        paths["tflite", classes] = export_tflite(model, run / f"m{classes}.tflite")
        paths["onnx", classes] = export_onnx(model, run / f"m{classes}.onnx")
        paths["saved_model", classes] = export_saved_model(model, run / "serving", f"m{classes}")
    return paths


# --- One input check: every format refuses another shape, and keeps serving. ---


@pytest.mark.parametrize("shape", WRONG_SHAPES, ids=str)
def test_tflite_refuses_images_of_another_shape(exports, shape):
    interpreter = tf.lite.Interpreter(model_path=str(exports["tflite", 4]))
    runner = interpreter.get_signature_runner("serving_default")
    valid = pixels((1, 24, 32, 3))
    before = runner(images=valid)["probabilities"]
    with pytest.raises(RuntimeError, match="gather index out of bounds"):
        runner(images=np.zeros(shape, np.uint8))
    after = runner(images=valid)
    assert after["class_ids"].shape == (1, 24, 32)
    np.testing.assert_array_equal(after["probabilities"], before)


@pytest.mark.parametrize("shape", WRONG_SHAPES, ids=str)
def test_onnx_refuses_images_of_another_shape(exports, shape):
    ort = pytest.importorskip("onnxruntime")
    options = ort.SessionOptions()
    options.log_severity_level = 4  # The refusal is the test's; no error line on stderr.
    session = ort.InferenceSession(str(exports["onnx", 4]), options)
    with pytest.raises(Exception, match="INVALID_ARGUMENT"):
        session.run(None, {"images": np.zeros(shape, np.uint8)})
    ids, _ = session.run(None, {"images": pixels((1, 24, 32, 3))})
    assert ids.shape == (1, 24, 32)


@pytest.mark.parametrize("fmt", ["tflite", "onnx", "saved_model"])
def test_runners_refuse_images_of_another_shape_with_one_message(exports, fmt):
    runner = ExportedModel(exports[fmt, 4])
    assert runner.num_classes == 4
    for shape in WRONG_SHAPES:
        with pytest.raises(ValueError) as info:
            runner(np.zeros(shape, np.uint8))
        assert f"{IMAGES_FORM}; got shape {list(shape)}" in str(info.value)
    assert runner(pixels((2, 24, 32, 3))).shape == (2, 24, 32, 4)


# --- One class-count check: evaluate and adjust, every format, both ways. ---


@pytest.mark.parametrize("fmt", ["keras", "tflite", "onnx", "saved_model"])
@pytest.mark.parametrize("classes", [4, 8])
def test_evaluate_refuses_another_class_count_before_writing(exports, fmt, classes, capsys):
    model = exports[fmt, classes]
    out = model.parent / f"eval-{fmt}-{classes}"
    data = {"data": "synthetic", "synthetic_images": 8, "image_size": (32, 32)}
    with pytest.raises(ValueError) as info:
        evaluate(EvaluateConfig(model=str(model), **data, split="val", output_dir=str(out)))
    message = str(info.value)
    assert message.startswith(f"{model} predicts {classes} classes")
    assert f"the synthetic data's validation split has {SYNTHETIC_CLASSES}" in message
    assert not out.exists()
    argv = ["evaluate", str(model), "--data", "synthetic", "--synthetic-images", "8",
            "--image-size", "32", "32", "--split", "val", "--output-dir", str(out)]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"predicts {classes} classes" in err and "Traceback" not in err
    assert not out.exists()


def four_class_folder(root):
    """A folder data set of 4 classes (train, val and test: two 16x16 images each)."""
    from PIL import Image

    from segnet_tf.classes import ClassList

    rng = np.random.default_rng(0)
    for split in ("train", "val", "test"):
        (root / split).mkdir(parents=True)
        (root / f"{split}annot").mkdir()
        for i in range(2):
            Image.fromarray(pixels((16, 16, 3), seed=i)).save(root / split / f"{i}.png")
            ids = rng.integers(0, 4, (16, 16)).astype(np.uint8)
            Image.fromarray(ids).save(root / f"{split}annot" / f"{i}.png")
    classes = ClassList(["a", "b", "c", "d"], [(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255)])
    (root / "classes.json").write_text(classes.to_json())
    return root


@pytest.mark.parametrize("fmt", ["keras", "tflite", "onnx", "saved_model"])
def test_following_the_class_count_fix_scores_the_model(exports, fmt, tmp_path):
    # "score a model on the data (--data, --data-dir) it was trained for": 4 classes.
    data = four_class_folder(tmp_path / "four")
    out = tmp_path / "eval"
    argv = ["evaluate", str(exports[fmt, 4]), "--data", "folder", "--data-dir", str(data),
            "--split", "val", "--output-dir", str(out)]  # fmt: skip
    assert main(argv) == 0
    assert (out / "metrics.json").exists()


@pytest.mark.parametrize("classes", [4, 8])
def test_adjust_refuses_another_class_count_before_writing(exports, classes, capsys):
    model = exports["keras", classes]
    output = model.parent / f"adjusted{classes}.keras"
    config = AdjustConfig(model=str(model), taus=(0.0, 1.0), limit=1, output=str(output))
    with pytest.raises(ValueError, match=f"predicts {classes} classes but the synthetic data"):
        adjust(config, verbose=0)
    assert main(["adjust", str(model), "--limit", "1", "--output", str(output)]) == 2
    err = capsys.readouterr().err
    assert f"predicts {classes} classes" in err and "broadcast" not in err
    assert not output.exists() and not (model.parent / "logit_adjustment.json").exists()


def test_the_class_count_check_is_in_the_library_functions_too(exports):
    from segnet_tf.data import make_eval_pipeline
    from segnet_tf.data_sources import load_split
    from segnet_tf.training.evaluate import evaluate_model
    from segnet_tf.training.logit_adjustment import sweep_logit_adjustment

    dataset, data = load_split("synthetic", "validation", synthetic_images=8, image_size=(32, 32))
    batches = make_eval_pipeline(dataset.take(1), batch_size=1)
    exported = ExportedModel(exports["onnx", 8])
    with pytest.raises(ValueError, match=f"{exports['onnx', 8]} predicts 8 classes"):
        evaluate_model(exported, batches, data.num_classes, verbose=0)
    with pytest.raises(ValueError, match="model 'segnet_basic' predicts 4 classes"):
        sweep_logit_adjustment(tiny(4), batches, np.full(6, 1 / 6), 6, verbose=0)


# --- ONNX opsets and options of other formats: refused before anything is written. ---


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--format", "onnx", "--opset", "1"], "--opset 1 is invalid"),
        (["--format", "onnx", "--opset", "7"], "--opset 7 is invalid"),
        (["--format", "onnx", "--opset", "9"], "--opset 9 is invalid"),
        (["--format", "onnx", "--opset", "10"], "--opset 10 is invalid"),
        (["--format", "onnx", "--opset", "19"], "--opset 19 is invalid"),
        (["--format", "onnx", "--opset", "12", "--quantize", "int8", "--data", "synthetic"],
         "13 to 18 with --quantize int8"),
        (["--format", "tflite", "--version", "7"], "--version 7 is invalid"),
        (["--format", "onnx", "--version", "7"], "--version 7 is invalid"),
    ],
)  # fmt: skip
def test_export_options_that_cannot_work_are_refused_first(
    tiny_model_path, tmp_path, extra, needle, capsys
):
    out = tmp_path / "out"
    assert main(["export", str(tiny_model_path), *extra, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert not out.exists()


def test_export_onnx_refuses_an_opset_before_creating_anything(tmp_path):
    with pytest.raises(ValueError, match="opset from 11 to 18"):
        export_onnx(tiny(3), tmp_path / "out" / "m.onnx", opset=9)
    assert not (tmp_path / "out").exists()
    with pytest.raises(ConfigError, match="^opset=10 is invalid"):
        ExportConfig(model="m.keras", format="onnx", opset=10).validate()


@pytest.mark.parametrize("opset", [11, 18])
def test_the_lowest_and_highest_opsets_give_files_onnx_accepts(tmp_path, opset):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from segnet_tf.models import with_input_scale

    # The layout with the most op kinds: input scaling (Resize) and unpooling.
    model = with_input_scale(tiny(3), 0.5)
    path = export_onnx(model, tmp_path / "m.onnx", opset=opset)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    session = ort.InferenceSession(str(path))
    ids, _ = session.run(None, {"images": pixels((1, 24, 32, 3))})
    assert ids.shape == (1, 24, 32)


# --- A damaged .tflite file: a message, not a crash. ---


@pytest.mark.parametrize("keep", [0.5, 0.99, 0.0001])
def test_a_truncated_tflite_file_is_an_error_not_a_crash(exports, tmp_path, keep):
    data = exports["tflite", 4].read_bytes()
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(data[: max(int(len(data) * keep), 1)])
    # In a child process: on a crash the test fails instead of taking pytest down.
    process = subprocess.run(
        [sys.executable, "-m", "segnet_tf.cli", "evaluate", str(broken), "--data", "synthetic",
         "--split", "val", "--limit", "1", "--output-dir", str(tmp_path / "eval")],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=300,
    )  # fmt: skip
    assert process.returncode == 2, process.stderr[-2000:]
    last = process.stderr.strip().splitlines()[-1]
    assert last.startswith(f"segnet evaluate: error: {broken}: ")
    assert "export it again (segnet export --format tflite)" in last
    assert not (tmp_path / "eval").exists()
    # Followed: exported again, the file is evaluated.
    export = ["export", str(exports["keras", 6]), "--format", "tflite", "--out", str(tmp_path)]
    assert main([*export, "--name", "broken"]) == 0
    argv = ["evaluate", str(broken), "--data", "synthetic", "--synthetic-images", "8",
            "--image-size", "32", "32", "--split", "val", "--limit", "1",
            "--output-dir", str(tmp_path / "eval")]  # fmt: skip
    assert main(argv) == 0


def test_read_tflite_file_accepts_whole_models_only(exports, tmp_path):
    from segnet_tf.export.tflite import read_tflite_file

    data = exports["tflite", 4].read_bytes()
    assert read_tflite_file(exports["tflite", 4]) == data
    for name, content in [("empty", b""), ("random", os.urandom(4096)), ("cut", data[:-1])]:
        path = tmp_path / f"{name}.tflite"
        path.write_bytes(content)
        with pytest.raises(ValueError, match=f"^{path}: (not a TFLite model|truncated)"):
            read_tflite_file(path)
