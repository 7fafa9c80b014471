"""The names ``segnet adjust`` and the logit-adjustment sweep share. No TensorFlow.

Post-hoc logit adjustment (Menon et al., "Long-tail learning via logit adjustment",
ICLR 2021) adds ``-tau * log(prior)`` to each class logit; the sweep
(:mod:`segnet_tf.training.logit_adjustment`) tries each strength and keeps the best
by one of the scores below.
"""

# Candidate strengths tau of the sweep (0 = the model as trained), and the scores
# that can choose among them.
DEFAULT_TAUS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)
SELECTION_METRICS = ("mean_iou", "class_average_accuracy", "global_accuracy")
