"""Keras metrics: agreement with the numpy functions inside compile/evaluate."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from segnet_tf.metrics import (
    BoundaryF1,
    ClassAverageAccuracy,
    ConfusionMatrixMetric,
    GlobalAccuracy,
    MeanIoU,
    boundary_f1,
    confusion_matrix,
    scores_from_confusion,
)

K, VOID = 4, 4


def _data(seed=0, n=6, h=12, w=16):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, h, w, 3)).astype("float32")
    # Blocky labels so that boundaries are meaningful, plus void pixels.
    y = rng.integers(0, K, (n, h // 4, w // 4)).repeat(4, axis=1).repeat(4, axis=2)
    y[:, 0, :] = VOID
    return x, y.astype("int32")


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((None, None, 3))
    outputs = keras.layers.Conv2D(K, 3, padding="same")(inputs)
    return keras.Model(inputs, outputs)


LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=VOID)


def _metrics():
    return [
        GlobalAccuracy(K, ignore_class=VOID),
        ClassAverageAccuracy(K, ignore_class=VOID),
        MeanIoU(K, ignore_class=VOID),
        BoundaryF1(K, ignore_class=VOID),
    ]


def _expected(model, x, y):
    pred = np.argmax(model.predict(x, verbose=0), axis=-1)
    s = scores_from_confusion(confusion_matrix(y, pred, K, ignore_class=VOID))
    s["boundary_f1"] = boundary_f1(y, pred, K, ignore_class=VOID)
    return s


@pytest.mark.parametrize("label_rank", [3, 4])
def test_evaluate_matches_numpy(label_rank):
    x, y = _data()
    model = _model()
    model.compile(loss=LOSS, metrics=_metrics(), jit_compile=False)
    labels = y if label_rank == 3 else y[..., None]
    got = model.evaluate(x, labels, batch_size=4, verbose=0, return_dict=True)
    want = _expected(model, x, y)
    for key in ("global_accuracy", "class_average_accuracy", "mean_iou", "boundary_f1"):
        assert got[key] == pytest.approx(want[key], abs=1e-6), key
    # The random model must not be trivially perfect, or agreement proves little.
    assert 0.0 < want["mean_iou"] < 0.9 and 0.0 < want["boundary_f1"] < 0.99


def test_fit_runs_in_graph_mode_and_resets():
    x, y = _data(1)
    model = _model(1)
    model.compile(
        optimizer="adam",
        loss=LOSS,
        metrics=_metrics(),
        jit_compile=False,
    )
    history = model.fit(x, y, batch_size=3, epochs=2, verbose=0, validation_data=(x, y))
    assert len(history.history["val_mean_iou"]) == 2
    assert all(0.0 <= v <= 1.0 for v in history.history["boundary_f1"])
    # Validation scores of the last epoch equal the final model's numpy scores.
    want = _expected(model, x, y)
    assert history.history["val_mean_iou"][-1] == pytest.approx(want["mean_iou"], abs=1e-6)


def test_confusion_metrics_compile_under_xla():
    x, y = _data(2)
    model = _model(2)
    metrics = [GlobalAccuracy(K, ignore_class=VOID), MeanIoU(K, ignore_class=VOID)]
    model.compile(loss=LOSS, metrics=metrics, jit_compile=True)
    got = model.evaluate(x, y, batch_size=3, verbose=0, return_dict=True)
    assert got["mean_iou"] == pytest.approx(_expected(model, x, y)["mean_iou"], abs=1e-6)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_reduced_precision_logits(dtype):
    y = np.array([[[0, 1], [2, VOID]]], dtype="int32")
    logits = tf.cast(tf.one_hot([[[0, 1], [1, 3]]], K) * 5.0, dtype)
    m = MeanIoU(K, ignore_class=VOID)
    m.update_state(y, logits)
    # Pixels: (0,0) ok, (1,1) ok, (2 -> 1) wrong, void ignored.
    # IoU: class0 1, class1 1/2, class2 0 (class 3 absent).
    assert float(m.result()) == pytest.approx((1 + 0.5 + 0) / 3)
    np.testing.assert_allclose(m.per_class_iou(), [1.0, 0.5, 0.0, np.nan])
    bf = BoundaryF1(K, ignore_class=VOID)
    bf.update_state(y, logits)
    assert 0.0 <= float(bf.result()) <= 1.0


def test_hand_case_and_reset():
    y = np.array([[[0, 0, 255], [1, 1, -1]]])  # 255 and -1 are out of range: void
    pred = np.array([[[0, 1, 0], [1, 1, 0]]])
    g = GlobalAccuracy(2)
    c = ClassAverageAccuracy(2)
    for m in (g, c):
        m.update_state(y, pred)
    assert float(g.result()) == pytest.approx(3 / 4)
    assert float(c.result()) == pytest.approx((1 / 2 + 1) / 2)
    np.testing.assert_array_equal(g.confusion_matrix(), [[1, 1], [0, 2]])
    g.reset_state()
    assert float(g.result()) == 0.0


def test_sample_weight_ignored_unless_requested():
    y = np.array([[[0, 1]]])
    pred = np.array([[[0, 0]]])
    weights = np.array([[[1.0, 3.0]]])
    plain = GlobalAccuracy(2)
    plain.update_state(y, pred, sample_weight=weights)
    assert float(plain.result()) == pytest.approx(0.5)
    weighted = GlobalAccuracy(2, use_sample_weight=True)
    weighted.update_state(y, pred, sample_weight=weights)
    assert float(weighted.result()) == pytest.approx(0.25)


def test_counts_accumulate_in_float64():
    m = ConfusionMatrixMetric(2)
    assert m.total_cm.dtype == "float64"
    big = np.zeros((1, 1, 2**24 + 1), dtype="int32")
    m.update_state(big, big)
    assert m.confusion_matrix()[0, 0] == 2**24 + 1


@pytest.mark.parametrize(
    "metric",
    [
        GlobalAccuracy(11, ignore_class=11, name="g"),
        ClassAverageAccuracy(11, ignore_class=11),
        MeanIoU(11, ignore_class=11, use_sample_weight=True),
        BoundaryF1(11, ignore_class=11, tolerance=0.01),
    ],
)
def test_get_config_round_trip(metric):
    config = keras.metrics.serialize(metric)
    clone = keras.metrics.deserialize(config)
    assert type(clone) is type(metric)
    assert clone.get_config() == metric.get_config()
    assert clone.num_classes == 11 and clone.ignore_class == 11


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_saved_model_reloads_metrics(tmp_path):
    x, y = _data(3)
    model = _model(3)
    model.compile(loss=LOSS, metrics=_metrics(), jit_compile=False)
    before = model.evaluate(x, y, verbose=0, return_dict=True)
    path = tmp_path / "m.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    after = reloaded.evaluate(x, y, verbose=0, return_dict=True)
    for key in ("mean_iou", "boundary_f1", "global_accuracy"):
        assert after[key] == pytest.approx(before[key], abs=1e-6)
        assert not math.isnan(after[key])
