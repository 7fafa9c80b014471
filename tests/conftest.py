import gc
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _import_tensorflow_quietly():
    """Import Keras (and so TensorFlow) with file descriptor 2 sent to a temporary file.

    TensorFlow logs its start-up lines (oneDNN, CUDA drivers, CPU instructions) before
    its logging reads TF_CPP_MIN_LOG_LEVEL. pytest captures what this module prints
    while it loads and prints it when the session ends, so they came after the
    summary line. As `segnet` does (segnet_tf.cli.tf_logs), they are shown only if
    the import fails.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import keras  # noqa: F401
        except BaseException:
            os.dup2(saved, 2)
            capture.seek(0)
            sys.stderr.write(capture.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


_import_tensorflow_quietly()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="module")
def tiny_model_path(tmp_path_factory):
    """A saved 11-class SegNet-Basic at 1/16 width (random weights, seed 0)."""
    import segnet_tf

    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    segnet_tf.get_model("segnet_basic", 11, width=1 / 16).save(path)
    return path


@pytest.fixture(scope="module")
def decisive_model_path(tmp_path_factory):
    """A saved 11-class SegNet-Basic at 1/16 width whose logits are scaled to std 4.

    Random weights give near-uniform probabilities, whose argmax a rounding-level change
    flips; scaled logits make most pixels' class clear, so that a reduced-precision copy
    (bfloat16, int8) can be checked to agree with float32 on them.
    """
    import segnet_tf

    keras.utils.set_random_seed(0)
    model = segnet_tf.get_model("segnet_basic", 11, width=1 / 16)
    classifier = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)][-1]
    images = np.random.default_rng(0).uniform(0, 255, (1, 40, 56, 3)).astype("float32")
    scale = 4.0 / float(np.std(model(images, training=False)))
    classifier.kernel.assign(classifier.kernel * scale)
    classifier.bias.assign(classifier.bias * scale)
    path = tmp_path_factory.mktemp("decisive") / "decisive.keras"
    model.save(path)
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
