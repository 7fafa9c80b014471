"""Tests of the Streamlit page demo/app.py with streamlit.testing.v1.AppTest (no browser)."""

import io
import tomllib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import segnet_tf
from segnet_tf import demo_support as ds
from segnet_tf.classes import ClassList
from segnet_tf.inference import Segmenter

pytest.importorskip("streamlit", reason="the demo needs streamlit: pip install -e '.[demo]'")
from streamlit.testing.v1 import AppTest  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "demo" / "app.py")
TIMEOUT = 120  # seconds per script run; the machine may be busy


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo_models")
    paths = {}
    for name in ("segnet_basic", "bayesian_segnet_basic"):
        paths[name] = folder / f"{name}.keras"
        segnet_tf.get_model(name, 11, width=1 / 16).save(paths[name])
    paths["unet"] = folder / "unet.keras"
    segnet_tf.get_model("unet", 4, width=1 / 16).save(paths["unet"])
    return paths


def start(monkeypatch, model_path) -> AppTest:
    monkeypatch.setenv(ds.MODEL_ENV, str(model_path))
    monkeypatch.delenv("SEGNET_CAMVID_DIR", raising=False)
    app = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not app.exception, app.exception
    return app


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def test_page_renders_with_controls(monkeypatch, models):
    app = start(monkeypatch, models["segnet_basic"])
    assert app.title[0].value == "Semantic segmentation with SegNet"
    assert app.file_uploader(key="images") is not None
    assert [o for o in app.multiselect(key="samples").options] == [
        "Synthetic street scene 1",
        "Synthetic street scene 2",
        "Synthetic street scene 3",
    ]
    assert app.slider(key="opacity").value == 0.5
    assert app.radio(key="model_source").options[0].startswith("segnet_basic.keras")
    assert "Upload one or more images" in texts(app.info)
    assert "Road" in texts(app.markdown)  # the legend of the model's classes
    # Not a Bayesian model: no Monte-Carlo controls.
    assert not app.toggle and not app.error


def test_sample_produces_the_models_mask(monkeypatch, models):
    app = start(monkeypatch, models["segnet_basic"])
    app.multiselect(key="samples").set_value(["synthetic:1"]).run()
    assert not app.exception and not app.error
    assert app.subheader[0].value == "Synthetic street scene 2"
    captions = [c for image in app.image for c in image.captions]
    assert captions[:3] == ["Original", "Class mask", "Overlay (50% opacity)"]
    assert app.metric[0].label == "Inference time" and app.metric[0].value.endswith("ms")
    # The legend lists the classes of the mask that the model itself predicts.
    sample = ds.load_sample(ds.list_samples()[1])
    expected = ds.segment(Segmenter.from_file(models["segnet_basic"]), sample)
    legend = texts(app.markdown)
    for share in ds.class_shares(expected.mask, segnet_tf.data.CAMVID_CLASSES):
        assert f'<span>{share.name}</span><span class="pct">{share.share:.1%}</span>' in legend
    labels = [b.proto.label for b in app.get("download_button")]
    assert labels == ["Class-id mask (PNG)", "Colour mask (PNG)", "Overlay (PNG)"]
    # The inside-SegNet tab shows the four maps twice (grid and close-up).
    inside = [c for image in app.image for c in image.captions if "pooling indices" in c]
    assert len(inside) == 2

    app.slider(key="opacity").set_value(0.8).run()
    assert "Overlay (80% opacity)" in [c for image in app.image for c in image.captions]


def test_bayesian_model_gets_uncertainty_controls_and_heat_map(monkeypatch, models):
    app = start(monkeypatch, models["bayesian_segnet_basic"])
    assert app.toggle(key="mc_on").value is True
    assert app.slider(key="mc_samples").value == 8
    app.slider(key="mc_samples").set_value(3)
    app.multiselect(key="samples").set_value(["synthetic:0"]).run()
    assert not app.exception and not app.error
    captions = [c for image in app.image for c in image.captions]
    assert captions[2] == "Uncertainty: MC variance (3 samples; bright = unsure)"
    app.toggle(key="mc_on").set_value(False).run()
    captions = [c for image in app.image for c in image.captions]
    assert not any("Uncertainty" in c for c in captions)


def test_bad_files_show_errors_and_the_page_keeps_working(monkeypatch, models):
    app = start(monkeypatch, models["segnet_basic"])
    good = ds.load_sample(ds.list_samples()[0]).rgb
    full = png(good)
    files = [
        ("notes.png", b"definitely not an image", "image/png"),
        ("empty.png", b"", "image/png"),
        ("cut.png", full[: len(full) // 3], "image/png"),
        ("dot.png", png(np.zeros((1, 1, 3), np.uint8)), "image/png"),
        ("good.png", full, "image/png"),
    ]
    app.file_uploader(key="images").set_value(files).run()
    assert not app.exception
    errors = [e.value for e in app.error]
    assert len(errors) == 4
    assert errors[0].startswith("notes.png: not an image")
    assert errors[1].startswith("empty.png: the file is empty")
    assert errors[2].startswith("cut.png: the image is truncated")
    assert errors[3].startswith("dot.png: the image is only 1×1 pixels")
    assert [s.value for s in app.subheader] == ["good.png"]


def test_missing_model_shows_a_message_and_offers_other_sources(monkeypatch, models, tmp_path):
    app = start(monkeypatch, tmp_path / "absent.keras")
    assert "no such model file" in app.error[0].value
    app.radio(key="model_source").set_value("A .keras file on this machine").run()
    app.text_input(key="model_path").input(str(models["segnet_basic"])).run()
    assert not app.error and not app.exception
    assert "segnet_basic" in texts(app.sidebar.caption)


def test_model_without_unpooling_explains_the_inside_view(monkeypatch, models):
    app = start(monkeypatch, models["unet"])
    app.multiselect(key="samples").set_value(["synthetic:2"]).run()
    assert not app.exception and not app.error
    assert "does not unpool by pooling indices" in texts(app.info)
    assert "class 0" in texts(app.markdown)  # generic names for a 4-class model


def test_uploaded_model_with_its_class_list(monkeypatch, models, tmp_path):
    app = start(monkeypatch, tmp_path / "absent.keras")
    app.radio(key="model_source").set_value("Upload a .keras file").run()
    assert "Upload a .keras model file." in app.error[0].value
    classes = ClassList(
        ("ground", "wall", "window", "door"), ((10, 10, 10), (200, 0, 0), (0, 200, 0), (0, 0, 200))
    )
    app.file_uploader(key="model_file").set_value(
        ("walls.keras", models["unet"].read_bytes(), "application/octet-stream")
    )
    app.file_uploader(key="classes_file").set_value(
        ("walls.json", classes.to_json().encode(), "application/json")
    ).run()
    assert not app.error and not app.exception
    legend = texts(app.markdown)
    assert all(f"<span>{name}</span>" in legend for name in classes.names)
    assert "#c80000" in legend  # the uploaded colour of "wall"


def test_upload_limit_matches_the_streamlit_config():
    config = tomllib.loads((Path(APP).parent / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == ds.MAX_UPLOAD_MB
