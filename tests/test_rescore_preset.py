"""scripts/rescore_preset.py records a preset's scores, with and without its logit offsets."""

import json

import numpy as np
import pytest
from data_fixtures import script_main
from fake_camvid import make_fake_camvid

import segnet_tf
from segnet_tf.classes import CAMVID_CLASSES
from segnet_tf.models import SegNet


def _rescore():
    return script_main("rescore_preset")


@pytest.fixture
def preset_and_data(tmp_path):
    data_dir = tmp_path / "data"
    make_fake_camvid(data_dir, {"train": 1, "validation": 1, "test": 3}, size=(48, 64))
    (data_dir / "classes.json").write_text(CAMVID_CLASSES.to_json())
    # Offsets so large that they decide every pixel: the adjusted model predicts class 2.
    offsets = np.full(11, -50.0)
    offsets[2] = 50.0
    model = segnet_tf.get_model(
        "segnet_basic", 11, width=1 / 16, class_logit_offsets=list(offsets), training_size=(48, 64)
    )
    folder = model.save_to_preset(
        tmp_path / "tiny", classes=CAMVID_CLASSES, details={"robustness": {"old": True}}
    )
    return folder, data_dir


def test_rescore_records_both_scores_per_class_and_robustness(preset_and_data, tmp_path):
    folder, data_dir = preset_and_data
    (tmp_path / "robustness.json").write_text(json.dumps({"mean_share": 0.9}))
    work = tmp_path / "work"
    args = [str(folder), "--data", "folder", "--data-dir", str(data_dir), "--work-dir", str(work)]
    assert _rescore()([*args, "--robustness", str(tmp_path / "robustness.json")]) == 0
    metadata = json.loads((folder / "model.json").read_text())
    adjusted = json.loads((work / "eval-test" / "metrics.json").read_text())
    unadjusted = json.loads((work / "eval-test-unadjusted" / "metrics.json").read_text())
    assert metadata["test_scores"]["mean_iou"] == adjusted["mean_iou"]
    assert metadata["test_scores_unadjusted"]["mean_iou"] == unadjusted["mean_iou"]

    # The adjusted model predicts Pole everywhere: no other class is ever recalled; the
    # network without its offsets recalls some.
    def recalled(metrics):
        recall = metrics["per_class"]["accuracy"]
        return {name for name, r in zip(CAMVID_CLASSES.names[:11], recall, strict=True) if r}

    assert recalled(adjusted) <= {"Pole"} and recalled(unadjusted) - {"Pole"}
    assert metadata["test_per_class_iou"]["Pole"] == adjusted["per_class"]["iou"][2]
    assert metadata["robustness"] == {"mean_share": 0.9}
    # The rest of model.json is kept, and the model file loads as before.
    assert metadata["logit_offsets"][2] == 50.0
    assert SegNet.from_preset(folder).class_logit_offsets[2] == 50.0


def test_rescore_refuses_a_folder_that_is_not_a_preset(tmp_path):
    with pytest.raises((SystemExit, ValueError), match="preset"):
        _rescore()([str(tmp_path), "--data-dir", str(tmp_path), "--work-dir", str(tmp_path / "w")])
