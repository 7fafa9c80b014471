"""Small things a careless user runs into: each is refused with a message that names
the real problem (and the way out), never silently taken or worded by a library."""

import subprocess
import warnings
import zipfile

import numpy as np
import pytest
from PIL import Image

from segnet_tf.cli import build_parser, main
from segnet_tf.errors import DataError


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    Image.fromarray(np.zeros((20, 28, 3), np.uint8)).save(folder / "i.png")
    return folder


def run(argv, capsys):
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


# --- Empty values are not "unset". ---


@pytest.fixture(scope="module")
def six_class_model(tmp_path_factory):
    """A 6-class model, as the synthetic data has."""
    import keras

    import segnet_tf

    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("six") / "six.keras"
    segnet_tf.get_model("segnet_basic", 6, width=1 / 16).save(path)
    return path


SYNTHETIC = ["--data", "synthetic", "--synthetic-images", "8", "--image-size", "32", "32"]


@pytest.mark.parametrize(
    "command, fix, followed",
    [
        ("evaluate", "write none for one pass", ["--tta", "none"]),
        ("predict", "write none for one pass", ["--tta", "none"]),
        ("export", "leave --tta out to add no serve_images_tta signature", []),
    ],
)
def test_an_empty_tta_is_refused_not_taken_as_none(
    six_class_model, image_folder, tmp_path, command, fix, followed, capsys
):
    out = tmp_path / "out"
    argv = {
        "evaluate": ["evaluate", six_class_model, *SYNTHETIC, "--limit", "1", "--output-dir", out],
        "predict": ["predict", six_class_model, image_folder, "--out", out],
        "export": ["export", six_class_model, "--format", "saved_model", "--out", out],
    }[command]
    code, err = run([*argv, "--tta", ""], capsys)
    assert code == 2 and "--tta '' is invalid" in err and f"an empty value is refused: {fix}" in err
    assert not out.exists()
    code, err = run([*argv, *followed], capsys)  # The fix, followed.
    assert code == 0, err


def test_an_empty_number_is_refused_not_taken_as_unset(tiny_model_path, capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["evaluate", str(tiny_model_path), "--limit", ""])
    assert info.value.code == 2
    assert "--limit: invalid int_or_none value: ''" in capsys.readouterr().err


# --- Model files: a folder, a truncated file. ---


@pytest.fixture
def bad_models(six_class_model, tmp_path):
    folder = tmp_path / "folder.keras"
    folder.mkdir()
    data = six_class_model.read_bytes()
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(data[: len(data) // 2])
    return {"folder": (folder, "is a folder; expected a .keras model file"),
            "truncated": (truncated, "the file is truncated or damaged")}  # fmt: skip


@pytest.mark.parametrize("kind", ["folder", "truncated"])
@pytest.mark.parametrize("command", ["evaluate", "predict", "export"])
def test_a_folder_or_a_truncated_file_as_model_is_named_for_what_it_is(
    bad_models, six_class_model, image_folder, tmp_path, kind, command, capsys
):
    model, needle = bad_models[kind]
    out = tmp_path / "out"
    argv = {
        "evaluate": ["evaluate", model, *SYNTHETIC, "--limit", "1", "--output-dir", out],
        "predict": ["predict", model, image_folder, "--out", out],
        "export": ["export", model, "--format", "tflite", "--out", out],
    }[command]
    code, err = run(argv, capsys)
    assert code == 2 and needle in err, err
    assert "File not found" not in err and "no such model file" not in err
    assert not out.exists()
    if kind == "truncated":  # "copy or save it again", followed.
        model.write_bytes(six_class_model.read_bytes())
        assert run(argv, capsys)[0] == 0


def test_a_savedmodel_folder_given_to_predict_says_what_to_give(tmp_path, image_folder, capsys):
    folder = tmp_path / "serving" / "m" / "1"
    folder.mkdir(parents=True)
    (folder / "saved_model.pb").write_bytes(b"")
    code, err = run(["predict", folder, image_folder, "--out", tmp_path / "out"], capsys)
    assert code == 2 and "is an exported SavedModel" in err


def test_a_missing_model_file_is_named_as_missing():
    from segnet_tf.model_files import check_model_file

    with pytest.raises(ValueError, match="no such model file"):
        check_model_file("nowhere.keras")


def test_demo_model_option_checks_the_same_way(bad_models, capsys):
    for model, needle in bad_models.values():
        code, err = run(["demo", "--model", model], capsys)
        assert code == 2 and needle in err


# --- Folders that cannot be written: the folder is named, with the way out. ---


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder no process can write into, not even root's (``chattr +i``)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here")
    yield folder
    subprocess.run(["chattr", "-i", str(folder)], check=True)  # (again: harmless)


@pytest.mark.parametrize(
    "command, inside",
    [("predict", False), ("predict", True), ("export", False), ("export", True),
     ("evaluate", True)],
)  # fmt: skip
def test_an_unwritable_folder_is_named_with_the_way_out(
    tiny_model_path, image_folder, read_only_folder, tmp_path, command, inside, capsys
):
    import keras

    import segnet_tf

    out = read_only_folder if inside else read_only_folder / "out"
    argv = {
        "predict": ["predict", tiny_model_path, image_folder, "--out", out],
        "export": ["export", tiny_model_path, "--format", "tflite", "--out", out],
    }.get(command)
    if command == "evaluate":  # The synthetic data has 6 classes.
        keras.utils.set_random_seed(0)
        segnet_tf.get_model("segnet_basic", 6, width=1 / 16).save(tmp_path / "six.keras")
        argv = ["evaluate", tmp_path / "six.keras", "--data", "synthetic",
                "--synthetic-images", "8", "--image-size", "32", "32", "--limit", "1",
                "--output-dir", out]  # fmt: skip
    code, err = run(argv, capsys)
    assert code == 2, err
    assert f"{read_only_folder}" in err and ".tmp" not in err and "Traceback" not in err
    assert "cannot write" in err or "cannot create the folder" in err
    assert "choose another output folder" in err or "choose an output folder" in err
    # Followed: the folder made writable, the same command works.
    subprocess.run(["chattr", "-i", str(read_only_folder)], check=True)
    assert run(argv, capsys)[0] == 0


# --- Data: a missing folder, a NaN image. ---


def test_a_missing_data_folder_is_named_as_missing(tmp_path):
    from segnet_tf.data import folder_dataset

    with pytest.raises(DataError, match="the images folder does not exist"):
        folder_dataset(tmp_path / "nowhere" / "images", tmp_path / "nowhere" / "masks")
    (tmp_path / "images").mkdir()
    with pytest.raises(DataError, match="masks folder does not exist"):
        folder_dataset(tmp_path / "images", tmp_path / "masks")


def test_a_nan_image_is_a_data_error_without_numpy_warnings():
    from segnet_tf.image_decoding import decode_image

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DataError, match="has 12 NaN/inf values"):
            decode_image(np.full((2, 2, 3), np.nan, np.float32))
        half = np.array([[1.0, np.nan], [300.0, 2.0]], np.float32)
        with pytest.raises(DataError, match=r"finite values in \[1.0, 300.0\] and 1 NaN/inf"):
            decode_image(half)


# --- Videos: a zero-frame MP4. ---


def test_a_zero_frame_mp4_is_reported_as_holding_no_frames(tiny_model_path, tmp_path, capsys):
    av = pytest.importorskip("av")
    clip = tmp_path / "empty.mp4"
    with av.open(str(clip), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 48, 32, "yuv420p"
        container.start_encoding()
        for packet in stream.encode(None):
            container.mux(packet)
    assert clip.stat().st_size > 0
    code = main(["predict", str(tiny_model_path), str(clip), "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 1 and "empty.mp4: the file holds no video frames" in out


# --- Help texts. ---


def test_demo_help_says_where_the_page_is(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    text = capsys.readouterr().out
    assert "repository's `demo/` folder" not in text
    assert "segnet_tf/demo/page.py" in text


def test_an_empty_zip_archive_is_a_whole_file(tmp_path):
    from segnet_tf.model_files import check_model_file

    path = tmp_path / "empty.keras"
    zipfile.ZipFile(path, "w").close()
    assert check_model_file(path) == path
