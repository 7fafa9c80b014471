"""SegNet demo page: segment photos, camera shots and CamVid frames in the browser.

Served by ``segnet demo`` (``streamlit run`` of this file) or, in a source checkout, by
``streamlit run demo/app.py``. This is the only module of the package that imports
Streamlit; it lays out the page and imports what it uses from the modules of ``segnet_tf.demo``.
Models are cached as resources (one loaded, warmed-up copy shared by all sessions),
per-image results as data (copies keyed by the model and the image's pixels).
"""

from __future__ import annotations

import functools
import html
import math
from collections.abc import Callable
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from segnet_tf.demo.clips import (
    CLIP_TYPES,
    DEFAULT_CLIP_FRAMES,
    MAX_CLIP_FRAMES,
    ClipInputError,
    ClipResult,
    segment_clip,
)
from segnet_tf.demo.images import (
    IMAGE_TYPES,
    MAX_UPLOAD_MB,
    WORKING_MAX_SIDE,
    ImageInputError,
    InputImage,
    decode_image_bytes,
)
from segnet_tf.demo.models import (
    ModelInfo,
    ModelRef,
    default_model_source,
    describe_model,
    load_segmenter,
    other_bundled_sources,
    store_uploaded_model,
)
from segnet_tf.demo.results import (
    Analysis,
    ClassShare,
    class_entries,
    class_shares,
    domain_notice,
    png_bytes,
    segment,
    stem,
)
from segnet_tf.demo.samples import Sample, camvid_hint, list_samples, load_sample
from segnet_tf.image_decoding import FORMAT_NAMES
from segnet_tf.inference.prediction_mode import PredictionMode
from segnet_tf.inference.segmenter import Segmenter
from segnet_tf.inference.tta import CAMVID_VAL_CHOICE as TTA
from segnet_tf.visualize import (
    FeatureMaps,
    InsideSegNet,
    colorize,
    colorize_scalar_map,
    highlight_class,
    mask_png_bytes,
    overlay,
    pick_channels,
    render_panels,
    split_view,
    with_colorbar,
    zoom_panels,
)

_LEGEND_CSS = """<style>
.segnet-legend {display: grid; grid-template-columns: 1fr; gap: 4px; font-size: 0.9rem;}
.segnet-legend .row {display: flex; align-items: center; gap: 8px;}
.segnet-legend .swatch {width: 16px; height: 16px; border-radius: 3px;
    border: 1px solid rgba(0,0,0,.25); flex: none;}
.segnet-legend .pct {margin-left: auto; color: #555; font-variant-numeric: tabular-nums;}
</style>"""

INPUTS = ("Photos", "Camera", "Video clip")
INSIDE_TITLES = {
    "encoder": "① Encoder feature map (before pooling)",
    "pooled": "② Max-pooled: one value per 2×2 window",
    "replaced": "③ Put back by the pooling indices",
    "decoder": "④ Decoder's unpooled map (same positions)",
}


# --- cached work ----------------------------------------------------------------------


@st.cache_resource(show_spinner="Loading the model and warming it up…", max_entries=4)
def load_model(ref: ModelRef) -> Segmenter:
    """The loaded model, warmed up, so that inference times are the model's own."""
    return load_segmenter(ref.path, ref.classes_json)


@st.cache_resource(show_spinner=False, max_entries=4)
def load_inside(ref: ModelRef) -> InsideSegNet:
    return InsideSegNet(load_model(ref).model)


@st.cache_resource(show_spinner=False)
def samples() -> dict[str, Sample]:
    return {sample.key: sample for sample in list_samples()}


@st.cache_data(show_spinner=False, max_entries=64)
def analyse(ref: ModelRef, image: InputImage, mode: PredictionMode) -> Analysis:
    return segment(load_model(ref), image, mode=mode)


@st.cache_data(show_spinner=False, max_entries=16)
def inside_maps(ref: ModelRef, image: InputImage) -> FeatureMaps:
    return load_inside(ref).extract(image.rgb)


@st.cache_data(show_spinner=False, max_entries=4)
def clip_result(
    ref: ModelRef,
    data: bytes,
    name: str,
    max_frames: int,
    alpha: float,
    mc_samples: int | None,
) -> ClipResult:
    return segment_clip(load_model(ref), data, name, max_frames, alpha, mc_samples)


@st.cache_data(show_spinner=False, max_entries=16)
def sample_image(key: str) -> InputImage:
    return load_sample(samples()[key])


@st.cache_data(show_spinner=False, max_entries=32)
def upload_image(name: str, data: bytes) -> InputImage:
    return decode_image_bytes(data, name)


# --- small pieces of the page -----------------------------------------------------------


def legend_html(shares: list[ClassShare]) -> str:
    rows = "".join(
        f'<div class="row"><span class="swatch" style="background:{s.color}"></span>'
        f"<span>{html.escape(s.name)}</span>"
        + (f'<span class="pct">{s.share:.1%}</span>' if s.pixels else "")
        + "</div>"
        for s in shares
    )
    return f'<div class="segnet-legend">{rows}</div>'


def share_chart(shares: list[ClassShare]) -> alt.Chart:
    frame = pd.DataFrame({"class": [s.name for s in shares], "share": [s.share for s in shares]})
    return (
        alt.Chart(frame, height=alt.Step(24))
        .mark_bar(cornerRadiusEnd=3)
        .encode(
            x=alt.X("share:Q", title="Share of pixels", axis=alt.Axis(format="%")),
            y=alt.Y("class:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False)),
            color=alt.Color(
                "class:N",
                scale=alt.Scale(domain=[s.name for s in shares], range=[s.color for s in shares]),
                legend=None,
            ),
            tooltip=[alt.Tooltip("class:N"), alt.Tooltip("share:Q", format=".1%")],
        )
    )


def heat_maps(analysis: Analysis, measure: str, num_classes: int) -> list[tuple]:
    """(picture with its colour bar, caption) of the confidence and uncertainty maps."""
    maps = [
        (
            with_colorbar(
                colorize_scalar_map(analysis.confidence, "viridis", 0.0, 1.0),
                "viridis",
                0.0,
                1.0,
                "confidence",
            ),
            "Confidence: probability of the predicted class (dark = unsure)",
        )
    ]
    if analysis.mc_samples is not None:
        if measure == "variance":
            values, label = analysis.uncertainty, "variance"
            high = max(float(np.max(values)), 1e-6)
            caption = f"Uncertainty: MC variance ({analysis.mc_samples} samples; bright = unsure)"
        else:
            values, label = analysis.entropy, "entropy (nats)"
            high = math.log(num_classes)
            caption = f"Entropy ({analysis.mc_samples} samples; bright = unsure)"
        picture = colorize_scalar_map(values, "magma", 0.0, high)
        maps.append((with_colorbar(picture, "magma", 0.0, high, label), caption))
    return maps


# --- the page -------------------------------------------------------------------------


def choose_model() -> tuple[ModelRef | None, str | None]:
    """The sidebar's model choice: a reference to load, or None and why not."""
    st.sidebar.header("Model")
    default = default_model_source()
    bundled = {choice.label: choice for choice in (default, *other_bundled_sources(default))}
    on_machine, upload = "A .keras file on this machine", "Upload a .keras file"
    # Only the models offered are explained: no help about a preset that is not installed.
    help_text = "\n\n".join(c.description for c in bundled.values() if c.description)
    source = st.sidebar.radio(
        "Model source",
        (*bundled, on_machine, upload),
        key="model_source",
        help=help_text or None,
    )
    path, problem, classes_json = default.path, default.problem, None
    if source in bundled:
        path, problem = bundled[source].path, bundled[source].problem
    else:
        if source == on_machine:
            typed = st.sidebar.text_input("Path to a .keras file", key="model_path").strip()
            path, problem = None, "Enter the path of a .keras model file."
            if typed:
                candidate = Path(typed).expanduser()
                if candidate.is_file():
                    path, problem = candidate, None
                else:
                    problem = f"{typed}: no such file."
        else:
            uploaded = st.sidebar.file_uploader("Model file", type=["keras"], key="model_file")
            path, problem = None, "Upload a .keras model file."
            if uploaded is not None:
                try:
                    path, problem = (
                        store_uploaded_model(uploaded.getvalue(), uploaded.name),
                        None,
                    )
                except ValueError as err:
                    problem = str(err)
        classes_file = st.sidebar.file_uploader(
            "Class names and colours (optional JSON)",
            type=["json"],
            key="classes_file",
            help="ClassList.to_json() output. Without it the model's sidecar <name>.json is "
            "used, or CamVid's classes for 11-class models, or generic names.",
        )
        classes_json = classes_file.getvalue() if classes_file is not None else None
    if path is None:
        return None, problem
    try:
        return ModelRef.for_file(path, classes_json), None
    except OSError as err:
        return None, f"Could not read the model file: {err}"


def choose_inputs(source: str) -> list[tuple[str, Callable[[], InputImage]]]:
    """The images to segment, as (name, loader) pairs, from the photos or the camera."""
    if source == "Camera":
        shot = st.camera_input("Take a photo of a street", key="camera")
        if shot is None:
            return []
        return [("Camera photo", functools.partial(upload_image, "camera.jpg", shot.getvalue()))]
    upload_col, sample_col = st.columns([3, 2])
    uploads = upload_col.file_uploader(
        f"Images ({FORMAT_NAMES})",
        type=list(IMAGE_TYPES),
        accept_multiple_files=True,
        key="images",
        help=f"Up to {MAX_UPLOAD_MB} MB each; large images are downscaled to "
        f"{WORKING_MAX_SIDE} px on the longer side.",
    )
    jobs = [(u.name, functools.partial(upload_image, u.name, u.getvalue())) for u in uploads]
    offered = samples()
    if offered:
        chosen = sample_col.multiselect(
            "…or try a CamVid test frame",
            list(offered),
            format_func=lambda key: offered[key].label,
            key="samples",
            placeholder="Road scenes like those the model was trained on",
        )
        jobs += [(offered[k].label, functools.partial(sample_image, k)) for k in chosen]
    else:
        with sample_col:
            st.info(camvid_hint(), icon=":material/photo_library:")
    return jobs


def render_clip(ref: ModelRef, settings: dict) -> None:
    """The video input: upload a short clip, get its overlay video."""
    upload_col, frames_col = st.columns([3, 2])
    clip = upload_col.file_uploader(
        "A short clip, e.g. from a dashcam (MP4, MOV, WebM, AVI, MKV...)",
        type=list(CLIP_TYPES),
        key="clip",
        help=f"Up to {MAX_UPLOAD_MB} MB. Each frame is segmented like a photo, so a "
        "long or high-resolution clip takes a while: only the first frames are used.",
    )
    max_frames = frames_col.slider(
        "Frames to segment",
        1,
        MAX_CLIP_FRAMES,
        DEFAULT_CLIP_FRAMES,
        key="clip_frames",
        help="The clip's first frames; the overlay video has the clip's frame rate.",
    )
    if clip is None:
        st.info(
            "Upload a short video to segment it frame by frame. CamVid itself is "
            "dashcam video, the kind of clip this model knows."
        )
        return
    try:
        with st.spinner(f"Segmenting up to {max_frames} frames of {clip.name}…"):
            result = clip_result(
                ref,
                clip.getvalue(),
                clip.name,
                max_frames,
                settings["alpha"],
                settings["mc_samples"],
            )
    except (ClipInputError, ImportError) as err:
        st.error(str(err), icon=":material/error:")
        return
    with st.container(border=True):
        title_col, time_col = st.columns([4, 1])
        title_col.subheader(clip.name, anchor=False)
        height, width = result.size
        title_col.caption(
            f"{width}×{height} px · {result.num_frames} frames at {result.fps:g} frames/s "
            f"· overlay {settings['alpha']:.0%} opacity"
        )
        time_col.metric(
            "Frames/s processed",
            f"{result.frames_per_second:.1f}",
            help=f"{result.num_frames} frames decoded, segmented and encoded in "
            f"{result.seconds:.1f} s on this machine's CPU.",
        )
        st.video(result.video, format="video/mp4")
        st.download_button(
            "Overlay video (MP4)",
            data=result.video,
            file_name=f"{stem(clip.name)}_overlay.mp4",
            mime="video/mp4",
            key="download_clip",
            on_click="ignore",
            icon=":material/download:",
        )


def render_inside(ref: ModelRef, info: ModelInfo, image: InputImage) -> None:
    if not info.has_inside_view:
        st.info(
            f"This model ({info.name}) does not unpool by pooling indices: U-Net and FCN "
            "decoders upsample and join the encoder's feature maps instead, so SegNet's "
            "view has nothing to show here."
        )
        return
    with st.spinner("Computing the inside view…"):
        maps = inside_maps(ref, image)
    channels = pick_channels(maps.encoder, 4)
    panels = render_panels(maps, channels, columns=2)
    st.markdown(
        "SegNet's decoder does not learn to upsample: it remembers **where** each 2×2 "
        "max-pooling window found its maximum and puts values back exactly there "
        "(the paper's Figure 2). Below, 4 channels of the first encoder block on your image "
        f"(channels {', '.join(map(str, channels))}; brighter = stronger)."
    )
    for column, key in zip(st.columns(4), INSIDE_TITLES, strict=True):
        column.image(panels[key], caption=INSIDE_TITLES[key], width="stretch")
    st.markdown(f"**Close-up** of channel {channels[0]} around its strongest response:")
    zoom = zoom_panels(maps, channels[0])
    for column, key in zip(st.columns(4), INSIDE_TITLES, strict=True):
        column.image(zoom[key], caption=INSIDE_TITLES[key][2:], width="stretch")
    st.caption(
        "In ③ each 2×2 window keeps a single non-zero pixel, the maximum of ①; ④ carries "
        "the decoder's own values to those same pixels before its convolutions densify them."
    )


def render_segmentation(
    image: InputImage,
    analysis: Analysis,
    segmenter: Segmenter,
    settings: dict,
    index: int,
) -> None:
    classes, alpha = segmenter.classes, settings["alpha"]
    shares = class_shares(analysis.mask, classes)
    by_id = {s.class_id: s for s in shares}
    colour_mask = colorize(analysis.mask, classes)

    pick_col, split_col = st.columns(2)
    highlighted = pick_col.selectbox(
        "Highlight one class",
        [None, *by_id],
        format_func=lambda i: (
            "All classes" if i is None else f"{by_id[i].name} ({by_id[i].share:.1%})"
        ),
        key=f"highlight_{index}_{image.digest}",
        help="Show one class alone over the photo; everything else is dimmed.",
    )
    split = split_col.slider(
        "Before / after: where the photo ends",
        0,
        100,
        50,
        format="%d%%",
        key=f"split_{index}",
        help="Left of the white line: the photo; right of it: the segmentation.",
    )
    if highlighted is None:
        blended = overlay(image.rgb, analysis.mask, classes, alpha)
        overlay_caption = f"Overlay ({alpha:.0%} opacity)"
    else:
        blended = highlight_class(image.rgb, analysis.mask, classes, highlighted, alpha)
        overlay_caption = f"Overlay ({alpha:.0%} opacity), {by_id[highlighted].name} only"

    compare_col, side_col = st.columns([3, 2])
    compare_col.image(
        split_view(image.rgb, blended, split / 100),
        caption=f"Before / after: photo | {overlay_caption[0].lower()}{overlay_caption[1:]}",
        width="stretch",
    )
    with side_col:
        st.markdown("**Legend**")
        st.markdown(legend_html(shares), unsafe_allow_html=True)
        st.markdown("**Pixels per class**")
        st.altair_chart(share_chart(shares), width="stretch")

    pictures = [(image.rgb, "Original"), (colour_mask, "Class mask"), (blended, overlay_caption)]
    for column, (picture, caption) in zip(st.columns(3), pictures, strict=True):
        column.image(picture, caption=caption, width="stretch")
    heat = heat_maps(analysis, settings["measure"], segmenter.num_classes)
    for column, (picture, caption) in zip(st.columns(2), heat, strict=False):
        column.image(picture, caption=caption, width="stretch")

    base = stem(image.name)
    confidence_png = colorize_scalar_map(analysis.confidence, "viridis", 0.0, 1.0)
    # The class-id mask is the same file as `segnet predict`'s <stem>_mask.png.
    downloads = (
        (
            "Class-id mask (PNG)",
            functools.partial(mask_png_bytes, analysis.mask, classes),
            f"{base}_mask.png",
        ),
        ("Colour mask (PNG)", functools.partial(png_bytes, colour_mask), f"{base}_colour.png"),
        ("Overlay (PNG)", functools.partial(png_bytes, blended), f"{base}_overlay.png"),
        (
            "Confidence map (PNG)",
            functools.partial(png_bytes, np.asarray(confidence_png)),
            f"{base}_confidence.png",
        ),
    )
    for column, (label, encode, file_name) in zip(st.columns(4), downloads, strict=True):
        column.download_button(
            label,
            data=encode,
            file_name=file_name,
            mime="image/png",
            key=f"download_{index}_{file_name}",
            on_click="ignore",
            icon=":material/download:",
            width="stretch",
        )


def render_image(
    name: str,
    load: Callable[[], InputImage],
    index: int,
    ref: ModelRef,
    info: ModelInfo,
    settings: dict,
) -> None:
    try:
        image = load()
    except ImageInputError as err:
        st.error(str(err), icon=":material/error:")
        return
    segmenter = load_model(ref)
    with st.spinner(f"Segmenting {name}…"):
        analysis = analyse(ref, image, settings["mode"])
    with st.container(border=True):
        title_col, time_col = st.columns([4, 1])
        title_col.subheader(name, anchor=False)
        height, width = image.working_size
        details = [f"{width}×{height} px", *image.notes]
        details.append(f"mean confidence {float(np.mean(analysis.confidence)):.0%}")
        title_col.caption(" · ".join(details))
        time_col.metric(
            "Inference time",
            f"{analysis.seconds * 1000:,.0f} ms",
            help="Wall-clock time of this prediction on this machine's CPU, without the "
            "model's start-up (it is warmed up when it loads)"
            + (f"; {settings['mode']}" if settings["mode"].passes > 1 else ""),
        )
        notice = domain_notice(analysis, segmenter.classes)
        if notice:
            st.warning(notice, icon=":material/help:")
        view = st.radio(
            "View",
            ("Segmentation", "Inside SegNet"),
            horizontal=True,
            key=f"view_{index}",
            label_visibility="collapsed",
            help="Inside SegNet is computed only when you open it.",
        )
        if view == "Segmentation":
            render_segmentation(image, analysis, segmenter, settings, index)
        else:
            render_inside(ref, info, image)


def main() -> None:
    st.set_page_config(page_title="SegNet · semantic segmentation", page_icon="🛣️", layout="wide")
    st.html(_LEGEND_CSS)
    st.sidebar.title("SegNet demo")
    st.sidebar.caption("Encoder–decoder segmentation with pooling indices (Badrinarayanan et al.).")
    ref, problem = choose_model()
    segmenter = None
    if ref is not None:
        try:
            segmenter = load_model(ref)
        except (ValueError, OSError) as err:
            problem = f"Could not load the model: {err}"

    st.title("Semantic segmentation with SegNet")
    st.caption(
        "Upload street photos, take one with the camera or pick a CamVid frame: every "
        "pixel gets a class. Everything runs locally on this machine's CPU."
    )
    if segmenter is None:
        st.error(problem or "No model loaded.", icon=":material/block:")
        st.info("Choose a model source in the sidebar to continue.")
        st.stop()

    info = describe_model(segmenter)
    st.sidebar.caption(
        f"**{info.name}** · {info.parameters / 1e6:.2f} M parameters · {info.num_classes} "
        "classes" + (" · Bayesian (MC dropout)" if info.bayesian else "")
    )
    st.sidebar.caption(
        "Computes in bfloat16: this CPU multiplies it natively (AMX or AVX512-BF16)."
        if info.precision == "bfloat16"
        else "Computes in float32 (this CPU has no native bfloat16)."
    )
    settings = {"mc_samples": None, "measure": "variance"}
    if info.bayesian:
        st.sidebar.header("Uncertainty")
        if st.sidebar.toggle("Monte-Carlo dropout", value=True, key="mc_on"):
            settings["mc_samples"] = st.sidebar.slider(
                "Monte-Carlo samples", 2, 32, 8, key="mc_samples"
            )
            settings["measure"] = st.sidebar.radio(
                "Heat-map",
                ("variance", "entropy"),
                format_func={
                    "variance": "Model uncertainty (variance)",
                    "entropy": "Predictive entropy",
                }.get,
                key="uncertainty_measure",
            )
    tta = None
    if not settings["mc_samples"] and st.sidebar.toggle(
        "Test-time augmentation",
        key="tta_on",
        help=f"Average the predictions of the mirrored and rescaled photo ({TTA}: "
        f"{TTA.passes} passes, chosen on CamVid's validation frames); slower, usually more "
        "accurate. Not applied to video clips.",
    ):
        tta = TTA
    # How every photo is predicted, checked once here (clips use `mc_samples` alone).
    settings["mode"] = PredictionMode(tta=tta, mc_samples=settings["mc_samples"])
    st.sidebar.header("Display")
    settings["alpha"] = st.sidebar.slider("Overlay opacity", 0.0, 1.0, 0.5, 0.05, key="opacity")

    source = st.radio("Input", INPUTS, horizontal=True, key="input_source")
    if source == "Video clip":
        render_clip(ref, settings)
        return
    jobs = choose_inputs(source)
    if not jobs:
        st.info(
            "Take a photo above to see its segmentation."
            if source == "Camera"
            else "Upload one or more images, or pick a sample above, to see the segmentation."
        )
        st.markdown("**Classes this model knows**")
        st.markdown(legend_html(class_entries(segmenter.classes)), unsafe_allow_html=True)
        st.stop()
    for index, (name, load) in enumerate(jobs):
        render_image(name, load, index, ref, info, settings)


if __name__ == "__main__":
    main()
