"""Fine-tuning: start a new model from the weights of a preset or a ``.keras`` file.

``segnet train --init-from PRESET_OR_FILE`` builds the model its config asks for, then
copies, layer by layer, the weights of the source's layer of the same name when every
one of its weights has the same shape. The others keep their fresh initialisation: the
classifier when the class count differs, any layer the source lacks or holds at
another width. The run prints which layers were loaded and which were not, and why.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import keras

from segnet_tf.models.presets import load_preset_model
from segnet_tf.preset_folders import names_a_folder, preset_names


@dataclass(frozen=True)
class InitReport:
    """What :func:`init_weights_from` copied.

    Attributes:
        source: The preset or file the weights came from.
        loaded: Names of the layers whose weights were copied.
        not_loaded: ``(layer name, reason)`` of the layers with weights left as built.
    """

    source: str
    loaded: tuple[str, ...]
    not_loaded: tuple[tuple[str, str], ...]

    def summary(self) -> str:
        """Several lines: the counts, then each layer not loaded with the reason."""
        total = len(self.loaded) + len(self.not_loaded)
        lines = [f"--init-from {self.source}: loaded {len(self.loaded)} of {total} layers"]
        if self.loaded:
            lines.append("  loaded: " + ", ".join(self.loaded))
        lines += [f"  not loaded: {name} ({reason})" for name, reason in self.not_loaded]
        return "\n".join(lines)


def load_source_model(init_from: str | os.PathLike) -> keras.Model:
    """The model ``init_from`` names: a preset (name or folder) or a ``.keras`` file.

    Raises:
        ValueError: A name that is no preset, or a file that is not a Keras model
            (the message says what is expected).
    """
    text = os.fspath(init_from)
    if os.path.isdir(text) or (not names_a_folder(text) and not text.endswith(".keras")):
        return load_preset_model(text)
    path = Path(text)
    if not path.is_file():
        raise ValueError(
            f"--init-from {text}: no such file or preset folder; expected a preset name "
            f"({', '.join(preset_names()) or 'none installed'}), a preset folder or a "
            ".keras model file."
        )
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as err:  # Keras/zipfile/h5py raise many types for a bad file
        raise ValueError(
            f"--init-from {text}: not a Keras model file ({type(err).__name__}: {err}); "
            "expected a .keras file such as a run's best.keras, or a preset."
        ) from err
    if not isinstance(model, keras.Model):
        raise ValueError(f"--init-from {text}: holds a {type(model).__name__}, not a model.")
    return model


def _layers_with_weights(model: keras.Model) -> dict[str, keras.layers.Layer]:
    return {layer.name: layer for layer in model.layers if layer.weights}


def init_weights_from(model: keras.Model, source: keras.Model, name: str = "") -> InitReport:
    """Copy into ``model`` the weights of ``source``'s layers of the same name and shapes.

    Args:
        model: The freshly built model (changed in place).
        source: The trained model.
        name: How to call the source in the report (default: its model name).
    """
    theirs = _layers_with_weights(source)
    loaded, not_loaded = [], []
    for layer_name, layer in _layers_with_weights(model).items():
        other = theirs.get(layer_name)
        if other is None:
            not_loaded.append((layer_name, "no layer of that name in the source"))
            continue
        ours_shapes = [tuple(w.shape) for w in layer.weights]
        their_shapes = [tuple(w.shape) for w in other.weights]
        if ours_shapes != their_shapes:
            not_loaded.append(
                (layer_name, f"shapes differ: {ours_shapes} here, {their_shapes} in the source")
            )
            continue
        for variable, value in zip(layer.weights, other.weights, strict=True):
            variable.assign(keras.ops.cast(value, variable.dtype))
        loaded.append(layer_name)
    return InitReport(name or source.name, tuple(loaded), tuple(not_loaded))
