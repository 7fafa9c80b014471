"""Loading the MODEL argument of `segnet predict`, `export` and `evaluate`.

What the argument names (a `.keras` file, a preset folder or a bundled preset's
name) is read without TensorFlow in :mod:`segnet_tf.config.model_argument`, with
the configs; this module loads it, and keeps that module's names importable from
here.
"""

from __future__ import annotations

from segnet_tf.config.model_argument import (  # noqa: F401 - re-exported
    model_field,
    model_file,
    model_help,
    preset_name,
)
from segnet_tf.preset_folders import (  # noqa: F401 - where the names are looked up, for callers
    PRESETS_DIR,
    preset_names,
)


def load_segmenter(model_arg: str, **kwargs):
    """A ``Segmenter`` for a model file or a preset name.

    Args:
        model_arg: A model file path or a preset name.
        **kwargs: Other ``Segmenter`` arguments (``classes``, ``tile_size``...).
    """
    from segnet_tf.inference import Segmenter  # imports TensorFlow: only when called

    name = preset_name(model_arg)
    if name is None:
        return Segmenter.from_file(model_arg, **kwargs)  # a file or a preset folder
    return Segmenter.from_preset(name, **kwargs)
