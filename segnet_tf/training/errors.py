"""Errors of a training run (importable without TensorFlow)."""


class TrainingDivergedError(RuntimeError):
    """The loss (or a weight) became NaN or infinite."""
