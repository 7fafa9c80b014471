"""The training configuration, :class:`TrainConfig`, and the names its fields take.

A frozen dataclass with one check per field; ``segnet train`` makes one flag of each
field (:mod:`segnet_tf.commands.training`), the trainer (:mod:`segnet_tf.training`)
reads it, and every run writes it as ``config.json``. Imports no TensorFlow: model and
data-source names are checked against :mod:`segnet_tf.config.registered_names`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from segnet_tf import config_fields
from segnet_tf.config.registered_names import data_source_names, model_names, needs_data_dir
from segnet_tf.config_fields import CommandConfig, ConfigError

OPTIMIZERS = ("sgd", "adamw")
LR_SCHEDULES = ("constant", "poly", "cosine")
CLASS_WEIGHTINGS = ("none", "median_frequency")
# Training losses (segnet_tf.training.losses.make_loss); "a+b" is a plus
# secondary_loss_weight times b.
LOSSES = (
    "cross_entropy",
    "dice",
    "focal",
    "lovasz",
    "ohem",
    "cross_entropy+lovasz",
    "cross_entropy+dice",
)
STRATEGIES = ("none", "mirrored", "multiworker")


def _opt(default, help_text: str, **extra) -> Any:
    """A dataclass field carrying its CLI help (and optional choices/metavar)."""
    return config_fields.option(default, help_text, **extra)


# Limits of the checks (counts and image sides: see segnet_tf.config_fields).
MAX_SEED = 2**32 - 1  # numpy's and keras.utils.set_random_seed's range
# Every registered model's narrowest layer has 64 filters at width 1 (VGG16's first
# block, SegNet-Basic, U-Net's first level): it keeps round(64 * width) >= 1 filters
# only above 1/128. Above 4, a model has 16x the parameters of width 1.
MIN_WIDTH_EXCLUSIVE, MAX_WIDTH = 1 / 128, 4.0
MAX_INPUT_SCALE = 4.0
# Zoom of the scale-crop augmentation: beyond 16x either way a crop is a few pixels
# of the image, or the image a few pixels of the crop.
MIN_ZOOM, MAX_ZOOM = 1 / 16, 16.0


def _zoom_range(value: Any) -> str | None:
    if (
        isinstance(value, tuple)
        and len(value) == 2
        and all(config_fields.is_number(v) for v in value)
        and MIN_ZOOM <= value[0] <= value[1] <= MAX_ZOOM
    ):
        return None
    return f"two finite numbers (low, high) with {MIN_ZOOM:g} <= low <= high <= {MAX_ZOOM:g}"


def seed_check(value: Any) -> str | None:
    """An integer in [0, 2**32 - 1] (numpy's seed range)."""
    if config_fields.is_int(value) and 0 <= value <= MAX_SEED:
        return None
    return f"an integer in [0, {MAX_SEED}]"


def _width(value: Any) -> str | None:
    if config_fields.is_number(value) and MIN_WIDTH_EXCLUSIVE < value <= MAX_WIDTH:
        return None
    return (
        f"a finite number in (1/128, {MAX_WIDTH:g}]: at width 1/128 or less the models' "
        "64-filter layers keep no filter"
    )


def _model_name(value: Any) -> str | None:
    # Membership in the registered names is checked by check_fields().
    return None if isinstance(value, str) else "a registered model name (a string)"


@dataclass(frozen=True)
class TrainConfig(CommandConfig):
    """Everything that defines a training run.

    Args:
        model: Registered model name (``segnet_tf.list_models()``).
        width: Filter-count multiplier of the model (e.g. 0.25; 1/16 for tiny tests),
            in (1/128, 4].
        input_scale: The network works at this fraction of the resolution: it trains
            and validates on images (and labels) resized by this factor, and the
            saved models (``best.keras``, ``model.keras``) resize their input by it
            and their logits back (``segnet_tf.models.with_input_scale``), so they
            take and score full-resolution images. 0.5 costs a quarter of the
            compute. ``image_size`` and ``validation_image_size`` stay in input
            pixels.
        init_from: Fine-tune: a preset (name or folder) or a ``.keras`` file whose
            weights start the run, layer by layer where the layer names and weight
            shapes match (a classifier for another class count is trained anew); the
            run prints which layers were loaded. None: random initialisation.
        data: Data source: ``camvid``, ``folder`` (SegNet layout: ``train/``,
            ``trainannot/``, ``val/``, ``valannot/`` and a ``classes.json``) or
            ``synthetic`` (procedural scenes, no files).
        data_dir: Folder of the camvid / folder source (camvid falls back to
            ``$SEGNET_CAMVID_DIR``).
        synthetic_images: Training scenes of the synthetic source (validation uses a
            quarter of that, at least 4).
        image_size: Training crop ``(height, width)``, each in [8, 16384]; validation
            images are resized to it. Synthetic scenes are generated at this size.
        scale_range: Zoom range of the random scale-crop augmentation, relative to
            the whole image resized to ``image_size``: with CamVid's 360x480 frames and
            ``image_size`` 180x240, scale 2 crops at the frames' own resolution.
            ``1/16 <= low <= high <= 16``.
        validation_image_size: ``(height, width)`` validation images are resized to;
            None means ``image_size``. Set it to the evaluation size (CamVid: 360 480)
            when training on crops at native scale, so that the best checkpoint is
            chosen at the resolution it will be used at.
        batch_size: Global batch size (split over replicas by a strategy).
        epochs: Number of epochs.
        steps_per_epoch: Batches per epoch; None means one pass over the training
            split.
        validation_steps: Validation batches per epoch; None means the whole split.
        train_on_validation: Also train on the validation split: the final fit of a
            recipe whose epochs were chosen on validation by a train-only run (the
            usual CamVid practice). The validation scores are then no longer held
            out, so the last epoch is kept instead of the best one, and early
            stopping is not allowed.
        optimizer: ``sgd`` (with momentum, as in the SegNet paper) or ``adamw``.
        learning_rate: Peak learning rate.
        momentum: SGD momentum (ignored by AdamW).
        lr_schedule: ``constant``, ``poly`` (power 0.9) or ``cosine``.
        warmup_steps: Linear warm-up steps (poly and cosine).
        weight_decay: Decoupled weight decay (biases and normalisation parameters are
            excluded).
        class_weighting: ``none`` or ``median_frequency`` (computed on the training
            split).
        loss: ``cross_entropy`` (masked, class-weighted softmax cross-entropy),
            ``dice`` (soft Dice), ``focal`` (focal loss), ``lovasz`` (Lovasz-softmax,
            a surrogate of mean IoU), ``ohem`` (cross-entropy of the hardest pixels)
            or a sum ``cross_entropy+lovasz`` / ``cross_entropy+dice``; see
            ``segnet_tf.training.losses``. Every loss ignores void and uses the class
            weights.
        secondary_loss_weight: Weight of the second term of a sum loss, >= 0.
        focal_gamma: Focusing exponent of the focal loss, >= 0.
        ohem_threshold: OHEM keeps pixels whose true-class probability is at most
            this, in (0, 1].
        ohem_min_kept: ...and at least this many pixels per batch.
        augment: Random scale-crop, flip and photometric jitter.
        camera_augment: Also a random camera shift of every training image: white
            balance, exposure, gamma, saturation, sensor noise, blur and JPEG, each
            with its own probability (``segnet_tf.data.camera_augment``), for a model
            that holds up on other cameras' frames. Needs ``augment``.
        mixed_precision: ``mixed_float16`` on a GPU, ``mixed_bfloat16`` on a CPU with
            native bfloat16 (AMX or AVX512-BF16), float32 on other CPUs, where
            emulated bfloat16 is slower.
        strategy: ``none``, ``mirrored`` (one machine, all local devices) or
            ``multiworker`` (machines listed in ``$TF_CONFIG``).
        early_stopping_patience: Stop after this many epochs without a better
            validation mIoU; 0 disables early stopping.
        backup_every_steps: Back up the training state every N batches (a killed run
            then restarts its interrupted epoch from the latest backup); 0 backs up
            at the end of every epoch.
        seed: Seed of weights initialisation, data order and augmentation, in
            [0, 2**32 - 1].
        run_dir: Folder receiving every artifact of the run.
    """

    model: str = _opt("segnet_basic", "registered model name", check=_model_name)
    width: float = _opt(1.0, "filter-count multiplier (e.g. 0.25)", check=_width)
    input_scale: float = _opt(
        1.0,
        "train the network at this fraction of the image size (0.5: 4x cheaper)",
        metavar="S",
        check=config_fields.number(0, MAX_INPUT_SCALE, low_open=True),
    )
    init_from: str | None = _opt(
        None,
        "fine-tune: start from the weights of a preset (name or folder) or a .keras file, "
        "layer by layer where names and shapes match",
        metavar="PRESET_OR_FILE",
        check=config_fields.path(optional=True, what="a preset name or folder, or a .keras file"),
    )
    data: str = _opt(
        "camvid",
        "data source",
        choices=data_source_names(),
        check=config_fields.choice(data_source_names),
    )
    data_dir: str | None = _opt(
        None,
        "data folder (camvid: defaults to $SEGNET_CAMVID_DIR)",
        metavar="DIR",
        check=config_fields.path(optional=True),
    )
    synthetic_images: int = _opt(
        64, "training scenes of the synthetic source", metavar="N", check=config_fields.count(2)
    )
    image_size: tuple[int, int] = _opt(
        (360, 480),
        "training crop size, height and width",
        metavar=("H", "W"),
        check=config_fields.image_size(),
    )
    scale_range: tuple[float, float] = _opt(
        (0.5, 2.0),
        "zoom range of the random scale-crop, relative to the image resized to --image-size",
        metavar=("LOW", "HIGH"),
        check=_zoom_range,
    )
    validation_image_size: tuple[int, int] | None = _opt(
        None,
        "size validation images are resized to (default: --image-size)",
        metavar=("H", "W"),
        check=config_fields.image_size(optional=True),
    )
    batch_size: int = _opt(4, "global batch size", metavar="N", check=config_fields.count(1))
    epochs: int = _opt(50, "number of epochs", metavar="N", check=config_fields.count(1))
    steps_per_epoch: int | None = _opt(
        None,
        "batches per epoch (default: one pass over the training split)",
        metavar="N",
        check=config_fields.count(1, optional=True),
    )
    validation_steps: int | None = _opt(
        None,
        "validation batches per epoch (default: the whole split)",
        metavar="N",
        check=config_fields.count(1, optional=True),
    )
    train_on_validation: bool = _opt(
        False,
        "also train on the validation split (the final fit; keeps the last epoch)",
        check=config_fields.flag_value,
    )
    optimizer: str = _opt(
        "sgd",
        "optimizer (sgd uses momentum)",
        choices=OPTIMIZERS,
        check=config_fields.choice(OPTIMIZERS),
    )
    learning_rate: float = _opt(
        0.01,
        "peak learning rate",
        metavar="LR",
        check=config_fields.number(0, math.inf, low_open=True, high_open=True),
    )
    momentum: float = _opt(
        0.9, "SGD momentum", metavar="M", check=config_fields.number(0, 1, high_open=True)
    )
    lr_schedule: str = _opt(
        "poly",
        "learning-rate schedule",
        choices=LR_SCHEDULES,
        check=config_fields.choice(LR_SCHEDULES),
    )
    warmup_steps: int = _opt(
        0, "linear warm-up steps (poly, cosine)", metavar="N", check=config_fields.count(0)
    )
    weight_decay: float = _opt(
        5e-4,
        "decoupled weight decay",
        metavar="WD",
        check=config_fields.number(0, math.inf, high_open=True),
    )
    class_weighting: str = _opt(
        "median_frequency",
        "loss class weights",
        choices=CLASS_WEIGHTINGS,
        check=config_fields.choice(CLASS_WEIGHTINGS),
    )
    loss: str = _opt(
        "cross_entropy",
        "training loss (void ignored, class weights)",
        choices=LOSSES,
        check=config_fields.choice(LOSSES),
    )
    secondary_loss_weight: float = _opt(
        1.0,
        "weight of the second loss of a sum such as cross_entropy+lovasz",
        metavar="W",
        check=config_fields.number(0, math.inf, high_open=True),
    )
    focal_gamma: float = _opt(
        2.0,
        "focusing exponent of --loss focal",
        metavar="G",
        check=config_fields.number(0, math.inf, high_open=True),
    )
    ohem_threshold: float = _opt(
        0.7,
        "--loss ohem keeps pixels whose true-class probability is at most this",
        metavar="P",
        check=config_fields.number(0, 1, low_open=True),
    )
    ohem_min_kept: int = _opt(
        16384,
        "--loss ohem keeps at least this many pixels",
        metavar="N",
        check=config_fields.count(1),
    )
    augment: bool = _opt(
        True, "random scale-crop, flip and colour jitter", check=config_fields.flag_value
    )
    camera_augment: bool = _opt(
        False,
        "random camera shifts: white balance, exposure, blur, JPEG, noise (needs --augment)",
        check=config_fields.flag_value,
    )
    mixed_precision: bool = _opt(
        False,
        "mixed_float16 on GPU, mixed_bfloat16 on CPUs with native bfloat16 (else float32)",
        check=config_fields.flag_value,
    )
    strategy: str = _opt(
        "none",
        "distribution strategy (see TF_CONFIG)",
        choices=STRATEGIES,
        check=config_fields.choice(STRATEGIES),
    )
    early_stopping_patience: int = _opt(
        0,
        "epochs without better val mIoU before stopping (0: never)",
        metavar="N",
        check=config_fields.count(0),
    )
    backup_every_steps: int = _opt(
        0,
        "back up the training state every N batches (0: every epoch)",
        metavar="N",
        check=config_fields.count(0),
    )
    seed: int = _opt(0, "random seed", metavar="N", check=seed_check)
    run_dir: str = _opt(
        "runs/segnet",
        "output folder of the run",
        metavar="DIR",
        check=config_fields.path(optional=False),
    )

    def check_fields(self) -> None:
        """The model must be registered; the folder source needs its folder; camera
        shifts need the augmentation; early stopping needs held-out validation."""
        models = model_names()
        if self.model not in models:
            raise ConfigError("model", self.model, f"one of {', '.join(models)}")
        if needs_data_dir(self.data) and self.data_dir is None:
            raise ConfigError(
                "data_dir", None, "the data folder (the folder source has no default)"
            )
        if self.camera_augment and not self.augment:
            raise ConfigError(
                "camera_augment",
                True,
                "false unless augment is true (the camera shifts use the augmentation's seeds)",
            )
        if self.train_on_validation and self.early_stopping_patience:
            raise ConfigError(
                "early_stopping_patience",
                self.early_stopping_patience,
                "0 with train_on_validation (the validation split is trained on, so it "
                "cannot say when to stop)",
            )
