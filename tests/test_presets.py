"""The bundled CamVid models: present, loadable without training, float32, CamVid classes."""

import json

import numpy as np
import pytest

from segnet_tf.data import CAMVID_CLASSES
from segnet_tf.inference import PRESETS_DIR, Segmenter, list_presets

# Every preset the package ships, with its model.json; each is checked alike.
METADATA = list_presets()
BUNDLED = sorted(METADATA)


def test_the_documented_presets_are_bundled():
    assert {"camvid_segnet", "camvid_segnet_robust", "camvid_unet_robust"} <= set(BUNDLED)


@pytest.fixture(scope="module", params=BUNDLED)
def preset(request):
    """A bundled preset's name and its Segmenter, loaded once for the tests that use it."""
    return request.param, Segmenter.from_preset(request.param)


@pytest.mark.parametrize("name", BUNDLED)
def test_preset_is_bundled_with_its_provenance(name):
    metadata = METADATA[name]
    assert metadata["classes"]["names"] == list(CAMVID_CLASSES.names)
    assert metadata["trained_with"]
    assert set(metadata["test_scores"]) == {
        "global_accuracy",
        "class_average_accuracy",
        "mean_iou",
        "boundary_f1",
    }
    # The detector's record names this preset's own files (not a staging folder's).
    calibration = json.loads((PRESETS_DIR / name / "model.domain.config.json").read_text())
    assert calibration["model"] == f"segnet_tf/presets/{name}/model.keras"
    # A few MB, as a package file should be.
    assert (PRESETS_DIR / name / "model.keras").stat().st_size < 20e6


def test_preset_segments_a_street_scene(preset):
    _, segmenter = preset
    assert all(w.dtype == "float32" for w in segmenter.model.weights)
    assert segmenter.classes == CAMVID_CLASSES
    # A synthetic street: grey sky above, dark road below.
    image = np.zeros((90, 120, 3), "uint8")
    image[:45] = (200, 200, 205)
    image[45:] = (70, 65, 75)
    result = segmenter.predict(image)
    # Each preset carries a domain detector fitted on its own network.
    assert segmenter.domain_detector is not None and result.out_of_domain is not None
    assert result.mask.shape == (90, 120)
    assert result.probabilities.shape == (90, 120, CAMVID_CLASSES.num_classes)
    np.testing.assert_allclose(result.probabilities.sum(-1), 1.0, atol=1e-4)


def test_preset_scores_on_camvid_test_frames(preset):
    """Guards against a broken preset (wrong weights or preprocessing): on a few test
    frames its pixel accuracy must be of the order it recorded on the whole split."""

    from segnet_tf.data import camvid_split_pairs, find_camvid_dir
    from segnet_tf.metrics import SegmentationEvaluator

    data_dir = find_camvid_dir()
    if not data_dir:
        pytest.skip("CamVid not found (SEGNET_CAMVID_DIR unset, none beside the checkout)")
    from PIL import Image

    name, segmenter = preset
    recorded = METADATA[name]["test_scores"]
    evaluator = SegmentationEvaluator(11, ignore_class=11, boundary=False)
    for image_path, mask_path in camvid_split_pairs(data_dir, "test")[::50]:
        result = segmenter.predict(image_path, probabilities=False)
        evaluator.update(np.array(Image.open(mask_path))[None], result.mask[None])
    # Random weights score about 1/11; the recorded figure is over all 233 frames.
    assert evaluator.result()["global_accuracy"] > 0.6 * recorded["global_accuracy"]
