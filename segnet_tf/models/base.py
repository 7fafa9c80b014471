"""The base class of the package's models: a functional keras.Model that knows its config.

Each architecture is a subclass whose ``__init__`` (1) checks its arguments, (2) builds
its layers and wires them into a functional graph from ``images`` to float32 logits,
which it hands to ``keras.Model.__init__``, and (3) stores every constructor argument,
which ``get_config`` returns. ``from_config(get_config())`` therefore rebuilds the same
model (layer names and weight order included), and a saved ``.keras`` file says what
the model is (width, variant, input scale, logit offsets) instead of only how its
layers are wired.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import keras

from segnet_tf.classes import ClassList
from segnet_tf.layers.resize import check_scale
from segnet_tf.models.presets import load_preset_model, save_preset
from segnet_tf.training_scale import check_training_size


@contextlib.contextmanager
def layer_dtype_policy(policy: keras.DTypePolicy) -> Iterator[None]:
    """Builds the layers created inside under ``policy`` (the global policy is restored)."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def check_logit_offsets(offsets, num_classes: int) -> tuple[float, ...] | None:
    if offsets is None:
        return None
    values = tuple(float(v) for v in offsets)
    if len(values) != num_classes:
        raise ValueError(
            f"`class_logit_offsets` must hold one number per class ({num_classes}). "
            f"Received {len(values)}: {list(values)!r}"
        )
    return values


class SegmentationModel(keras.Model):
    """Base of the models of `segnet_tf.models`: images to per-pixel class logits.

    Every model maps float RGB images ``[batch, height, width, 3]`` with values in
    [0, 255] to float32 logits ``[batch, height, width, num_classes]``. Subclasses
    open their graph with `_blocks.network_input` (input, optional downscaling), close
    it with `_blocks.logits_output` (float32 logits, resizing back, logit offsets) and
    store the arguments common to all of them with `_store_common_config`.

    Args:
        num_classes: int. Number of classes, at least 2.
        input_scale: float. The layers run on the input resized by this factor and the
            logits are resized back to the input's size (a network trained with
            ``segnet train --input-scale``). Defaults to 1.0.
        class_logit_offsets: None or one number per class added to the logits (post-hoc
            logit adjustment, ``segnet adjust``). Defaults to None.
        training_size: None or ``(height, width)`` of the frames the model was trained
            on (``segnet train --image-size``): inference brings every image to that
            area (`segnet_tf.training_scale`). Changes no layer. Defaults to
            None (images are segmented at their own resolution).
        input_shape: tuple. ``(height, width, 3)``, None for any size.
        dtype: None, a dtype policy or its name: the policy of the layers (the global
            policy when None), e.g. ``"mixed_bfloat16"``. The logits stay float32.
        **kwargs: ``name`` and ``trainable``, passed to ``keras.Model``.
    """

    # Whether the encoder's convolutions are VGG16's (names and shapes), so that
    # `segnet_tf.get_model(..., encoder_weights=...)` can initialise them.
    has_vgg16_encoder = False

    @staticmethod
    def _resolve_dtype(dtype) -> keras.DTypePolicy:
        return keras.dtype_policies.get(dtype) if dtype is not None else keras.config.dtype_policy()

    def _store_common_config(
        self, num_classes, input_scale, class_logit_offsets, input_shape, policy, training_size
    ) -> None:
        self.num_classes = num_classes
        self.input_scale = check_scale(input_scale)
        self.training_size = check_training_size(training_size)
        self.class_logit_offsets = class_logit_offsets
        self.image_input_shape = tuple(input_shape)
        self._policy_name = policy.name

    def get_config(self) -> dict[str, Any]:
        """Every constructor argument (JSON-serialisable): ``cls(**config)`` rebuilds it."""
        offsets = self.class_logit_offsets
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": self._policy_name,
            "num_classes": self.num_classes,
            "input_scale": self.input_scale,
            "class_logit_offsets": None if offsets is None else list(offsets),
            "input_shape": list(self.image_input_shape),
            "training_size": None if self.training_size is None else list(self.training_size),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects=None) -> SegmentationModel:
        config = dict(config)
        for key in ("input_shape", "training_size"):
            if config.get(key) is not None:
                config[key] = tuple(config[key])
        return cls(**config)

    def copy_with(self, **changes) -> SegmentationModel:
        """A new model of the same class, config updated by ``changes``, weights copied.

        The changes must leave the weights' shapes alone, e.g. ``input_scale``,
        ``class_logit_offsets``, ``training_size`` or ``dtype``; the copy has its own
        layers.

        Example:

        >>> float32_copy = model.copy_with(dtype="float32")
        """
        unknown = set(changes) - set(self.get_config())
        if unknown:
            raise ValueError(
                f"{type(self).__name__} has no config argument(s) {sorted(unknown)}; "
                f"expected some of {sorted(self.get_config())}."
            )
        copy = type(self).from_config({**self.get_config(), **changes})
        copy.set_weights(self.get_weights())
        return copy

    @classmethod
    def from_preset(
        cls, name_or_folder: str | os.PathLike, presets_dir: str | os.PathLike | None = None
    ) -> SegmentationModel:
        """Load a preset's model: a bundled preset's name or a preset folder's path.

        The model is rebuilt from its config (variant, width, input scale, logit
        offsets, training frame size) with its trained weights. Names are those of
        ``segnet_tf.list_presets()``; folders are what :meth:`save_to_preset` writes.

        Args:
            name_or_folder: Preset name (e.g. ``"camvid_segnet"``) or folder path.
            presets_dir: Where names are looked up; defaults to the bundled presets.

        Raises:
            ValueError: An unknown preset (the message lists the available ones), a
                folder that is not a preset, or a preset holding another architecture
                than ``cls``.

        Example:

        >>> model = SegNet.from_preset("camvid_segnet")
        >>> model.save_to_preset("my_preset")
        >>> SegNet.from_preset("my_preset").get_config() == model.get_config()
        True
        """
        model = load_preset_model(name_or_folder, presets_dir)
        if not isinstance(model, cls):
            raise ValueError(
                f"Preset {os.fspath(name_or_folder)!r} holds a {type(model).__name__}; "
                f"expected a {cls.__name__} (load it with {type(model).__name__}.from_preset "
                "or SegmentationModel.from_preset)."
            )
        return model

    def save_to_preset(
        self,
        folder: str | os.PathLike,
        classes: ClassList | None = None,
        trained_with: str = "",
        test_scores: dict[str, float] | None = None,
        train_config: dict[str, Any] | None = None,
        domain_detector: Any = None,
        details: dict[str, Any] | None = None,
    ) -> Path:
        """Write this model as a preset folder that :meth:`from_preset` loads exactly.

        The folder gets ``model.keras`` (config and weights), ``model.json`` (class
        names and colours, ``training_size``, the recipe, test scores, parameter
        count) and, when given, ``model.domain.npz`` (the out-of-domain detector).

        Args:
            folder: Preset folder (created if needed; its files are replaced).
            classes: Class names and colours; None: CamVid's for 11 classes, else
                generic names.
            trained_with: The command that trained the model, e.g. a recipe script.
            test_scores: Scores on the test split (``segnet evaluate``'s metrics).
            train_config: The training run's config, for provenance.
            domain_detector: A ``.domain.npz`` file (``segnet calibrate``) or a
                ``DomainDetector``; None for none.
            details: More of the model's record for ``model.json`` (JSON values),
                e.g. ``training`` (epochs, time, CPU) or ``robustness`` scores.

        Returns:
            The folder.
        """
        return save_preset(
            self, folder, classes, trained_with, test_scores, train_config, domain_detector, details
        )

    def pooling_taps(self) -> Sequence:
        """The ``PoolingTap`` of each level that pools with indices (none here)."""
        return ()


def check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be a positive int. Received: {name}={value!r}")
    return value
