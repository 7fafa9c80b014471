"""The model and data-source names a config accepts, known without what they name.

What a name builds or loads is registered above the configs: a model by
:func:`segnet_tf.models.register_model` (which imports Keras), a data source by
:func:`segnet_tf.data_sources.register_data_source` (whose loaders import the data
package). The configs check names against the lists here instead, so that they stay
at the bottom of the import graph and the ``segnet`` parser needs no TensorFlow. The
lists start with the package's own names and grow with every registration: both
register functions enter the name here too, so a config accepts a model or a data
source the user registered. ``tests/test_registered_names.py`` keeps the package's
own names equal to what its registries register.
"""

from __future__ import annotations

from types import MappingProxyType

PACKAGE_MODELS = (
    "bayesian_segnet",
    "bayesian_segnet_basic",
    "fcn32s",
    "fcn8s",
    "segnet",
    "segnet_basic",
    "segnet_encoder_addition",
    "unet",
)
"""The models :mod:`segnet_tf.models` registers (SegNet, U-Net and FCN variants)."""

PACKAGE_DATA_SOURCES = MappingProxyType({"camvid": False, "folder": True, "synthetic": False})
"""The data sources :mod:`segnet_tf.data_sources` registers, in its order, each with
whether it reads a folder that has no default (then ``data_dir`` is required)."""

_models: set[str] = set(PACKAGE_MODELS)
_data_sources: dict[str, bool] = dict(PACKAGE_DATA_SOURCES)


def model_names() -> tuple[str, ...]:
    """The registered model names, sorted (as ``segnet_tf.list_models()`` lists them)."""
    return tuple(sorted(_models))


def add_model_name(name: str) -> None:
    """Accept ``name`` as a model; called by ``register_model``."""
    _models.add(name)


def data_source_names() -> tuple[str, ...]:
    """The registered data-source names, in registration order."""
    return tuple(_data_sources)


def needs_data_dir(source: str) -> bool:
    """Whether the data source ``source`` reads a folder that has no default."""
    return _data_sources[source]


def add_data_source_name(name: str, needs_data_dir: bool) -> None:
    """Accept ``name`` as a data source; called by ``register_data_source``."""
    _data_sources[name] = needs_data_dir
