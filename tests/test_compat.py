"""The Keras/TensorFlow internals of segnet_tf._compat still exist and behave as assumed.

A failure here after an upgrade names the workaround to revisit (each is documented
in segnet_tf/_compat.py with the upstream issue)."""

import inspect

import keras
import numpy as np
import tensorflow as tf

from segnet_tf import _compat


def compiled_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    return model


def test_symbolic_build_creates_the_metric_variables_without_running_the_model():
    model = compiled_model()
    before = [w.numpy().copy() for w in model.weights]
    built = len(model.metrics_variables)
    _compat.build_compiled_state(model, (np.zeros((1, 4), "float32"), np.zeros((1, 2), "float32")))
    assert len(model.metrics_variables) > built  # the compiled "mae" metric's
    assert all(float(np.sum(v)) == 0 for v in model.metrics_variables)  # nothing counted
    for ours, theirs in zip(model.weights, before, strict=True):
        np.testing.assert_array_equal(ours.numpy(), theirs)


def test_fit_builds_through_maybe_symbolic_build_with_these_arguments():
    # build_from_first_local_replica replaces this method on the instance.
    parameters = inspect.signature(keras.Model._maybe_symbolic_build).parameters
    assert list(parameters)[:3] == ["self", "iterator", "data_batch"]
    model = compiled_model()
    assert model._distribute_strategy is None  # set by Keras; None outside a strategy
    calls = []
    original = model._maybe_symbolic_build

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    model._maybe_symbolic_build = counting
    model.fit(np.zeros((4, 4)), np.zeros((4, 2)), epochs=1, verbose=0)
    assert calls  # fit still goes through the instance's attribute
    # The replacement returns at once without a strategy, and fit still works.
    model = compiled_model()
    _compat.build_from_first_local_replica(model)
    model.fit(np.zeros((4, 4)), np.zeros((4, 2)), epochs=1, verbose=0)


def test_fit_reads_train_function_at_every_step_after_on_train_begin():
    model = compiled_model()
    calls = []

    class Swap(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            real = _compat.replace_train_function(self.model, None)

            def counted(iterator):
                calls.append(1)
                return real(iterator)

            _compat.replace_train_function(self.model, counted)

    model.fit(
        np.zeros((8, 4)), np.zeros((8, 2)), batch_size=2, epochs=1, verbose=0, callbacks=[Swap()]
    )
    assert len(calls) == 4  # one per step: the swapped function ran every step


def test_convert_variables_to_constants_freezes_a_function():
    variable = tf.Variable([[2.0]])

    @tf.function(input_signature=[tf.TensorSpec([1, 1], tf.float32)])
    def scale(x):
        return tf.matmul(x, variable)

    frozen = _compat.convert_variables_to_constants_v2(scale.get_concrete_function())
    ops = {node.op for node in frozen.graph.as_graph_def().node}
    assert "ReadVariableOp" not in ops and "VarHandleOp" not in ops
    variable.assign([[5.0]])  # the frozen function keeps the value it was frozen with
    np.testing.assert_allclose(frozen(tf.constant([[3.0]]))[0].numpy(), [[6.0]])
