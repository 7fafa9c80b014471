"""How a model's probabilities are computed: one pass, test-time augmentation or
Monte-Carlo dropout.

Every reader of probabilities (``Segmenter``, ``evaluate_model``, the SavedModel
signatures, videos, the commands and the demo) takes a :class:`PredictionMode`, so
that the rules live here once: the two ways of averaging exclude each other (both
at once would multiply the passes, and the Monte-Carlo variance is defined over
dropout samples of one input, not over augmented inputs), and Monte-Carlo sampling
needs a model with Monte-Carlo dropout (without it every sample is the same).

A plain pass and test-time augmentation are TensorFlow ops
(:func:`~segnet_tf.inference.tta.tta_probabilities`, compiled once per predictor);
Monte-Carlo sampling runs its passes eagerly (:func:`~segnet_tf.models.mc_predict`),
since each pass must draw new dropout masks and its statistics are NumPy's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from segnet_tf.config.prediction_settings import monte_carlo_conflict
from segnet_tf.inference.tta import NO_TTA, TestTimeAugmentation, tta_probabilities
from segnet_tf.models import has_mc_dropout, mc_predict


@dataclass(frozen=True)
class ModeProbabilities:
    """What a :class:`PredictionMode` computes for a batch of images.

    Attributes:
        probabilities: float32 ``[B, H, W, C]``: the softmax, or its mean over the
            passes of the mode.
        variance: float32 ``[B, H, W]`` Monte-Carlo variance of the softmax averaged
            over classes (model uncertainty); None unless the mode is Monte-Carlo.
        entropy: float32 ``[B, H, W]`` entropy (nats) of the mean softmax (predictive
            uncertainty); None unless the mode is Monte-Carlo.
    """

    probabilities: np.ndarray
    variance: np.ndarray | None = None
    entropy: np.ndarray | None = None


Predictor = Callable[[object], ModeProbabilities]
"""Maps a float image batch ``[B, H, W, 3]`` (0..255) to :class:`ModeProbabilities`."""


@dataclass(frozen=True)
class PredictionMode:
    """One plain pass, test-time augmentation or Monte-Carlo dropout; checked once.

    Build it with :meth:`parse` from the settings users write (``mc_samples``,
    ``tta``, ``flip``), or directly. ``str()`` is a short description for reports,
    e.g. ``"test-time augmentation flip (2 passes)"``.

    Args:
        tta: Test-time augmentation, a
            :class:`~segnet_tf.inference.tta.TestTimeAugmentation` or its text form
            (``"flip+scales:0.75,1,1.25"``); None or ``"none"`` for none.
        mc_samples: Monte-Carlo dropout passes averaged (an int >= 1), or None.

    Raises:
        ValueError: For a bad ``tta`` or ``mc_samples``, or both averaging kinds.
    """

    tta: TestTimeAugmentation = NO_TTA
    mc_samples: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "tta", TestTimeAugmentation.parse(self.tta))
        samples = self.mc_samples
        if samples is not None and (
            isinstance(samples, bool) or not isinstance(samples, int) or samples < 1
        ):
            raise ValueError(
                f"`mc_samples` must be an int >= 1 (Monte-Carlo dropout passes) or None; "
                f"got {samples!r}."
            )
        conflict = monte_carlo_conflict(samples, self.tta)
        if conflict is not None:
            raise ValueError(conflict)

    @classmethod
    def parse(
        cls,
        mc_samples: int | None = None,
        tta: TestTimeAugmentation | str | None = None,
        flip: bool = False,
    ) -> PredictionMode:
        """The mode of the settings of ``Segmenter.predict``, ``evaluate_model`` and the
        commands.

        Args:
            mc_samples: Monte-Carlo dropout passes; None or 0 for none.
            tta: Test-time augmentation or its text form; None for none.
            flip: Add mirror-image averaging to ``tta`` (``segnet evaluate --flip``).

        Raises:
            ValueError: For a bad value, or Monte-Carlo sampling with test-time
                augmentation (or ``flip``).
        """
        tta = TestTimeAugmentation.parse(tta)
        if flip:
            tta = dataclasses.replace(tta, flip=True)
        if mc_samples == 0 and not isinstance(mc_samples, bool):
            mc_samples = None
        return cls(tta=tta, mc_samples=mc_samples)

    @property
    def is_monte_carlo(self) -> bool:
        """Whether probabilities are the mean over Monte-Carlo dropout samples."""
        return self.mc_samples is not None

    @property
    def passes(self) -> int:
        """Forward passes per image."""
        return self.mc_samples if self.is_monte_carlo else self.tta.passes

    def __str__(self) -> str:
        if self.is_monte_carlo:
            return f"Monte-Carlo dropout ({self.mc_samples} samples)"
        if self.tta.is_identity:
            return "one pass"
        return f"test-time augmentation {self.tta} ({self.passes} passes)"

    def check_model(self, model: keras.Model) -> None:
        """Refuse Monte-Carlo sampling of a model without Monte-Carlo dropout.

        Raises:
            ValueError: Naming the model, if every sample would be the same.
        """
        if self.is_monte_carlo and not has_mc_dropout(model):
            raise ValueError(
                f"mc_samples={self.mc_samples} needs a Bayesian model with Monte-Carlo "
                f"dropout; {model.name!r} has none, so every sample would be identical."
            )

    def graph_probabilities(self, model, images: tf.Tensor) -> tf.Tensor:
        """The probabilities as TensorFlow ops, for a ``tf.function`` or a SavedModel.

        Args:
            model: Maps float32 RGB ``[B, H, W, 3]`` to logits ``[B, H, W, C]``.
            images: float32 ``[B, H, W, 3]`` in 0..255.

        Raises:
            ValueError: For a Monte-Carlo mode, whose passes run eagerly.
        """
        if self.is_monte_carlo:
            raise ValueError(
                "Monte-Carlo sampling runs eagerly, one pass at a time; it has no graph "
                "form (use `predictor` or `probabilities`)."
            )
        return tta_probabilities(model, images, self.tta)

    def predictor(self, model: keras.Model) -> Predictor:
        """A function computing this mode's probabilities of ``model`` on image batches.

        Keep it for repeated calls: a plain or augmented mode compiles one graph for
        every image size on its first call.

        Args:
            model: Maps float32 RGB ``[B, H, W, 3]`` in 0..255 to logits.

        Raises:
            ValueError: For Monte-Carlo sampling of a model without Monte-Carlo dropout.
        """
        self.check_model(model)
        if self.is_monte_carlo:
            samples = self.mc_samples

            def sample(images) -> ModeProbabilities:
                result = mc_predict(model, images, samples)
                return ModeProbabilities(result.probabilities, result.variance, result.entropy)

            return sample

        # One trace for every image size: height and width are left unknown.
        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
        def compiled(images):
            return self.graph_probabilities(model, images)

        def run(images) -> ModeProbabilities:
            return ModeProbabilities(compiled(tf.cast(images, tf.float32)).numpy())

        return run

    def probabilities(self, model: keras.Model, images) -> ModeProbabilities:
        """This mode's probabilities of ``model`` on one float image batch.

        For many batches keep a :meth:`predictor` instead (compiled once).

        Args:
            model: Maps float32 RGB ``[B, H, W, 3]`` in 0..255 to logits.
            images: ``[B, H, W, 3]`` in 0..255 (cast to float32).
        """
        return self.predictor(model)(images)


PLAIN = PredictionMode()
"""One plain forward pass."""


def mode_or_settings(
    mode: PredictionMode | None, build: Callable[[], PredictionMode], **settings
) -> PredictionMode:
    """``mode`` if given, else ``build()``: for functions that take either a mode or the
    settings it is built from (``mc_samples``, ``tta``...).

    Args:
        mode: A :class:`PredictionMode`, or None.
        build: Makes the mode of the settings (called only without ``mode``).
        **settings: The settings by name; None, False and 0 count as unset.

    Raises:
        ValueError: If ``mode`` is given with a setting, or is not a PredictionMode.
    """
    if mode is None:
        return build()
    if not isinstance(mode, PredictionMode):
        raise ValueError(f"`mode` must be a PredictionMode or None; got {mode!r}.")
    if any(value is not None and value is not False and value != 0 for value in settings.values()):
        names = "/".join(f"`{name}`" for name in settings)
        raise ValueError(
            f"pass either `mode` or {names}, not both; the mode already says how to "
            f"predict ({mode})."
        )
    return mode
