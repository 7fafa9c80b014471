"""The names the configs accept (segnet_tf.config.registered_names) stay in step with
the registries above them: the package's own models and data sources, and the ones a
user registers."""

import pytest

from segnet_tf import data_sources
from segnet_tf.config import TrainConfig
from segnet_tf.config import registered_names as names
from segnet_tf.config_fields import ConfigError
from segnet_tf.models import registry


def test_the_configs_know_every_model_the_package_registers():
    # Entries whose builder the package defines (a test may register its own).
    package_models = {
        name
        for name, entry in registry._ENTRIES.items()
        if entry.builder.__module__.startswith("segnet_tf.")
    }
    assert package_models == set(names.PACKAGE_MODELS)
    assert names.model_names() == tuple(registry.list_models())


def test_the_configs_know_every_data_source_the_package_registers():
    package_sources = {
        name: source.needs_data_dir
        for name, source in data_sources._SOURCES.items()
        if source.load.__module__ == "segnet_tf.data_sources"
    }
    assert package_sources == dict(names.PACKAGE_DATA_SOURCES)
    # In the same order: the `segnet train --data` choices list them so.
    assert list(package_sources) == list(names.PACKAGE_DATA_SOURCES)


def test_a_registered_model_and_data_source_are_accepted_by_train_config():
    with pytest.raises(ConfigError, match="^model='my_segnet' is invalid"):
        TrainConfig(model="my_segnet").validate()
    with pytest.raises(ConfigError, match="^data='my_folder' is invalid"):
        TrainConfig(data="my_folder").validate()

    def load(split, **_):
        raise AssertionError("not loaded by a config check")

    registry.register_model("my_segnet", registry._ENTRIES["segnet_basic"].builder)
    data_sources.register_data_source(
        data_sources.DataSource("my_folder", load, needs_data_dir=True)
    )
    try:
        assert "my_segnet" in names.model_names()
        TrainConfig(model="my_segnet", data="my_folder", data_dir="d").validate()
        with pytest.raises(ConfigError, match="^data_dir=None is invalid"):
            TrainConfig(data="my_folder").validate()
    finally:
        registry._ENTRIES.pop("my_segnet")
        names._models.discard("my_segnet")
        data_sources._SOURCES.pop("my_folder")
        names._data_sources.pop("my_folder")
