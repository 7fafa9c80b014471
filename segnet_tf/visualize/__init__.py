"""Pictures of what a segmentation model sees: heat-maps and the "inside SegNet" view.

Pure numpy/Pillow/Keras; nothing here imports a UI toolkit, so the Streamlit demo,
notebooks and scripts share the same drawing code.
"""

from segnet_tf.visualize.colormap import colorize_scalar_map, feature_grid
from segnet_tf.visualize.inside_segnet import (
    FeatureMaps,
    InsideSegNet,
    has_inside_view,
    pick_channels,
    render_panels,
    zoom_panels,
)

__all__ = [
    "FeatureMaps",
    "InsideSegNet",
    "colorize_scalar_map",
    "feature_grid",
    "has_inside_view",
    "pick_channels",
    "render_panels",
    "zoom_panels",
]
