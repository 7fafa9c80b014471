"""The package's version: the one place it is written.

pyproject.toml reads it (``[tool.setuptools.dynamic]``), ``segnet_tf.__version__``
re-exports it and ``segnet --version`` prints it. This module imports nothing, so
reading it costs nothing and never imports TensorFlow.
"""

__version__ = "0.2.0"
