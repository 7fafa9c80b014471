"""Tests of the Streamlit page (segnet_tf/demo/page.py through demo/app.py) with AppTest."""

import io
import tomllib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import segnet_tf
from segnet_tf.classes import ClassList
from segnet_tf.demo import PAGE
from segnet_tf.demo import models as demo_models
from segnet_tf.demo import samples as demo_samples
from segnet_tf.demo.clips import DEFAULT_CLIP_FRAMES
from segnet_tf.demo.images import MAX_UPLOAD_MB
from segnet_tf.demo.models import MODEL_ENV
from segnet_tf.demo.results import class_shares, segment
from segnet_tf.demo.samples import list_samples, load_sample
from segnet_tf.inference import Segmenter
from segnet_tf.precision import auto_precision  # the precision the page computes in
from segnet_tf.visualize import InsideSegNet

st = pytest.importorskip("streamlit", reason="the demo needs streamlit: pip install -e '.[demo]'")
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


def street(index: int, size=(60, 80)) -> np.ndarray:
    return segnet_tf.data.synthetic_example(index, size=size, seed=5)[0]


@pytest.fixture(scope="module")
def camvid(tmp_path_factory):
    """A tiny folder with CamVid's layout; its 'test frames' are small drawn scenes."""
    folder = tmp_path_factory.mktemp("camvid")
    for name in ("train", "trainannot", "val", "valannot", "test", "testannot"):
        (folder / name).mkdir()
    for i in range(3):
        Image.fromarray(street(i)).save(folder / "test" / f"frame{i}.png")
        Image.new("L", (80, 60), 3).save(folder / "testannot" / f"frame{i}.png")
    return folder


def start(monkeypatch, model_path, camvid_dir=None, page=APP) -> AppTest:
    """Run the page with ``model_path`` and CamVid at ``camvid_dir`` (None: nowhere)."""
    monkeypatch.setenv(MODEL_ENV, str(model_path))
    monkeypatch.delenv("SEGNET_CAMVID_DIR", raising=False)
    # The machine may keep CamVid beside the checkout: decide here where it is.
    monkeypatch.setattr(demo_samples, "find_camvid_dir", lambda: camvid_dir and str(camvid_dir))
    # Cached models, samples and results are shared by every session of a process.
    st.cache_data.clear()
    st.cache_resource.clear()
    app = AppTest.from_file(page, default_timeout=TIMEOUT).run()
    assert not app.exception, app.exception
    return app


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def captions(app) -> list[str]:
    return [c for image in app.image for c in image.captions]


def test_page_renders_with_controls_and_no_cartoon_samples(monkeypatch, models):
    app = start(monkeypatch, models["segnet_basic"])
    assert app.title[0].value == "Semantic segmentation with SegNet"
    assert app.file_uploader(key="images") is not None
    assert list(app.radio(key="input_source").options) == ["Photos", "Camera", "Video clip"]
    # Without CamVid: no samples at all, and a hint how to get them.
    assert not app.multiselect
    hint = texts(app.info)
    assert "CamVid was not found" in hint and "SEGNET_CAMVID_DIR" in hint
    assert "Upload one or more images" in hint
    assert app.slider(key="opacity").value == 0.5
    assert app.radio(key="model_source").options[0].startswith("segnet_basic.keras")
    assert "Road" in texts(app.markdown)  # the legend of the model's classes
    # Not a Bayesian model: no Monte-Carlo controls; test-time augmentation is off.
    assert [t.key for t in app.toggle] == ["tta_on"] and not app.toggle(key="tta_on").value
    assert not app.error


def test_the_package_page_runs_on_its_own(monkeypatch, models):
    app = start(monkeypatch, models["segnet_basic"], page=str(PAGE))
    assert app.title[0].value == "Semantic segmentation with SegNet"


def test_camvid_sample_produces_the_models_mask_and_confidence(monkeypatch, models, camvid):
    extracted = []
    original_extract = InsideSegNet.extract
    monkeypatch.setattr(
        InsideSegNet,
        "extract",
        lambda self, rgb: extracted.append(1) or original_extract(self, rgb),
    )
    app = start(monkeypatch, models["segnet_basic"], camvid)
    samples = app.multiselect(key="samples")
    assert list(samples.options) == [f"CamVid test · frame{i}.png" for i in range(3)]
    samples.set_value(["camvid:frame1.png"]).run()
    assert not app.exception and not app.error
    assert app.subheader[0].value == "CamVid test · frame1.png"
    shown = captions(app)
    assert shown[1:4] == ["Original", "Class mask", "Overlay (50% opacity)"]
    assert shown[0] == "Before / after: photo | overlay (50% opacity)"
    assert shown[4].startswith("Confidence: probability of the predicted class")
    assert app.metric[0].label == "Inference time" and app.metric[0].value.endswith("ms")
    # The legend lists the classes of the mask that the model itself predicts.
    image = load_sample(list_samples()[1])
    segmenter = Segmenter.from_file(models["segnet_basic"], precision=auto_precision())
    expected = segment(segmenter, image)
    shares = class_shares(expected.mask, segnet_tf.data.CAMVID_CLASSES)
    legend = texts(app.markdown)
    for share in shares:
        assert f'<span>{share.name}</span><span class="pct">{share.share:.1%}</span>' in legend
    assert f"mean confidence {float(np.mean(expected.confidence)):.0%}" in texts(app.caption)
    labels = [b.proto.label for b in app.get("download_button")]
    assert labels == [
        "Class-id mask (PNG)",
        "Colour mask (PNG)",
        "Overlay (PNG)",
        "Confidence map (PNG)",
    ]
    # Inside SegNet is neither drawn nor computed until it is asked for.
    assert not any("pooling indices" in c for c in shown) and not extracted
    app.radio(key="view_0").set_value("Inside SegNet").run()
    assert not app.exception
    inside = [c for c in captions(app) if "pooling indices" in c]
    assert len(inside) == 2 and extracted == [1]  # the grid and its close-up
    app.radio(key="view_0").set_value("Segmentation").run()

    app.slider(key="opacity").set_value(0.8).run()
    assert "Overlay (80% opacity)" in captions(app)


def test_highlight_one_class_and_move_the_split(monkeypatch, models, camvid):
    app = start(monkeypatch, models["segnet_basic"], camvid)
    app.multiselect(key="samples").set_value(["camvid:frame0.png"]).run()
    highlight = app.selectbox[0]
    assert highlight.label == "Highlight one class" and highlight.value is None
    image = load_sample(list_samples()[0])
    segmenter = Segmenter.from_file(models["segnet_basic"], precision=auto_precision())
    mask = segment(segmenter, image).mask
    shares = class_shares(mask, segnet_tf.data.CAMVID_CLASSES)
    # "All classes", then the classes present, largest first.
    assert highlight.options[0] == "All classes"
    assert highlight.options[1:] == [f"{s.name} ({s.share:.1%})" for s in shares]
    highlight.set_value(shares[0].class_id).run()
    assert f"Overlay (50% opacity), {shares[0].name} only" in captions(app)
    split = app.slider(key="split_0")
    assert split.value == 50
    split.set_value(20).run()
    assert not app.exception and app.slider(key="split_0").value == 20


def test_camera_photo_is_segmented(monkeypatch, models):
    app = start(monkeypatch, models["segnet_basic"])
    app.radio(key="input_source").set_value("Camera").run()
    assert app.camera_input(key="camera") is not None and not app.subheader
    app.camera_input(key="camera").set_value(("shot.jpg", jpeg(street(4)), "image/jpeg")).run()
    assert not app.exception and not app.error
    assert app.subheader[0].value == "Camera photo"
    assert "Class mask" in captions(app)


def test_video_clip_becomes_an_overlay_video(monkeypatch, models, tmp_path):
    pytest.importorskip("av", reason="video clips need PyAV: pip install -e '.[video]'")
    from video_fixtures import write_clip

    clip = write_clip(tmp_path / "dashcam.mp4", num_frames=8, size=(48, 64))
    app = start(monkeypatch, models["segnet_basic"])
    app.radio(key="input_source").set_value("Video clip").run()
    assert app.slider(key="clip_frames").value == DEFAULT_CLIP_FRAMES
    app.slider(key="clip_frames").set_value(5)
    app.file_uploader(key="clip").set_value([("dashcam.mp4", clip.read_bytes(), "video/mp4")])
    app.run()
    assert not app.exception and not app.error
    assert app.subheader[0].value == "dashcam.mp4"
    assert "64×48 px · 5 frames at 12.5 frames/s" in texts(app.caption)
    assert app.metric[0].label == "Frames/s processed" and float(app.metric[0].value) > 0
    assert [b.proto.label for b in app.get("download_button")] == ["Overlay video (MP4)"]
    assert len(app.get("video")) == 1
    app.file_uploader(key="clip").set_value([("notes.mp4", b"not a video", "video/mp4")]).run()
    assert not app.exception
    assert app.error[0].value.startswith("notes.mp4:")


def test_bayesian_model_gets_uncertainty_controls_and_heat_map(monkeypatch, models):
    app = start(monkeypatch, models["bayesian_segnet_basic"])
    assert app.toggle(key="mc_on").value is True
    assert app.slider(key="mc_samples").value == 8
    app.slider(key="mc_samples").set_value(3)
    app.file_uploader(key="images").set_value([("s.png", png(street(0)), "image/png")]).run()
    assert not app.exception and not app.error
    assert "Uncertainty: MC variance (3 samples; bright = unsure)" in captions(app)
    app.radio(key="uncertainty_measure").set_value("entropy").run()
    assert "Entropy (3 samples; bright = unsure)" in captions(app)
    app.toggle(key="mc_on").set_value(False).run()
    assert not any("Uncertainty" in c or "Entropy" in c for c in captions(app))
    assert any(c.startswith("Confidence") for c in captions(app))  # for every model


def test_out_of_domain_image_gets_a_plain_notice(monkeypatch, models):
    app = start(monkeypatch, models["segnet_basic"])
    # An untrained tiny model is unsure everywhere: the notice must appear.
    app.file_uploader(key="images").set_value([("cat.png", png(street(1)), "image/png")]).run()
    assert not app.exception
    notice = texts(app.warning)
    assert "The model is unsure of" in notice and "11 road-scene classes" in notice


def test_bad_files_show_errors_and_the_page_keeps_working(monkeypatch, models):
    app = start(monkeypatch, models["segnet_basic"])
    full = png(street(0))
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


def test_every_bundled_model_is_a_choice_beside_a_users_file(monkeypatch, models):
    app = start(monkeypatch, models["segnet_basic"])
    options = app.radio(key="model_source").options
    labels = {preset.name: preset.label for preset in demo_models.BUNDLED_PRESETS}
    assert set(labels.values()) <= set(options)
    assert "segnet_basic" in texts(app.sidebar.caption)
    for name, architecture, size in [
        ("camvid_segnet_robust", "segnet_encoder_addition", "1.85 M parameters"),
        ("camvid_unet_robust", "unet", "1.95 M parameters"),
    ]:
        app.radio(key="model_source").set_value(labels[name]).run()
        assert not app.error and not app.exception
        caption = texts(app.sidebar.caption)
        assert f"**{architecture}**" in caption and size in caption, caption


def test_the_model_help_explains_only_the_models_offered(monkeypatch, models, tmp_path):
    app = start(monkeypatch, models["segnet_basic"])
    help_text = app.radio(key="model_source").help
    assert "white balance" in help_text and "original recipe" in help_text
    assert "of its CamVid test mIoU" in help_text  # from the presets' model.json
    monkeypatch.setattr(demo_models, "PRESETS_DIR", tmp_path)  # no preset installed
    app = start(monkeypatch, models["segnet_basic"])
    assert "Bundled" not in " ".join(app.radio(key="model_source").options)
    assert not app.radio(key="model_source").help


def test_model_without_unpooling_explains_the_inside_view(monkeypatch, models, camvid):
    app = start(monkeypatch, models["unet"], camvid)
    app.multiselect(key="samples").set_value(["camvid:frame2.png"]).run()
    assert "<span>class " in texts(app.markdown)  # generic names for a 4-class model
    app.radio(key="view_0").set_value("Inside SegNet").run()
    assert not app.exception and not app.error
    assert "does not unpool by pooling indices" in texts(app.info)


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
    assert config["server"]["maxUploadSize"] == MAX_UPLOAD_MB


def test_test_time_augmentation_toggle_segments_with_it(monkeypatch, models, camvid):
    from segnet_tf.inference.tta import CAMVID_VAL_CHOICE

    app = start(monkeypatch, models["segnet_basic"], camvid)
    app.multiselect(key="samples").set_value(["camvid:frame1.png"]).run()
    app.toggle(key="tta_on").set_value(True).run()
    assert not app.exception and not app.error
    image = load_sample(list_samples()[1])
    segmenter = Segmenter.from_file(models["segnet_basic"], precision=auto_precision())
    expected = segment(segmenter, image, tta=str(CAMVID_VAL_CHOICE))
    plain = segment(segmenter, image)
    assert not np.array_equal(expected.mask, plain.mask)  # the toggle makes a difference
    legend = texts(app.markdown)
    for share in class_shares(expected.mask, segnet_tf.data.CAMVID_CLASSES):
        assert f'<span>{share.name}</span><span class="pct">{share.share:.1%}</span>' in legend


def test_the_default_preset_flags_a_cat_and_not_a_camvid_frame(monkeypatch):
    skimage_data = pytest.importorskip("skimage.data")
    from segnet_tf.data import find_camvid_dir

    folder = find_camvid_dir()
    if folder is None:
        pytest.skip("CamVid not found")
    preset = Path(segnet_tf.inference.PRESETS_DIR) / demo_models.DEFAULT_PRESET / "model.keras"
    app = start(monkeypatch, preset)
    cat = ("cat.jpg", jpeg(skimage_data.chelsea()), "image/jpeg")
    app.file_uploader(key="images").set_value([cat]).run()
    assert not app.exception
    notice = texts(app.warning)
    assert "does not look like the street scenes the model was trained on" in notice
    assert "Pedestrian" in notice
    assert app.image, "the masks are still shown"
    frame = next((Path(folder) / "test").glob("*.png")).read_bytes()
    app.file_uploader(key="images").set_value([("frame.png", frame, "image/png")]).run()
    assert not app.exception
    assert "does not look like" not in texts(app.warning)
