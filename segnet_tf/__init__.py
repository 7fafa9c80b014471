"""segnet_tf: SegNet-family semantic segmentation for Keras 3 / TensorFlow."""

from segnet_tf import layers
from segnet_tf.models import get_model, list_models, mc_predict

__version__ = "0.1.0"

__all__ = ["get_model", "layers", "list_models", "mc_predict"]
