"""The config of ``segnet adjust`` and the names it shares with the logit-adjustment
sweep. No TensorFlow.

Post-hoc logit adjustment (Menon et al., "Long-tail learning via logit adjustment",
ICLR 2021) adds ``-tau * log(prior)`` to each class logit; the sweep
(:mod:`segnet_tf.training.logit_adjustment`) tries each strength and keeps the best
by one of the scores below. :class:`AdjustConfig` is what ``segnet adjust``
(:func:`segnet_tf.commands.adjust`) takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from segnet_tf import config_fields
from segnet_tf.config.command_fields import data_dir_field, data_field, split_check
from segnet_tf.config.splits import normalize_split
from segnet_tf.config_fields import CommandConfig, ConfigError

# Candidate strengths tau of the sweep (0 = the model as trained), and the scores
# that can choose among them.
DEFAULT_TAUS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)
SELECTION_METRICS = ("mean_iou", "class_average_accuracy", "global_accuracy")


def _taus_check(value: Any) -> str | None:
    if (
        isinstance(value, tuple)
        and value
        and all(config_fields.is_number(t) and t >= 0 for t in value)
    ):
        return None
    return "one or more finite strengths, each >= 0"


def _keras_path(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value.endswith(".keras")):
        return None
    return "a .keras file name, or unset"


@dataclass(frozen=True)
class AdjustConfig(CommandConfig):
    """What ``adjust`` rebalances, how tau is chosen, and where the result goes.

    Args:
        model: The trained model (``.keras``), e.g. a run's ``best.keras``.
        data: Data source name; None takes the one of the run's ``config.json``.
        data_dir: Folder of the camvid / folder source; None: the run's.
        split: The split tau is chosen on: ``validation`` (``val``) or ``train``,
            never ``test``.
        taus: Candidate strengths (0 = the model as trained).
        metric: The score that picks tau: ``mean_iou``, ``class_average_accuracy`` or
            ``global_accuracy``.
        limit: Score only the first N images of the split; None: all.
        recompute_batch_norm: Before the sweep, replace the batch-normalisation
            statistics with those of the first N training images at full
            resolution (batches of one); 0 keeps the trained statistics.
        output: The adjusted model; None: ``<model>_adjusted.keras`` beside the model.
    """

    model: str = config_fields.option(
        help_text="trained model (.keras), e.g. a run's best.keras",
        positional=True,
        metavar="MODEL",
        check=config_fields.path(optional=False, what="a .keras model file"),
    )
    data: str | None = data_field()
    data_dir: str | None = data_dir_field()
    split: str = config_fields.option("validation", "split tau is chosen on", check=split_check)
    taus: tuple[float, ...] = config_fields.option(
        DEFAULT_TAUS, "strengths to try", metavar="TAU", check=_taus_check
    )
    metric: str = config_fields.option(
        "mean_iou",
        "score that picks tau",
        choices=SELECTION_METRICS,
        check=config_fields.choice(SELECTION_METRICS),
    )
    limit: int | None = config_fields.option(
        None,
        "use only the first N images",
        metavar="N",
        check=config_fields.count(1, optional=True),
    )
    recompute_batch_norm: int = config_fields.option(
        0,
        "first recompute batch-norm statistics over N training images at full resolution "
        "(0: keep the trained ones)",
        metavar="N",
        check=config_fields.count(0),
    )
    output: str | None = config_fields.option(
        None,
        "adjusted model (default: <model>_adjusted.keras beside the model)",
        metavar="PATH",
        check=_keras_path,
    )

    def check_fields(self) -> None:
        if normalize_split(self.split) == "test":
            raise ConfigError(
                "split",
                self.split,
                "train or validation: tau must be chosen on validation data, never on test",
            )
