"""Distribution strategies (TensorFlow's own engine) and the patches Keras 3 needs.

``--strategy mirrored`` uses ``tf.distribute.MirroredStrategy`` (all local devices);
``--strategy multiworker`` uses ``tf.distribute.MultiWorkerMirroredStrategy`` with
the cluster described by the ``TF_CONFIG`` environment variable, e.g. on worker 1 of
two::

    TF_CONFIG='{"cluster": {"worker": ["host0:12345", "host1:12345"]},
                "task": {"type": "worker", "index": 1}}'

Keras 3 (3.15) ``fit`` does not run under MultiWorkerMirroredStrategy as shipped
(keras-team/keras#20585): it all-reduces the first *data* batch to build the model,
and it reduces per-replica metric scalars along an axis they do not have.
:func:`patch_for_multiworker` works around both on one model instance, and makes
batch normalisation synchronised so that every worker ends with identical weights.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import keras
import tensorflow as tf

from segnet_tf._compat import build_from_first_local_replica
from segnet_tf.models.graph import all_layers


@dataclass(frozen=True)
class WorkerInfo:
    """Where this process sits in the cluster.

    Args:
        index: Worker index (0 for single-machine runs).
        is_chief: Whether this worker writes the run's artifacts.
    """

    index: int
    is_chief: bool


def worker_info(strategy_name: str) -> WorkerInfo:
    """Read this process's role from ``TF_CONFIG`` (chief = worker 0 or ``chief``).

    Args:
        strategy_name: ``"none"``, ``"mirrored"`` or ``"multiworker"``.

    Raises:
        ValueError: ``multiworker`` without a valid ``TF_CONFIG``.
    """
    if strategy_name != "multiworker":
        return WorkerInfo(0, True)
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise ValueError(
            "--strategy multiworker needs the TF_CONFIG environment variable, e.g. "
            '{"cluster": {"worker": ["host0:12345", "host1:12345"]}, '
            '"task": {"type": "worker", "index": 0}}.'
        )
    try:
        tf_config = json.loads(raw)
        task = tf_config["task"]
        task_type, index = task["type"], int(task["index"])
        cluster = tf_config["cluster"]
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise ValueError(f"TF_CONFIG is invalid ({err}); expected cluster and task keys.") from err
    is_chief = task_type == "chief" or (
        task_type == "worker" and index == 0 and "chief" not in cluster
    )
    return WorkerInfo(index, is_chief)


def make_strategy(name: str):
    """Create the strategy. Call it before any other TensorFlow op (MultiWorker
    strategies must configure the runtime first).

    Args:
        name: ``"none"`` (default strategy), ``"mirrored"`` or ``"multiworker"``.
    """

    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        worker_info(name)  # Clear error when TF_CONFIG is missing.
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"unknown strategy {name!r}; expected none, mirrored, multiworker.")


def is_multi_worker(strategy) -> bool:

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def synchronize_batch_norm(model: keras.Model) -> None:
    """Compute batch statistics over all replicas.

    Without it every replica updates its own moving mean/variance from its own
    sub-batch, and the workers' non-trainable weights drift apart.
    """
    for layer in all_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True


def patch_for_multiworker(model: keras.Model) -> None:
    """Make ``model.fit`` / ``evaluate`` run under MultiWorkerMirroredStrategy.

    Args:
        model: A model created (and compiled) under the strategy's scope.
    """

    def with_batch_axis(step):
        # Keras reduces multi-worker step outputs with MEAN over axis 0, which scalar
        # metric results lack; give them a length-1 axis that the mean removes.
        def wrapped(data):
            return {k: tf.reshape(v, [1]) for k, v in step(data).items()}

        return wrapped

    build_from_first_local_replica(model)
    model.train_step = with_batch_axis(model.train_step)
    model.test_step = with_batch_axis(model.test_step)
