"""Dropout that stays active at inference, for Monte-Carlo sampling."""

import keras


@keras.saving.register_keras_serializable(package="segnet_tf")
class MonteCarloDropout(keras.layers.Dropout):
    """Dropout applied in training and at inference alike.

    Bayesian SegNet (Kendall, Badrinarayanan, Cipolla, 2015) samples the
    posterior over weights by keeping dropout on at test time and averaging
    several stochastic forward passes; `segnet_tf.models.mc_predict` does that
    averaging. Arguments are those of `keras.layers.Dropout`.
    """

    def call(self, inputs, training=None):
        return super().call(inputs, training=True)
