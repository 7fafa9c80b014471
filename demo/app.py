"""SegNet demo: segment your own photos in the browser.

Run with ``segnet demo`` or ``streamlit run demo/app.py``. This file only lays out the
page; decoding, inference and drawing live in ``segnet_tf`` (``demo_support``,
``inference``, ``visualize``).
"""

from __future__ import annotations

import functools
import html
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from segnet_tf import demo_support as ds
from segnet_tf.inference import Segmenter, colorize, overlay
from segnet_tf.visualize import (
    InsideSegNet,
    colorize_scalar_map,
    pick_channels,
    render_panels,
    zoom_panels,
)

st.set_page_config(page_title="SegNet · semantic segmentation", page_icon="🛣️", layout="wide")

st.html(
    """<style>
    .segnet-legend {display: grid; grid-template-columns: 1fr; gap: 4px; font-size: 0.9rem;}
    .segnet-legend .row {display: flex; align-items: center; gap: 8px;}
    .segnet-legend .swatch {width: 16px; height: 16px; border-radius: 3px;
        border: 1px solid rgba(0,0,0,.25); flex: none;}
    .segnet-legend .pct {margin-left: auto; color: #555; font-variant-numeric: tabular-nums;}
    </style>"""
)


# --- cached heavy objects -------------------------------------------------------------


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def get_segmenter(path: str, modified: float, classes_json: bytes | None) -> Segmenter:
    """The loaded model; ``modified`` (file mtime) reloads it when the file changes."""
    del modified
    return ds.load_segmenter(path, classes_json)


@st.cache_resource(show_spinner=False, max_entries=4)
def get_inside(_segmenter: Segmenter, model_key: str) -> InsideSegNet:
    return InsideSegNet(_segmenter.model)


@st.cache_resource(show_spinner=False, max_entries=64)
def get_analysis(
    _segmenter: Segmenter, model_key: str, _image: ds.InputImage, digest: str, mc: int | None
) -> ds.Analysis:
    return ds.segment(_segmenter, _image, mc)


@st.cache_resource(show_spinner=False, max_entries=16)
def get_feature_maps(_inside: InsideSegNet, model_key: str, _image: ds.InputImage, digest: str):
    return _inside.extract(_image.rgb)


@st.cache_resource(show_spinner=False)
def get_samples() -> dict[str, ds.Sample]:
    return {sample.key: sample for sample in ds.list_samples()}


@st.cache_resource(show_spinner=False, max_entries=16)
def get_sample_image(key: str) -> ds.InputImage:
    return ds.load_sample(get_samples()[key])


@st.cache_resource(show_spinner=False, max_entries=32)
def get_upload_image(name: str, data: bytes) -> ds.InputImage:
    return ds.decode_image_bytes(data, name)


# --- sidebar: model and controls ------------------------------------------------------

st.sidebar.title("SegNet demo")
st.sidebar.caption("Encoder–decoder segmentation with pooling indices (Badrinarayanan et al.).")
st.sidebar.header("Model")

default = ds.default_model_source()
SOURCES = (default.label, "A .keras file on this machine", "Upload a .keras file")
source = st.sidebar.radio("Model source", SOURCES, key="model_source")

model_path = default.path
model_problem = default.problem
classes_json = None
if source != SOURCES[0]:
    if source == SOURCES[1]:
        typed = st.sidebar.text_input("Path to a .keras file", key="model_path")
        model_path, model_problem = None, "Enter the path of a .keras model file."
        if typed.strip():
            candidate = Path(typed.strip()).expanduser()
            if candidate.is_file():
                model_path, model_problem = candidate, None
            else:
                model_problem = f"{typed.strip()}: no such file."
    else:
        uploaded_model = st.sidebar.file_uploader("Model file", type=["keras"], key="model_file")
        model_path, model_problem = None, "Upload a .keras model file."
        if uploaded_model is not None:
            try:
                model_path = ds.store_uploaded_model(uploaded_model.getvalue(), uploaded_model.name)
                model_problem = None
            except ValueError as err:
                model_problem = str(err)
    classes_file = st.sidebar.file_uploader(
        "Class names and colours (optional JSON)",
        type=["json"],
        key="classes_file",
        help="ClassList.to_json() output. Without it the model's sidecar <name>.json is used, "
        "or CamVid's classes for 11-class models, or generic names.",
    )
    classes_json = classes_file.getvalue() if classes_file is not None else None

segmenter = None
if model_path is not None:
    try:
        segmenter = get_segmenter(str(model_path), model_path.stat().st_mtime, classes_json)
    except (ValueError, OSError) as err:
        model_problem = f"Could not load the model: {err}"

st.title("Semantic segmentation with SegNet")
st.caption(
    "Upload street photos (or pick a sample): every pixel gets a class. Everything runs "
    "locally on this machine's CPU."
)

if segmenter is None:
    st.error(model_problem or "No model loaded.", icon="🚫")
    st.info("Choose a model source in the sidebar to continue.")
    st.stop()

info = ds.describe_model(segmenter)
model_key = f"{model_path}:{model_path.stat().st_mtime}:{hash(classes_json)}"
st.sidebar.caption(
    f"**{info.name}** · {info.parameters / 1e6:.2f} M parameters · {info.num_classes} classes"
    + (" · Bayesian (MC dropout)" if info.bayesian else "")
)

mc_samples = None
measure = "variance"
if info.bayesian:
    st.sidebar.header("Uncertainty")
    if st.sidebar.toggle("Monte-Carlo dropout", value=True, key="mc_on"):
        mc_samples = st.sidebar.slider("Monte-Carlo samples", 2, 32, 8, key="mc_samples")
        measure = st.sidebar.radio(
            "Heat-map",
            ("variance", "entropy"),
            format_func={
                "variance": "Model uncertainty (variance)",
                "entropy": "Predictive entropy",
            }.get,
            key="uncertainty_measure",
        )

st.sidebar.header("Display")
alpha = st.sidebar.slider("Overlay opacity", 0.0, 1.0, 0.5, 0.05, key="opacity")

# --- inputs -------------------------------------------------------------------------

upload_col, sample_col = st.columns([3, 2])
uploads = upload_col.file_uploader(
    "Images (JPEG, PNG, WebP, BMP)",
    type=list(ds.IMAGE_TYPES),
    accept_multiple_files=True,
    key="images",
    help=f"Up to {ds.MAX_UPLOAD_MB} MB each; large images are downscaled to "
    f"{ds.WORKING_MAX_SIDE} px on the longer side.",
)
samples = get_samples()
chosen = sample_col.multiselect(
    "…or try a sample",
    list(samples),
    format_func=lambda key: samples[key].label,
    key="samples",
    placeholder="Synthetic scenes" + (", CamVid test frames" if len(samples) > 3 else ""),
)

jobs = [(u.name, functools.partial(get_upload_image, u.name, u.getvalue())) for u in uploads]
jobs += [(samples[k].label, functools.partial(get_sample_image, k)) for k in chosen]


def legend_html(shares: list[ds.ClassShare]) -> str:
    rows = "".join(
        f'<div class="row"><span class="swatch" style="background:{s.color}"></span>'
        f"<span>{html.escape(s.name)}</span>"
        + (f'<span class="pct">{s.share:.1%}</span>' if s.pixels else "")
        + "</div>"
        for s in shares
    )
    return f'<div class="segnet-legend">{rows}</div>'


if not jobs:
    st.info("Upload one or more images, or pick a sample above, to see the segmentation.")
    st.markdown("**Classes this model knows**")
    st.markdown(legend_html(ds.class_entries(segmenter.classes)), unsafe_allow_html=True)
    st.stop()

# --- one section per image -----------------------------------------------------------


def share_chart(shares: list[ds.ClassShare]) -> alt.Chart:
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


def render_inside(image: ds.InputImage) -> None:
    if not info.has_inside_view:
        st.info(
            f"{info.name} does not unpool by pooling indices (no block1_pool / "
            "decoder1_unpool layers), so there is nothing to show here."
        )
        return
    maps = get_feature_maps(get_inside(segmenter, model_key), model_key, image, image.digest)
    channels = pick_channels(maps.encoder, 4)
    panels = render_panels(maps, channels, columns=2)
    st.markdown(
        "SegNet's decoder does not learn to upsample: it remembers **where** each 2×2 "
        "max-pooling window found its maximum and puts values back exactly there "
        "(the paper's Figure 2). Below, 4 channels of the first encoder block on your image "
        f"(channels {', '.join(map(str, channels))}; brighter = stronger)."
    )
    titles = {
        "encoder": "① Encoder feature map (before pooling)",
        "pooled": "② Max-pooled: one value per 2×2 window",
        "replaced": "③ Put back by the pooling indices",
        "decoder": "④ Decoder's unpooled map (same positions)",
    }
    for column, key in zip(st.columns(4), titles, strict=True):
        column.image(panels[key], caption=titles[key], width="stretch")
    st.markdown(f"**Close-up** of channel {channels[0]} around its strongest response:")
    zoom = zoom_panels(maps, channels[0])
    for column, key in zip(st.columns(4), titles, strict=True):
        column.image(zoom[key], caption=titles[key][2:], width="stretch")
    st.caption(
        "In ③ each 2×2 window keeps a single non-zero pixel, the maximum of ①; ④ carries "
        "the decoder's own values to those same pixels before its convolutions densify them."
    )


def render_image(name: str, load, index: int) -> None:
    try:
        image = load()
    except ds.ImageInputError as err:
        st.error(str(err), icon="⚠️")
        return
    with st.spinner(f"Segmenting {name}…"):
        analysis = get_analysis(segmenter, model_key, image, image.digest, mc_samples)
    classes = segmenter.classes
    colour_mask = colorize(analysis.mask, classes)
    blended = overlay(image.rgb, analysis.mask, classes, alpha)
    heat_values = analysis.uncertainty if measure == "variance" else analysis.entropy

    with st.container(border=True):
        title_col, time_col = st.columns([4, 1])
        title_col.subheader(name, anchor=False)
        height, width = image.working_size
        details = [f"{width}×{height} px", *image.notes]
        title_col.caption(" · ".join(details))
        time_col.metric(
            "Inference time",
            f"{analysis.seconds * 1000:,.0f} ms",
            help="Wall-clock time of the model on this machine"
            + (f", {analysis.mc_samples} Monte-Carlo passes" if analysis.mc_samples else ""),
        )
        seg_tab, inside_tab = st.tabs(["Segmentation", "Inside SegNet"])
        with seg_tab:
            pictures = [(image.rgb, "Original"), (colour_mask, "Class mask")]
            if heat_values is not None:
                label = "Uncertainty: MC variance" if measure == "variance" else "Entropy"
                pictures.append(
                    (
                        colorize_scalar_map(heat_values, "magma", vmin=0.0),
                        f"{label} ({analysis.mc_samples} samples; bright = unsure)",
                    )
                )
            pictures.append((blended, f"Overlay ({alpha:.0%} opacity)"))
            for column, (picture, caption) in zip(st.columns(len(pictures)), pictures, strict=True):
                column.image(picture, caption=caption, width="stretch")

            shares = ds.class_shares(analysis.mask, classes)
            legend_col, chart_col = st.columns([2, 3])
            legend_col.markdown("**Legend**")
            legend_col.markdown(legend_html(shares), unsafe_allow_html=True)
            chart_col.markdown("**Pixels per class**")
            chart_col.altair_chart(share_chart(shares), width="stretch")

            base = ds.stem(name)
            downloads = (
                ("Class-id mask (PNG)", analysis.mask, f"{base}_mask.png"),
                ("Colour mask (PNG)", colour_mask, f"{base}_colour.png"),
                ("Overlay (PNG)", blended, f"{base}_overlay.png"),
            )
            for column, (label, array, file_name) in zip(st.columns(3), downloads, strict=True):
                column.download_button(
                    label,
                    data=functools.partial(ds.png_bytes, np.asarray(array)),
                    file_name=file_name,
                    mime="image/png",
                    key=f"download_{index}_{file_name}",
                    on_click="ignore",
                    icon=":material/download:",
                    width="stretch",
                )
        with inside_tab:
            render_inside(image)


for job_index, (job_name, job_load) in enumerate(jobs):
    render_image(job_name, job_load, job_index)
