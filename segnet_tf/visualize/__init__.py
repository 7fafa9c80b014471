"""Pictures of predictions: masks, overlays, heat-maps with colour bars, legends and the
"inside SegNet" view; figures of results: confusion matrices and training curves.

Pure numpy/Pillow/Keras; nothing here imports a UI toolkit, so ``segnet predict``, the
demo, notebooks and scripts share the same drawing code.
"""

from segnet_tf.visualize.colormap import (
    colorize_scalar_map,
    feature_grid,
    uncertainty_image,
    with_colorbar,
)
from segnet_tf.visualize.figures import plot_confusion_matrix, plot_training_curves
from segnet_tf.visualize.inside_segnet import (
    FeatureMaps,
    InsideSegNet,
    has_inside_view,
    pick_channels,
    render_panels,
    zoom_panels,
)
from segnet_tf.visualize.masks import (
    colorize,
    draw_legend,
    highlight_class,
    mask_image,
    mask_png_bytes,
    overlay,
    split_view,
    with_legend,
)

__all__ = [
    "FeatureMaps",
    "InsideSegNet",
    "colorize",
    "colorize_scalar_map",
    "draw_legend",
    "feature_grid",
    "has_inside_view",
    "highlight_class",
    "mask_image",
    "mask_png_bytes",
    "overlay",
    "pick_channels",
    "plot_confusion_matrix",
    "plot_training_curves",
    "render_panels",
    "split_view",
    "uncertainty_image",
    "with_colorbar",
    "with_legend",
    "zoom_panels",
]
