"""Camera-robust augmentation (segnet_tf.data.camera_augment): draws within the ranges
of segnet_tf.data.camera_shifts, each op as its NumPy reference, masks untouched, and
a stream that is a deterministic function of the seed (so a resumed run reads the
batches the uninterrupted one would)."""

import dataclasses
import json

import numpy as np
import pytest
import tensorflow as tf
from scipy import ndimage

from segnet_tf.commands import TrainConfig
from segnet_tf.config_fields import ConfigError
from segnet_tf.data import camera_augment as ca
from segnet_tf.data import camera_shifts, make_training_pipeline, synthetic_dataset

RNG = np.random.default_rng(0)
IMAGE = RNG.integers(20, 236, (24, 32, 3)).astype(np.uint8)


def _identity(**changes) -> ca.CameraShift:
    shift = ca.CameraShift(
        gains=tf.ones([3]),
        exposure=tf.constant(1.0),
        gamma=tf.constant(1.0),
        saturation=tf.constant(1.0),
        noise_sigma=tf.constant(0.0),
        blur_sigma=tf.constant(0.0),
        jpeg_quality=tf.constant(0),
    )
    return shift._replace(**{k: tf.constant(v) for k, v in changes.items()})


def _apply(image, seed=(1, 2), **changes) -> np.ndarray:
    x = tf.constant(image, tf.float32)
    return ca.apply_camera_shift(x, _identity(**changes), tf.constant(seed)).numpy()


@pytest.fixture(scope="module")
def draws() -> dict[str, np.ndarray]:
    """The shifts of 400 seeds, drawn in a map (one graph, not 400 eager calls)."""
    seeds = tf.data.Dataset.range(400).map(lambda i: tf.stack([i, 7 * i + 3]))
    shifts = seeds.map(lambda s: ca.draw_camera_shift(s)._asdict()).batch(400)
    return {k: v.numpy() for k, v in next(iter(shifts)).items()}


IDENTITY_AND_RANGE = {
    "gains": (1.0, ca.GAIN_RANGE),
    "exposure": (1.0, ca.EXPOSURE_RANGE),
    "gamma": (1.0, ca.GAMMA_RANGE),
    "saturation": (1.0, ca.SATURATION_RANGE),
    "noise": (0.0, (0.0, ca.NOISE_SIGMA_MAX)),
    "blur": (0.0, ca.BLUR_SIGMA_RANGE),
    "jpeg": (0, ca.JPEG_QUALITY_RANGE),
}
FIELD = {"noise": "noise_sigma", "blur": "blur_sigma", "jpeg": "jpeg_quality"}


@pytest.mark.parametrize("name", list(IDENTITY_AND_RANGE))
def test_draws_stay_in_the_ranges_of_camera_shifts_with_their_probability(draws, name):
    identity, (low, high) = IDENTITY_AND_RANGE[name]
    values = draws[FIELD.get(name, name)].reshape(400, -1)
    drawn = np.any(values != identity, axis=1)
    # Each drawn value lies in the documented range; a shift not drawn is the identity.
    assert np.all((values[drawn] >= low) & (values[drawn] <= high))
    assert np.all(values[~drawn] == identity)
    # 400 draws: the share is within 4 standard deviations of the probability.
    p = ca.PROBABILITY[name]
    assert abs(drawn.mean() - p) < 4 * np.sqrt(p * (1 - p) / 400)
    # The range is used, not one corner of it.
    spread = values[drawn].max() - values[drawn].min()
    assert spread > 0.8 * (high - low)


def test_camera_shifts_module_and_this_one_name_the_same_ranges():
    doc = camera_shifts.random_camera_shift.__doc__
    for low, high in (ca.GAIN_RANGE, ca.EXPOSURE_RANGE, ca.GAMMA_RANGE, ca.SATURATION_RANGE):
        assert f"{low:g}-{high:g}" in doc
    assert f"noise up to {ca.NOISE_SIGMA_MAX:g} levels" in doc
    assert "{:g}-{:g} px".format(*ca.BLUR_SIGMA_RANGE) in doc
    assert "quality {}-{}".format(*ca.JPEG_QUALITY_RANGE) in doc


@pytest.mark.parametrize(
    "changes, reference",
    [
        ({"gains": [1.1, 1.0, 0.87]}, lambda x: camera_shifts.channel_gains(x, (1.1, 1.0, 0.87))),
        ({"exposure": 0.6}, lambda x: camera_shifts.exposure(x, 0.6)),
        ({"exposure": 1.4}, lambda x: camera_shifts.exposure(x, 1.4)),
        ({"gamma": 1.25}, lambda x: camera_shifts.gamma(x, 1.25)),
        ({"saturation": 0.7}, lambda x: camera_shifts.saturation(x, 0.7)),
    ],
)
def test_colour_shifts_match_the_numpy_reference(changes, reference):
    out = _apply(IMAGE, **changes)
    # The reference rounds to whole grey levels; the training image stays float.
    np.testing.assert_allclose(out, reference(IMAGE), atol=0.51)
    assert np.abs(out - IMAGE).max() > 5


@pytest.mark.parametrize("sigma", [0.3, 0.8, 1.5])
def test_blur_is_a_gaussian_with_repeated_edges(sigma):
    out = _apply(IMAGE, blur_sigma=sigma)
    expected = ndimage.gaussian_filter(
        IMAGE.astype(np.float64), (sigma, sigma, 0), mode="nearest", truncate=ca.BLUR_RADIUS / sigma
    )
    np.testing.assert_allclose(out, expected, atol=1e-3)
    flat = _apply(np.full((6, 7, 3), 90, np.uint8), blur_sigma=1.5)
    np.testing.assert_allclose(flat, 90.0, atol=1e-3)  # No dark border.


def test_jpeg_is_deterministic_and_lower_quality_loses_more():
    smooth = ndimage.gaussian_filter(IMAGE.astype(np.float32), (1, 1, 0))
    low, again = _apply(smooth, jpeg_quality=25), _apply(smooth, jpeg_quality=25)
    np.testing.assert_array_equal(low, again)
    high = _apply(smooth, jpeg_quality=95)
    assert np.abs(low - smooth).mean() > np.abs(high - smooth).mean() > 0
    np.testing.assert_array_equal(low, np.round(low))  # Decoded whole grey levels.


def test_noise_has_its_sigma_and_follows_the_seed():
    grey = np.full((64, 64, 3), 128, np.uint8)
    a, b = _apply(grey, seed=(3, 4), noise_sigma=8.0), _apply(grey, seed=(3, 4), noise_sigma=8.0)
    np.testing.assert_array_equal(a, b)
    assert abs((a - 128).std() - 8.0) < 0.3
    assert not np.array_equal(a, _apply(grey, seed=(3, 5), noise_sigma=8.0))


def test_identity_shift_leaves_the_image():
    np.testing.assert_allclose(_apply(IMAGE), IMAGE, atol=1e-3)


def _batches(seed=1, camera=True, n=2):
    ds = synthetic_dataset(8, size=(40, 48), seed=0)
    pipeline = make_training_pipeline(
        ds, (32, 40), batch_size=4, seed=seed, void_id=6, camera_augment=camera, repeat=True
    )
    return [(x.numpy(), y.numpy()) for x, y in pipeline.take(n)]


def test_pipeline_is_deterministic_and_leaves_masks_alone():
    first, second = _batches(), _batches()
    plain = _batches(camera=False)
    changed = []
    for (x1, y1), (x2, y2), (x0, y0) in zip(first, second, plain, strict=True):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
        np.testing.assert_array_equal(y1, y0)  # Same crops and flips, same labels.
        assert x1.min() >= 0.0 and x1.max() <= 255.0
        changed += list(np.abs(x1 - x0).reshape(4, -1).max(axis=1))
    assert np.mean(np.asarray(changed) > 1.0) > 0.5  # Most images shifted.
    other = _batches(seed=2)
    assert not np.array_equal(first[0][0], other[0][0])


def test_camera_augment_needs_the_augmentation():
    with pytest.raises(ValueError, match="camera_augment=True needs augment=True"):
        make_training_pipeline(synthetic_dataset(4, size=(16, 16)), (16, 16), augment=False,
                               camera_augment=True)  # fmt: skip
    with pytest.raises(ConfigError, match="camera_augment=True is invalid"):
        TrainConfig(data="synthetic", augment=False, camera_augment=True).validate()


def test_resumed_stream_reads_the_batches_of_the_uninterrupted_one(tmp_path):
    import keras

    from segnet_tf.training.trainer import prepare_data, training_stream

    config = TrainConfig(
        data="synthetic",
        synthetic_images=8,
        image_size=(32, 32),
        batch_size=2,
        steps_per_epoch=3,
        camera_augment=True,
        run_dir=str(tmp_path),
    )
    keras.utils.set_random_seed(config.seed)
    data = prepare_data(config)
    full = [x.numpy() for x, _ in training_stream(config, data).take(7)]
    keras.utils.set_random_seed(config.seed)
    tail = [x.numpy() for x, _ in training_stream(config, data, skip_steps=4).take(3)]
    for a, b in zip(full[4:], tail, strict=True):
        np.testing.assert_array_equal(a, b)
    plain = training_stream(dataclasses.replace(config, camera_augment=False), data)
    assert not np.array_equal(full[0], next(iter(plain))[0].numpy())


def test_the_flag_reaches_the_run_and_its_config_json(tmp_path, capsys):
    from segnet_tf.cli import main

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "--camera-augment" in capsys.readouterr().out
    run_dir = tmp_path / "run"
    args = [
        "train", "--data", "synthetic", "--synthetic-images", "4", "--image-size", "32", "32",
        "--width", "0.0625", "--batch-size", "2", "--steps-per-epoch", "1", "--epochs", "1",
        "--camera-augment", "--run-dir", str(run_dir),
    ]  # fmt: skip
    assert main(args) == 0
    assert json.loads((run_dir / "config.json").read_text())["camera_augment"] is True
    assert TrainConfig().camera_augment is False  # Earlier runs resume unchanged.
