"""Dice, focal, Lovasz-softmax, OHEM and sum losses: hand-computed cases, NumPy
references written from the definitions, void pixels, serialisation, precision."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from segnet_tf.training.losses import (
    LOSSES,
    DiceLoss,
    FocalLoss,
    LovaszSoftmaxLoss,
    MaskedSparseCategoricalCrossentropy,
    OhemCrossEntropy,
    WeightedSumLoss,
    make_loss,
)

LN3 = math.log(3.0)
# One image, one row of three pixels, two classes: probabilities (0.75, 0.25) with
# label 0, (0.5, 0.5) with label 1, and a void pixel (label 2 = num_classes).
HAND_LOGITS = np.array([[[[LN3, 0.0], [0.0, 0.0], [5.0, -5.0]]]], np.float32)
HAND_LABELS = np.array([[[0, 1, 2]]])


def _softmax(logits):
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _dice_reference(labels, logits, k, weights=None, smooth=1.0):
    p = _softmax(logits.astype(np.float64)).reshape(-1, k)
    labels = labels.reshape(-1)
    valid = labels < k
    p, g = p[valid], np.eye(k)[labels[valid]]
    weights = np.ones(k) if weights is None else np.asarray(weights, np.float64)
    present = g.sum(0) > 0
    dice = (2 * (p * g).sum(0) + smooth) / (p.sum(0) + g.sum(0) + smooth)
    w = weights * present
    return 1 - (w * dice).sum() / w.sum()


def _lovasz_reference(labels, logits, k, weights=None, per_image=False):
    """Berman et al. 2018, Algorithm 1 and eq. 9, one pixel at a time in NumPy."""
    groups = (
        [(labels[i], logits[i]) for i in range(len(labels))] if per_image else [(labels, logits)]
    )
    weights = np.ones(k) if weights is None else np.asarray(weights, np.float64)
    losses = []
    for lab, log in groups:
        lab = lab.reshape(-1)
        p = _softmax(log.astype(np.float64)).reshape(-1, k)[lab < k]
        lab = lab[lab < k]
        total, wsum = 0.0, 0.0
        for c in range(k):
            g = (lab == c).astype(np.float64)
            if g.sum() == 0:
                continue
            errors = np.abs(g - p[:, c])
            order = np.argsort(-errors, kind="stable")
            e, gs = errors[order], g[order]
            jaccard = []
            for i in range(1, len(gs) + 1):  # J of predicting the first i pixels wrong
                inter = g.sum() - gs[:i].sum()
                union = g.sum() + (1 - gs[:i]).sum()
                jaccard.append(1 - inter / union)
            grad = np.diff(np.concatenate([[0.0], jaccard]))
            total += weights[c] * float(e @ grad)
            wsum += weights[c]
        if wsum > 0:
            losses.append(total / wsum)
    return float(np.mean(losses)) if losses else 0.0


def test_dice_by_hand():
    # Class 0: 2*0.75 / (0.75+0.5 + 1) = 2/3; class 1: 2*0.5 / (0.25+0.5 + 1) = 4/7.
    loss = DiceLoss(2, ignore_class=2, smooth=0.0)
    np.testing.assert_allclose(
        float(loss(HAND_LABELS, HAND_LOGITS)), 1 - (2 / 3 + 4 / 7) / 2, rtol=1e-6
    )
    weighted = DiceLoss(2, class_weights=[1.0, 3.0], smooth=0.0)
    np.testing.assert_allclose(
        float(weighted(HAND_LABELS, HAND_LOGITS)), 1 - (2 / 3 + 3 * 4 / 7) / 4, rtol=1e-6
    )
    # A class absent from the labels (class 1 here) is left out of the mean.
    only_zero = np.array([[[0, 0, 2]]])
    # Class 0: 2*(0.75+0.5) / (1.25 + 2) = 10/13.
    np.testing.assert_allclose(float(loss(only_zero, HAND_LOGITS)), 1 - 10 / 13, rtol=1e-6)


def test_dice_matches_the_reference_per_batch_and_smoothed():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(2, 3, 4, 3)).astype(np.float32)
    labels = rng.integers(0, 4, size=(2, 3, 4))  # 3 is void
    weights = [0.5, 1.0, 2.0]
    expected = _dice_reference(labels, logits, 3, weights)
    got = float(DiceLoss(3, class_weights=weights)(labels, logits))
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_focal_by_hand_and_gamma_zero_is_cross_entropy():
    # -(1-0.75)^2 ln 0.75 and -(1-0.5)^2 ln 0.5, averaged over the 2 valid pixels.
    expected = (0.25**2 * math.log(4 / 3) + 0.5**2 * math.log(2)) / 2
    loss = FocalLoss(2, gamma=2.0, ignore_class=2)
    np.testing.assert_allclose(float(loss(HAND_LABELS, HAND_LOGITS)), expected, rtol=1e-6)
    alpha = FocalLoss(2, gamma=2.0, class_weights=[2.0, 0.5])
    np.testing.assert_allclose(
        float(alpha(HAND_LABELS, HAND_LOGITS)),
        (2 * 0.25**2 * math.log(4 / 3) + 0.5 * 0.5**2 * math.log(2)) / 2,
        rtol=1e-6,
    )
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(2, 3, 4, 3)).astype(np.float32)
    labels = rng.integers(0, 4, size=(2, 3, 4))
    np.testing.assert_allclose(
        float(FocalLoss(3, gamma=0.0, class_weights=[1, 2, 3])(labels, logits)),
        float(MaskedSparseCategoricalCrossentropy(3, class_weights=[1, 2, 3])(labels, logits)),
        rtol=1e-6,
    )


def test_lovasz_by_hand():
    # Class 0: errors 0.25 (truth) and 0.5 (not); sorted [0.5, 0.25], Jaccard steps
    # [1/2, 1] -> gradient [1/2, 1/2] -> 0.375. Class 1: errors 0.25 (not), 0.5
    # (truth); sorted [0.5, 0.25], Jaccard [1, 1] -> gradient [1, 0] -> 0.5.
    loss = LovaszSoftmaxLoss(2, ignore_class=2)
    np.testing.assert_allclose(float(loss(HAND_LABELS, HAND_LOGITS)), (0.375 + 0.5) / 2, rtol=1e-6)
    weighted = LovaszSoftmaxLoss(2, class_weights=[3.0, 1.0])
    np.testing.assert_allclose(
        float(weighted(HAND_LABELS, HAND_LOGITS)), (3 * 0.375 + 0.5) / 4, rtol=1e-6
    )


@pytest.mark.parametrize("per_image", [False, True])
def test_lovasz_matches_the_reference(per_image):
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(2, 3, 4, 3)).astype(np.float32) * 2
    labels = rng.integers(0, 4, size=(2, 3, 4))
    labels[1] = np.where(labels[1] == 2, 0, labels[1])  # class 2 absent from image 1
    weights = [1.0, 0.5, 2.0]
    expected = _lovasz_reference(labels, logits, 3, weights, per_image=per_image)
    got = LovaszSoftmaxLoss(3, class_weights=weights, per_image=per_image)(labels, logits)
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


def test_lovasz_of_a_hard_prediction_is_one_minus_mean_iou():
    # The Lovasz extension equals the Jaccard loss at 0/1 errors: with (almost)
    # one-hot predictions the loss is 1 - the mean IoU of the classes present.
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 3, size=(1, 4, 5))
    predicted = np.where(rng.random(labels.shape) < 0.3, (labels + 1) % 3, labels)
    logits = 40.0 * np.eye(3, dtype=np.float32)[predicted]
    iou = [
        np.sum((labels == c) & (predicted == c)) / np.sum((labels == c) | (predicted == c))
        for c in range(3)
    ]
    got = float(LovaszSoftmaxLoss(3)(labels, logits))
    np.testing.assert_allclose(got, 1 - np.mean(iou), rtol=1e-5)


def test_ohem_keeps_the_hardest_pixels():
    # True-class probabilities 0.75, 0.5 (void pixel excluded). Threshold 0.7 keeps
    # only the 0.5 pixel; min_kept=2 keeps both; threshold 0.8 keeps both.
    hard_only = OhemCrossEntropy(2, threshold=0.7, min_kept=1, ignore_class=2)
    np.testing.assert_allclose(float(hard_only(HAND_LABELS, HAND_LOGITS)), math.log(2), rtol=1e-6)
    both = (math.log(4 / 3) + math.log(2)) / 2
    for loss in (OhemCrossEntropy(2, 0.7, min_kept=2), OhemCrossEntropy(2, 0.8, min_kept=1)):
        np.testing.assert_allclose(float(loss(HAND_LABELS, HAND_LOGITS)), both, rtol=1e-6)
    # More kept than valid: all valid pixels, none of the void ones.
    many = OhemCrossEntropy(2, 0.1, min_kept=100, class_weights=[2.0, 1.0])
    np.testing.assert_allclose(
        float(many(HAND_LABELS, HAND_LOGITS)),
        (2 * math.log(4 / 3) + math.log(2)) / 2,
        rtol=1e-6,
    )


def test_weighted_sum_adds_its_terms():
    ce = MaskedSparseCategoricalCrossentropy(2, ignore_class=2)
    lovasz = LovaszSoftmaxLoss(2, ignore_class=2)
    combined = WeightedSumLoss([ce, lovasz], weights=[1.0, 0.5])
    expected = float(ce(HAND_LABELS, HAND_LOGITS)) + 0.5 * 0.4375
    np.testing.assert_allclose(float(combined(HAND_LABELS, HAND_LOGITS)), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="one per loss"):
        WeightedSumLoss([ce, lovasz], weights=[1.0])


@pytest.mark.parametrize("name", LOSSES)
def test_void_pixels_change_neither_loss_nor_gradient(name):
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(2, 3, 4, 3)).astype(np.float32)
    labels = rng.integers(0, 3, size=(2, 3, 4))
    labels[0, 1, :] = 3  # void by range
    labels[1, 2, 2] = 255
    void = labels >= 3
    loss = make_loss(name, 3, class_weights=[1.0, 2.0, 0.5], ohem_min_kept=5)

    def value_and_gradient(x):
        x = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = loss(labels, x)
        return float(value), tape.gradient(value, x).numpy()

    value, gradient = value_and_gradient(logits)
    changed = logits.copy()
    changed[void] = rng.normal(size=(void.sum(), 3)) * 50
    value2, gradient2 = value_and_gradient(changed)
    np.testing.assert_allclose(value2, value, rtol=1e-6)
    np.testing.assert_allclose(gradient2, gradient, atol=1e-7)
    assert np.all(gradient[void] == 0)
    assert np.abs(gradient[~void]).sum() > 0  # the loss does train the valid pixels


@pytest.mark.parametrize("name", LOSSES)
def test_losses_serialise_and_stay_float32(name):
    rng = np.random.default_rng(6)
    logits = rng.normal(size=(1, 4, 4, 3)).astype(np.float32)
    labels = rng.integers(0, 4, size=(1, 4, 4, 1))  # [B, H, W, 1] labels work too
    loss = make_loss(name, 3, class_weights=[1.0, 2.0, 0.5], ignore_class=3)
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert type(clone) is type(loss)
    np.testing.assert_allclose(float(clone(labels, logits)), float(loss(labels, logits)))
    low = loss(labels, keras.ops.cast(logits, "bfloat16"))
    assert keras.backend.standardize_dtype(low.dtype) == "float32"
    # An all-void batch gives 0, not NaN.
    assert float(loss(np.full((1, 4, 4), 3), logits)) == 0.0


def test_bad_loss_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="unknown loss 'iou'; expected one of cross_entropy"):
        make_loss("iou", 3)
    with pytest.raises(ValueError, match="gamma"):
        FocalLoss(3, gamma=-1)
    with pytest.raises(ValueError, match="threshold"):
        OhemCrossEntropy(3, threshold=0.0)
    with pytest.raises(ValueError, match="min_kept"):
        OhemCrossEntropy(3, min_kept=0)
    with pytest.raises(ValueError, match="3 class weights for 2 classes"):
        DiceLoss(2, class_weights=[1, 1, 1])
    with pytest.raises(ValueError, match="sample weights"):
        LovaszSoftmaxLoss(2)(HAND_LABELS, HAND_LOGITS, sample_weight=np.ones((1, 1, 3)))


def test_train_config_loss_fields_are_checked():
    import dataclasses

    from segnet_tf.commands.training import TrainConfig
    from segnet_tf.config_fields import ConfigError

    assert TrainConfig().loss == "cross_entropy"
    TrainConfig(loss="cross_entropy+lovasz", secondary_loss_weight=0.5).validate()
    for field, value in [
        ("loss", "iou"),
        ("secondary_loss_weight", -1.0),
        ("focal_gamma", math.nan),
        ("ohem_threshold", 0.0),
        ("ohem_min_kept", 0),
    ]:
        with pytest.raises(ConfigError, match=f"^{field}="):
            dataclasses.replace(TrainConfig(), **{field: value}).validate()


def test_segnet_train_with_a_sum_loss_saves_and_reloads_it(tmp_path):
    from segnet_tf.cli import main
    from segnet_tf.training.saving import load_trained_model

    run_dir = tmp_path / "run"
    args = [
        "train", "--data", "synthetic", "--synthetic-images", "4", "--image-size", "32", "32",
        "--model", "segnet_basic", "--width", "0.0625", "--batch-size", "2",
        "--steps-per-epoch", "2", "--epochs", "1", "--validation-steps", "1",
        "--loss", "cross_entropy+lovasz", "--secondary-loss-weight", "0.5",
        "--run-dir", str(run_dir),
    ]  # fmt: skip
    assert main(args) == 0
    model = load_trained_model(run_dir / "model.keras")
    assert isinstance(model.loss, WeightedSumLoss)
    assert [type(term) for term in model.loss.losses] == [
        MaskedSparseCategoricalCrossentropy,
        LovaszSoftmaxLoss,
    ]
    assert model.loss.weights == [1.0, 0.5]
