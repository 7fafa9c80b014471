"""Run an exported model (SavedModel, TFLite, ONNX) as a function of images.

`segnet evaluate` scores the exported artefact itself through these, so that the
accuracy of a bfloat16 SavedModel or an int8 TFLite file is measured on what is
deployed, not on the Keras model it came from.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from segnet_tf.export.input_checks import check_image_batch
from segnet_tf.model_files import ARTEFACT_SUFFIXES, is_exported_model


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
    the artefact's class ids. Any other shape is refused with a ``ValueError`` naming
    it, whatever the format (:mod:`segnet_tf.export.input_checks`).

    Attributes:
        num_classes: ``C``, the classes the artefact predicts (None if it does not say).

    Args:
        path: A ``.tflite`` file, an ``.onnx`` file (needs onnxruntime) or a SavedModel
            version directory (``OUT/<name>/<version>``).
        num_threads: Threads of the TFLite interpreter / ONNX Runtime session; defaults
            to every CPU.

    Raises:
        ValueError: If the path is none of these, or cannot be loaded (a damaged
            ``.tflite`` file is found before TFLite reads it: its interpreter would
            crash the process).
    """

    def __init__(self, path: str | os.PathLike, num_threads: int | None = None):
        self.path = Path(path)
        self.name = self.path.name
        self.num_classes: int | None = None
        threads = num_threads or os.cpu_count() or 1
        if not self.path.exists():
            raise ValueError(f"{self.path}: no such exported model.")
        if not is_exported_model(self.path):
            raise ValueError(
                f"{self.path}: not an exported model; expected a .tflite or .onnx file or a "
                "SavedModel directory (holding saved_model.pb)."
            )
        if self.path.is_dir() and self.path.suffix in ARTEFACT_SUFFIXES:
            raise ValueError(
                f"{self.path}: is a folder; expected a {self.path.suffix} file (or a "
                "SavedModel folder holding saved_model.pb)."
            )
        tflite_model = None
        if self.path.suffix == ".tflite":
            from segnet_tf.export.tflite import read_tflite_file  # noqa: PLC0415

            tflite_model = read_tflite_file(self.path)
        try:
            if self.path.suffix == ".tflite":
                self._run = self._tflite(tflite_model, threads)
            elif self.path.suffix == ".onnx":
                self._run = self._onnx(threads)
            else:
                self._run = self._saved_model()
        except ImportError:
            raise
        except Exception as err:  # each runtime raises its own types for a bad file
            raise ValueError(f"{self.path}: cannot load ({type(err).__name__}: {err}).") from err

    def _tflite(self, model: bytes, threads: int):
        import tensorflow as tf  # noqa: PLC0415

        interpreter = tf.lite.Interpreter(model_content=model, num_threads=threads)
        runner = interpreter.get_signature_runner("serving_default")
        shape = runner.get_output_details()["probabilities"]["shape_signature"]
        self.num_classes = _known(shape[-1])
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
        self.num_classes = _known(session.get_outputs()[index].shape[-1])
        return lambda images: session.run(None, {input_name: images})[index]

    def _saved_model(self):
        import tensorflow as tf  # noqa: PLC0415

        loaded = tf.saved_model.load(str(self.path))
        signature = loaded.signatures["serving_default"]
        self.num_classes = _known(signature.structured_outputs["probabilities"].shape[-1])
        self._loaded = loaded  # the signature needs its module alive
        return lambda images: signature(images=tf.constant(images))["probabilities"].numpy()

    def __call__(self, images, training: bool = False) -> np.ndarray:
        del training  # an exported model is always in inference mode
        images = check_image_batch(images, str(self.path))
        return np.asarray(self._run(_uint8_images(images)), np.float32)


def _known(dimension) -> int | None:
    """A dimension a runtime reports, as an int; None when it is dynamic or symbolic."""
    return int(dimension) if isinstance(dimension, int | np.integer) and dimension > 0 else None
