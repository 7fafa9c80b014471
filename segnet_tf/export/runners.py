"""Run an exported model (SavedModel, TFLite, ONNX) as a function of images.

`segnet evaluate` scores the exported artefact itself through these, so that the
accuracy of a bfloat16 SavedModel or an int8 TFLite file is measured on what is
deployed, not on the Keras model it came from.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

ARTEFACT_SUFFIXES = (".tflite", ".onnx")


def is_exported_model(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a ``.tflite`` / ``.onnx`` file or a SavedModel directory."""
    path = Path(path)
    if path.suffix in ARTEFACT_SUFFIXES:
        return True
    return path.is_dir() and (path / "saved_model.pb").is_file()


def _uint8_images(images) -> np.ndarray:
    """Batches of float pixels in 0..255 (the data pipeline's) as the uint8 the exports take."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)


class ExportedModel:
    """An exported segmentation model called like a Keras one: images -> probabilities.

    ``model(images, training=False)`` takes ``[B, H, W, 3]`` pixels in 0..255 (uint8 or
    float, rounded) and returns float32 probabilities ``[B, H, W, C]``, whose argmax is
    the artefact's class ids.

    Args:
        path: A ``.tflite`` file, an ``.onnx`` file (needs onnxruntime) or a SavedModel
            version directory (``OUT/<name>/<version>``).
        num_threads: Threads of the TFLite interpreter / ONNX Runtime session; defaults
            to every CPU.

    Raises:
        ValueError: If the path is none of these, or cannot be loaded.
    """

    def __init__(self, path: str | os.PathLike, num_threads: int | None = None):
        self.path = Path(path)
        self.name = self.path.name
        threads = num_threads or os.cpu_count() or 1
        if not self.path.exists():
            raise ValueError(f"{self.path}: no such exported model.")
        if not is_exported_model(self.path):
            raise ValueError(
                f"{self.path}: not an exported model; expected a .tflite or .onnx file or a "
                "SavedModel directory (holding saved_model.pb)."
            )
        try:
            if self.path.suffix == ".tflite":
                self._run = self._tflite(threads)
            elif self.path.suffix == ".onnx":
                self._run = self._onnx(threads)
            else:
                self._run = self._saved_model()
        except ImportError:
            raise
        except Exception as err:  # each runtime raises its own types for a bad file
            raise ValueError(f"{self.path}: cannot load ({type(err).__name__}: {err}).") from err

    def _tflite(self, threads: int):
        import tensorflow as tf  # noqa: PLC0415

        interpreter = tf.lite.Interpreter(model_path=str(self.path), num_threads=threads)
        runner = interpreter.get_signature_runner("serving_default")
        return lambda images: runner(images=images)["probabilities"]

    def _onnx(self, threads: int):
        try:
            import onnxruntime  # noqa: PLC0415 - optional dependency
        except ImportError as err:
            raise ImportError(
                "Running an ONNX model needs onnxruntime: pip install 'segnet_tf[onnx]'."
            ) from err
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        session = onnxruntime.InferenceSession(
            str(self.path), options, providers=["CPUExecutionProvider"]
        )
        input_name = session.get_inputs()[0].name
        names = [output.name for output in session.get_outputs()]
        index = next(i for i, name in enumerate(names) if "probabilities" in name)
        return lambda images: session.run(None, {input_name: images})[index]

    def _saved_model(self):
        import tensorflow as tf  # noqa: PLC0415

        loaded = tf.saved_model.load(str(self.path))
        signature = loaded.signatures["serving_default"]
        self._loaded = loaded  # the signature needs its module alive
        return lambda images: signature(images=tf.constant(images))["probabilities"].numpy()

    def __call__(self, images, training: bool = False) -> np.ndarray:
        del training  # an exported model is always in inference mode
        return np.asarray(self._run(_uint8_images(images)), np.float32)
