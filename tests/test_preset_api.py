"""Presets as folders: save_to_preset / from_preset round trips, list_presets, errors."""

import json

import keras
import numpy as np
import pytest

import segnet_tf
from segnet_tf.classes import ClassList
from segnet_tf.inference import Segmenter
from segnet_tf.inference.domain import DomainDetector, encoder_model
from segnet_tf.models import FCN, SegmentationModel, SegNet, UNet
from segnet_tf.preset_folders import DOMAIN_FILE, METADATA_FILE, MODEL_FILE

CLASSES = ClassList(("road", "car", "other"), ((128, 64, 128), (64, 0, 128), (0, 0, 0)))


def tiny_segnet(**kwargs):
    keras.utils.set_random_seed(0)
    return SegNet(3, depth="basic", width=1 / 16, training_size=(24, 32), **kwargs)


@pytest.mark.parametrize(
    "build",
    [
        tiny_segnet,
        lambda: UNet(3, depth=2, width=1 / 16),
        lambda: FCN(3, stride=32, width=1 / 32, fc_filters=64),
    ],
    ids=["segnet", "unet", "fcn"],
)
def test_save_to_preset_and_from_preset_round_trip_exactly(tmp_path, build):
    model = build()
    folder = model.save_to_preset(tmp_path / "preset", classes=CLASSES)
    assert sorted(p.name for p in folder.iterdir()) == [METADATA_FILE, MODEL_FILE]
    loaded = type(model).from_preset(folder)
    assert type(loaded) is type(model)
    assert loaded.get_config() == model.get_config()
    for ours, theirs in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    images = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_array_equal(
        loaded.predict(images, verbose=0), model.predict(images, verbose=0)
    )
    # The base class loads any of the package's architectures.
    assert type(SegmentationModel.from_preset(folder)) is type(model)


def test_metadata_and_list_presets(tmp_path):
    model = tiny_segnet()
    scores = {"mean_iou": 0.5, "global_accuracy": 0.8}
    details = {"robustness": {"mean_share": 0.93}, "training": {"epochs": 3}}
    model.save_to_preset(
        tmp_path / "streets",
        classes=CLASSES,
        trained_with="segnet train ...",
        test_scores=scores,
        details=details,
    )
    tiny_segnet().save_to_preset(tmp_path / "other")
    (tmp_path / "not_a_preset").mkdir()
    presets = segnet_tf.list_presets(tmp_path)
    assert list(presets) == ["other", "streets"]
    metadata = presets["streets"]
    assert ClassList.from_dict(metadata["classes"]) == CLASSES
    assert metadata["training_size"] == [24, 32]
    assert metadata["trained_with"] == "segnet train ..."
    assert metadata["test_scores"] == scores
    assert metadata["model_class"] == "SegNet"
    assert metadata["parameters"] == model.count_params()
    assert metadata["domain_detector"] is None
    assert metadata["robustness"] == details["robustness"]
    assert metadata["training"] == details["training"]
    # Details may not overwrite what save_to_preset records itself.
    with pytest.raises(ValueError, match="parameters"):
        model.save_to_preset(tmp_path / "clash", details={"parameters": 1})
    assert not (tmp_path / "clash").exists()
    # Without a class list, a 3-class model gets generic names, one per output.
    assert presets["other"]["classes"]["names"] == ["class 0", "class 1", "class 2"]


def test_bundled_preset_is_listed_with_its_metadata():
    metadata = segnet_tf.list_presets()["camvid_segnet"]
    assert metadata["training_size"] == [360, 480]
    # Above the SegNet paper's SegNet-Basic (47.7 test mIoU), as README says.
    assert metadata["test_scores"]["mean_iou"] > 0.477
    assert metadata["domain_detector"] == DOMAIN_FILE


def test_segmenter_from_preset_gets_classes_training_size_and_detector(tmp_path):
    model = tiny_segnet()
    rng = np.random.default_rng(0)
    size = 2 * sum(int(t.shape[-1]) for t in encoder_model(model).outputs)
    detector = DomainDetector(
        np.zeros(size, np.float32), np.eye(size, dtype=np.float32), 1.0, (24, 32), {}
    )
    detector_file = detector.save(tmp_path / "best.domain.npz")
    folder = model.save_to_preset(tmp_path / "p", classes=CLASSES, domain_detector=detector_file)
    assert (folder / DOMAIN_FILE).read_bytes() == detector_file.read_bytes()
    assert json.loads((folder / METADATA_FILE).read_text())["domain_detector"] == DOMAIN_FILE
    segmenter = Segmenter.from_preset(folder)
    assert segmenter.classes == CLASSES
    assert segmenter.training_size == (24, 32)
    np.testing.assert_array_equal(segmenter.domain_detector.mean, detector.mean)
    rgb = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    probabilities = keras.ops.softmax(model(rgb[None].astype("float32")))[0]
    np.testing.assert_allclose(segmenter.predict(rgb).probabilities, probabilities, atol=1e-5)
    # Saving again without a detector removes the old one: no stale pairing.
    model.save_to_preset(folder)
    assert not (folder / DOMAIN_FILE).exists()
    assert Segmenter.from_preset(folder).domain_detector is None


def test_bundled_preset_through_segmenter_keeps_detector_and_training_size():
    segmenter = Segmenter.from_preset("camvid_segnet")
    assert segmenter.domain_detector is not None
    assert segmenter.training_size == (360, 480)
    assert type(SegNet.from_preset("camvid_segnet")) is SegNet


def test_bad_presets_give_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="is not a preset folder: expected a folder holding"):
        SegNet.from_preset(tmp_path)
    with pytest.raises(ValueError, match="Unknown preset 'nope'.*Available presets: camvid_segnet"):
        SegNet.from_preset("nope")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / MODEL_FILE).write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="cannot load the preset's model"):
        SegNet.from_preset(broken)
    UNet(3, depth=2, width=1 / 16).save_to_preset(tmp_path / "unet")
    with pytest.raises(ValueError, match="holds a UNet; expected a SegNet"):
        SegNet.from_preset(tmp_path / "unet")
    with pytest.raises(ValueError, match="ClassList of the model's 3 classes"):
        tiny_segnet().save_to_preset(
            tmp_path / "x", classes=ClassList(("a", "b"), ((0, 0, 0), (1, 1, 1)))
        )
