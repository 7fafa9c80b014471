"""Segmentation metrics of the SegNet paper: G, C, mIoU and boundary F1 (BF).

Standalone numpy functions (`confusion_matrix`, `scores_from_confusion`,
`boundary_f1`, `SegmentationEvaluator`) and streaming Keras metrics for
`compile()` (`GlobalAccuracy`, `ClassAverageAccuracy`, `MeanIoU`,
`BoundaryF1`). All scores are fractions in [0, 1]; void pixels are ignored.
"""

from segnet_tf.metrics.boundary import (
    DEFAULT_TOLERANCE,
    boundary_f1,
    boundary_f1_image,
    boundary_f1_scores,
    per_image_boundary_f1,
)
from segnet_tf.metrics.confusion import confusion_matrix, per_class_scores, scores_from_confusion
from segnet_tf.metrics.evaluator import SegmentationEvaluator
from segnet_tf.metrics.keras_metrics import (
    BoundaryF1,
    ClassAverageAccuracy,
    ConfusionMatrixMetric,
    GlobalAccuracy,
    MeanIoU,
)

__all__ = [
    "DEFAULT_TOLERANCE",
    "BoundaryF1",
    "ClassAverageAccuracy",
    "ConfusionMatrixMetric",
    "GlobalAccuracy",
    "MeanIoU",
    "SegmentationEvaluator",
    "boundary_f1",
    "boundary_f1_image",
    "boundary_f1_scores",
    "confusion_matrix",
    "per_class_scores",
    "per_image_boundary_f1",
    "scores_from_confusion",
]
