"""The out-of-domain detector: its fit, its file, `segnet calibrate`, and the preset's."""

import json

import numpy as np
import pytest
from fake_camvid import make_fake_camvid
from PIL import Image

import segnet_tf
from segnet_tf.classes import CAMVID_CLASSES
from segnet_tf.commands import (
    CalibrateConfig,
    ExportConfig,
    PredictConfig,
    calibrate,
    export,
    predict,
)
from segnet_tf.export.portable import portable_clone
from segnet_tf.inference import Segmenter
from segnet_tf.inference.domain import (
    DomainDetector,
    encoder_model,
    fit_domain_detector,
    pooled_feature_tensors,
)


def _gaussian(n, d, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    mixing = np.random.default_rng(99).normal(size=(d, d)) / np.sqrt(d)
    return rng.normal(size=(n, d)) @ mixing + shift


def test_fit_flags_what_is_far_from_the_training_features():
    train, val = _gaussian(400, 20, 0), _gaussian(100, 20, 1)
    detector = fit_domain_detector(train, val, (48, 64), margin=1.2)
    val_scores = detector.scores(val)
    assert detector.threshold == pytest.approx(1.2 * np.quantile(val_scores, 0.99))
    assert np.mean(detector.scores(_gaussian(200, 20, 2)) > detector.threshold) < 0.02
    assert np.all(detector.scores(_gaussian(50, 20, 3, shift=3.0)) > detector.threshold)
    # Correlated features: the whitening, not the raw distance, must carry the verdict.
    assert detector.info["train_frames"] == 400 and detector.info["val_frames"] == 100


def test_fit_refuses_what_it_cannot_use():
    with pytest.raises(ValueError, match="same D"):
        fit_domain_detector(np.zeros((5, 3)), np.zeros((5, 4)), (8, 8))
    with pytest.raises(ValueError, match="at least 2 training"):
        fit_domain_detector(np.zeros((1, 3)), np.zeros((5, 3)), (8, 8))
    with pytest.raises(ValueError, match="margin"):
        fit_domain_detector(np.zeros((5, 3)), np.zeros((5, 3)), (8, 8), margin=0.5)


def test_detector_file_round_trip_and_damaged_files(tmp_path):
    detector = fit_domain_detector(_gaussian(100, 6, 0), _gaussian(30, 6, 1), (48, 64))
    path = detector.save(tmp_path / "m.domain.npz")
    loaded = DomainDetector.load(path)
    features = _gaussian(10, 6, 5)
    np.testing.assert_allclose(loaded.scores(features), detector.scores(features), rtol=1e-5)
    assert loaded.threshold == detector.threshold and loaded.image_size == (48, 64)
    assert loaded.info == detector.info
    broken = tmp_path / "broken.domain.npz"
    broken.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="not a readable domain detector.*segnet calibrate"):
        DomainDetector.load(broken)
    with pytest.raises(ValueError, match="no such domain detector file"):
        DomainDetector.load(tmp_path / "missing.npz")


def test_tensorflow_and_numpy_scores_agree():
    detector = fit_domain_detector(_gaussian(100, 6, 0), _gaussian(30, 6, 1), (48, 64))
    features = _gaussian(10, 6, 5).astype(np.float32)
    np.testing.assert_allclose(
        detector.tf_scores(features).numpy(), detector.scores(features), rtol=1e-4
    )


@pytest.mark.parametrize(
    "name, pools", [("segnet_basic", 4), ("segnet", 5), ("unet", 4), ("fcn8s", 5)]
)
def test_every_model_family_has_encoder_poolings(name, pools):
    model = segnet_tf.get_model(
        name, 3, width=1 / 16, **({"fc_filters": 16} if "fcn" in name else {})
    )
    assert len(pooled_feature_tensors(model)) == pools
    # The exports' builtin-only copy pools with its own layer: the same statistics.
    if name.startswith("segnet"):
        clone = portable_clone(model)
        images = np.random.default_rng(0).uniform(0, 255, (1, 40, 56, 3)).astype("float32")
        original = [t.numpy() for t in encoder_model(model)(images)]
        copied = [t.numpy() for t in encoder_model(clone)(images)]
        for a, b in zip(original, copied, strict=True):
            np.testing.assert_allclose(a, b, atol=1e-5)


def test_a_detector_of_another_model_is_refused():
    model = segnet_tf.get_model("segnet_basic", 3, width=1 / 16, training_size=(48, 64))
    detector = fit_domain_detector(_gaussian(50, 6, 0), _gaussian(10, 6, 1), (48, 64))
    with pytest.raises(ValueError, match="describes images with 6 encoder statistics"):
        Segmenter(model, domain_detector=detector)


@pytest.fixture(scope="module")
def calibrated_run(tmp_path_factory):
    """A tiny model with a training size, a fake CamVid folder and its fitted detector."""
    root = tmp_path_factory.mktemp("calibrated")
    data_dir = root / "data"
    make_fake_camvid(data_dir, {"train": 8, "validation": 4, "test": 1}, size=(48, 64))
    (data_dir / "classes.json").write_text(CAMVID_CLASSES.to_json())
    model = segnet_tf.get_model("segnet_basic", 11, width=1 / 16, training_size=(48, 64))
    model_path = root / "model.keras"
    model.save(model_path)
    result = calibrate(
        CalibrateConfig(model=str(model_path), data="folder", data_dir=str(data_dir)), verbose=0
    )
    return model_path, data_dir, result


def test_calibrate_writes_a_detector_beside_the_model(calibrated_run):
    model_path, data_dir, result = calibrated_run
    assert result.path == model_path.with_name("model.domain.npz") and result.path.is_file()
    info = result.detector.info
    # 8 frames x (itself, mirrored, 2 shifted) and 4 x (itself, 2 shifted).
    assert (info["train_frames"], info["val_frames"]) == (32, 12)
    assert result.detector.threshold == pytest.approx(1.2 * info["val_score_p99"])
    written = json.loads(model_path.with_name("model.domain.config.json").read_text())
    assert written["data"] == "folder" and written["shifted_copies"] == 2
    segmenter = Segmenter.from_file(model_path)
    assert segmenter.domain_detector is not None
    frame = np.asarray(Image.open(next((data_dir / "val").iterdir())))
    result = segmenter.predict(frame)
    assert result.domain_score == pytest.approx(segmenter.domain_score(frame), rel=1e-5)
    assert result.out_of_domain == (result.domain_score > segmenter.domain_detector.threshold)


def test_calibrate_needs_a_training_size(tmp_path, calibrated_run):
    _, data_dir, _ = calibrated_run
    path = tmp_path / "plain.keras"
    segnet_tf.get_model("segnet_basic", 11, width=1 / 16).save(path)
    config = CalibrateConfig(model=str(path), data="folder", data_dir=str(data_dir))
    with pytest.raises(ValueError, match="records none"):
        calibrate(config, verbose=0)
    assert not path.with_name("plain.domain.npz").exists()
    sized = CalibrateConfig(
        model=str(path), data="folder", data_dir=str(data_dir), training_size=(48, 64), limit=3
    )
    assert calibrate(sized, verbose=0).detector.image_size == (48, 64)


def test_predict_writes_the_verdict_per_file(calibrated_run, tmp_path):
    model_path, data_dir, _ = calibrated_run
    frames = sorted((data_dir / "val").iterdir())[:2]
    result = predict(
        PredictConfig(model=str(model_path), inputs=tuple(map(str, frames)), out=str(tmp_path)),
        verbose=False,
    )
    assert not result.failures
    summary = json.loads((tmp_path / f"{frames[0].stem}.json").read_text())
    assert summary["scale"] == "training" and summary["training_size"] == [48, 64]
    assert summary["size"] == [48, 64] and isinstance(summary["domain_score"], float)
    assert summary["out_of_domain"] == (summary["domain_score"] > summary["domain_threshold"])
    assert sum(summary["class_shares"].values()) == pytest.approx(1.0)


# The bundled preset's detector (fitted by `segnet calibrate camvid_segnet` on CamVid).


@pytest.fixture(scope="module")
def preset():
    return Segmenter.from_preset("camvid_segnet")


def test_preset_ships_its_training_size_and_detector(preset):
    assert preset.training_size == (360, 480)
    assert preset.domain_detector is not None and preset.domain_detector.image_size == (360, 480)


def test_preset_flags_a_cat_and_a_test_card(preset):
    skimage_data = pytest.importorskip("skimage.data")
    cat = preset.predict(skimage_data.chelsea(), probabilities=False)
    assert cat.out_of_domain and cat.domain_score > preset.domain_detector.threshold
    card = np.zeros((480, 640, 3), np.uint8)
    card[:] = (40, 200, 60)
    assert preset.predict(card, probabilities=False).out_of_domain


def test_preset_keeps_camvid_frames_in_domain(preset):
    from segnet_tf.data import find_camvid_dir

    folder = find_camvid_dir()
    if folder is None:
        pytest.skip("CamVid not found")
    from pathlib import Path

    frames = sorted((Path(folder) / "test").glob("*.png"))[::40]
    for path in frames:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        assert not preset.predict(rgb, probabilities=False).out_of_domain, path
        # A 4x photo of the same view is brought to the same scale: same verdict.
        big = np.asarray(Image.fromarray(rgb).resize((1920, 1440), Image.Resampling.BICUBIC))
        assert not preset.predict(big, probabilities=False).out_of_domain, path


def test_every_path_gives_the_same_size_scale_and_verdict(calibrated_run, tmp_path):
    """Python, the CLI's JSON, SavedModel, TFLite and ONNX on the same photos."""
    import onnxruntime
    import tensorflow as tf

    model_path, data_dir, _ = calibrated_run
    segmenter = Segmenter.from_file(model_path)
    frame = np.asarray(Image.open(sorted((data_dir / "val").iterdir())[0]).convert("RGB"))
    photos = {
        "enlarged": np.asarray(Image.fromarray(frame).resize((256, 192), Image.BICUBIC)),
        "card": np.full((90, 70, 3), (40, 200, 60), np.uint8),
    }
    exported = {
        fmt: export(ExportConfig(model=str(model_path), format=fmt, out=str(tmp_path / fmt))).path
        for fmt in ("saved_model", "tflite", "onnx")
    }
    serving = tf.saved_model.load(str(exported["saved_model"])).signatures["serving_default"]
    tflite = tf.lite.Interpreter(model_path=str(exported["tflite"]))
    tflite_run = tflite.get_signature_runner("serving_default")
    session = onnxruntime.InferenceSession(str(exported["onnx"]))
    names = [output.name for output in session.get_outputs()]

    def onnx_run(images):
        outputs = session.run(None, {session.get_inputs()[0].name: images})
        return {
            next(k for k in ("class_ids", "domain_score", "out_of_domain") if k in n): v
            for n, v in zip(names, outputs, strict=True)
            if "probabilities" not in n
        }

    for label, photo in photos.items():
        path = tmp_path / f"{label}.png"
        Image.fromarray(photo).save(path)
        expected = segmenter.predict(photo, probabilities=False)
        assert expected.scale == "training" and expected.mask.shape == photo.shape[:2]
        assert expected.network_size == segmenter.network_size(*photo.shape[:2]) != photo.shape[:2]
        predict(
            PredictConfig(model=str(model_path), inputs=(str(path),), out=str(tmp_path / label)),
            verbose=False,
        )
        cli = json.loads((tmp_path / label / f"{label}.json").read_text())
        assert cli["network_size"] == list(expected.network_size)
        assert cli["out_of_domain"] == expected.out_of_domain
        batch = photo[None]
        runs = {
            "saved_model": {k: v.numpy() for k, v in serving(images=tf.constant(batch)).items()},
            "tflite": tflite_run(images=batch),
            "onnx": onnx_run(batch),
        }
        for fmt, out in runs.items():
            assert out["class_ids"].shape == (1, *photo.shape[:2]), fmt
            assert np.mean(out["class_ids"][0] == expected.mask) > 0.98, fmt
            assert float(out["domain_score"][0]) == pytest.approx(expected.domain_score, rel=1e-4)
            assert bool(out["out_of_domain"][0]) == expected.out_of_domain, fmt
