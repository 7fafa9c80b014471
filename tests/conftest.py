import gc
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="module")
def tiny_model_path(tmp_path_factory):
    """A saved 11-class SegNet-Basic at 1/16 width (random weights, seed 0)."""
    import segnet_tf

    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    segnet_tf.get_model("segnet_basic", 11, width=1 / 16).save(path)
    return path


@pytest.fixture
def dtype_policy():
    """Sets a global Keras dtype policy for one test and restores float32 after it."""

    def set_policy(name):
        keras.config.set_dtype_policy(name)

    yield set_policy
    keras.config.set_dtype_policy("float32")


def pytest_unconfigure(config):
    """Skip Python's last garbage collection, over everything the suite left behind.

    After the summary, interpreter shutdown walked every object the tests created
    (hundreds of Keras models and TensorFlow graphs): about 50 s on a busy machine,
    with the result already printed. `gc.freeze` moves them out of the collector's
    reach; the process is exiting, so nothing is leaked for long.
    """
    gc.freeze()
