"""The few places where the package relies on Keras or TensorFlow internals.

Each function below does one job that no public API does (checked against Keras 3.15
and TensorFlow 2.21), names the internal it uses and the upstream issue where there
is one. ``tests/test_compat.py`` asserts that each internal still exists and behaves
as assumed, so an upgrade that changes one fails there, by name, rather than deep in
a training or export run. Everything else in the package uses public APIs only.
"""

from __future__ import annotations

import types
from collections.abc import Callable

import keras


def build_compiled_state(model: keras.Model, data_batch) -> None:
    """Create the compiled loss's and metrics' variables before the first train step.

    A resumed run restores the running metric values of its interrupted epoch into
    ``model.metrics_variables``, which Keras creates only on the first call of
    ``fit``. Keras' ``Trainer._symbolic_build`` creates them from a batch's shapes
    without running the model or changing any state; no public method does (calling
    ``compute_metrics`` would update the metrics). Upstream issue: none found.

    Args:
        model: A compiled model.
        data_batch: ``(images, labels)`` arrays with the training batch's dtypes.
    """
    model._symbolic_build(data_batch=data_batch)


def build_from_first_local_replica(model: keras.Model) -> None:
    """Make ``fit`` / ``evaluate`` build ``model`` from one replica's batch.

    Under ``MultiWorkerMirroredStrategy``, Keras 3's ``Trainer._maybe_symbolic_build``
    gathers the whole first data batch across workers (a collective) only to learn
    its shapes (keras-team/keras#20585). This replaces the method on ``model`` with
    one that takes the first local replica's batch, which has the same shapes; it
    reads ``model._distribute_strategy``, which Keras sets when a model is created
    under a strategy scope.
    """
    import tensorflow as tf  # noqa: PLC0415 - only distributed training needs it

    def symbolic_build(self, iterator=None, data_batch=None):
        if self._distribute_strategy is None:
            return
        if iterator is not None:
            for _, _, it in iterator:
                batch = next(it)
                data_batch = keras.tree.map_structure(
                    lambda v: (
                        self.distribute_strategy.experimental_local_results(v)[0]
                        if isinstance(v, tf.distribute.DistributedValues)
                        else v
                    ),
                    batch,
                )
                break
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    model._maybe_symbolic_build = types.MethodType(symbolic_build, model)


def replace_train_function(model: keras.Model, function: Callable) -> Callable:
    """Put ``function`` in place of the compiled training step; returns the old one.

    A run resumed mid-epoch replays the steps its backup already holds as no-ops, so
    that ``fit`` consumes the same batches (and epochs end where they did). Keras'
    ``fit`` builds ``model.train_function`` before ``on_train_begin`` and reads the
    attribute at every step, so a callback can swap it there; Keras documents no hook
    to skip steps (``initial_epoch`` skips whole epochs only). Upstream issue: none
    found.
    """
    previous = model.train_function
    model.train_function = function
    return previous


def convert_variables_to_constants_v2(concrete_function):
    """The function with its captured variables frozen into constants.

    TensorFlow's ``convert_variables_to_constants_v2`` lives under
    ``tensorflow.python`` and has no public alias (``tf.compat.v1.graph_util``
    freezes v1 sessions' graphs only). Upstream issue: none found.
    """
    from tensorflow.python.framework import convert_to_constants  # noqa: PLC0415

    return convert_to_constants.convert_variables_to_constants_v2(concrete_function)
