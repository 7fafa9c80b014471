"""`segnet predict` and `segnet export` from the command line."""

import json

import keras
import numpy as np
from PIL import Image

import segnet_tf
from segnet_tf.cli import main
from segnet_tf.inference import Segmenter


def write_images(folder):
    rng = np.random.default_rng(0)
    folder.mkdir()
    Image.fromarray(rng.integers(0, 256, (30, 41, 3), dtype=np.uint8)).save(folder / "a.png")
    Image.fromarray(rng.integers(0, 256, (25, 20), dtype=np.uint8)).save(folder / "b.jpg")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (folder / "notes.txt").write_text("not an image, skipped by extension")


def test_predict_folder_with_one_broken_file(tiny_model_path, tmp_path, capsys):
    write_images(tmp_path / "images")
    out = tmp_path / "out"
    code = main(["predict", str(tiny_model_path), str(tmp_path / "images"), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1  # some failed
    assert "Segmented 2 of 3 images" in captured.out
    assert "1 failed" in captured.out and "broken.png" in captured.out
    assert "3/3" in captured.err  # progress bar reached the end
    assert sorted(p.name for p in out.iterdir()) == [
        "a.json",  # sizes, scale, domain verdict, class shares
        "a_mask.png",
        "a_overlay.png",
        "b.json",
        "b_mask.png",
        "b_overlay.png",
        "predict_config.json",  # the resolved options, written first
    ]
    with Image.open(out / "a_mask.png") as mask:
        assert mask.mode == "P" and mask.size == (41, 30)
        ids = np.asarray(mask)
    expected = Segmenter.from_file(tiny_model_path).predict(tmp_path / "images" / "a.png").mask
    np.testing.assert_array_equal(ids, expected)
    with Image.open(out / "b_overlay.png") as overlay:
        assert overlay.height >= 25 and overlay.width > 20  # legend to the right


def test_predict_files_with_same_stem_and_missing_input(tiny_model_path, tmp_path, capsys):
    write_images(tmp_path / "x")
    (tmp_path / "y").mkdir()
    Image.open(tmp_path / "x" / "a.png").save(tmp_path / "y" / "a.png")
    inputs = [str(tmp_path / "x" / "a.png"), str(tmp_path / "y" / "a.png"), "missing.png"]
    classes = {"names": [f"c{i}" for i in range(11)], "colors": [[i, i, i] for i in range(11)]}
    (tmp_path / "c.json").write_text(json.dumps(classes))
    out = tmp_path / "out"
    args = ["predict", str(tiny_model_path), *inputs, "--out", str(out), "--no-legend"]
    code = main([*args, "--classes", str(tmp_path / "c.json")])
    captured = capsys.readouterr()
    assert code == 1 and "missing.png: no such file or folder" in captured.out
    assert {"a_mask.png", "a_2_mask.png"} <= {p.name for p in out.iterdir()}
    with Image.open(out / "a_overlay.png") as overlay:
        assert overlay.size == (41, 30)  # no legend


def test_predict_clear_errors(tiny_model_path, tmp_path, capsys):
    assert main(["predict", str(tmp_path / "nope.keras"), str(tmp_path), "--out", "o"]) == 2
    assert main(["predict", "no_such_preset", str(tiny_model_path), "--out", str(tmp_path)]) == 2
    image = tmp_path / "i.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(image)
    assert (
        main(["predict", str(tiny_model_path), str(image), "--out", "o", "--mc-samples", "2"]) == 2
    )
    err = capsys.readouterr().err
    assert "Unknown preset 'no_such_preset'" in err and "Bayesian" in err
    assert "no images to segment" in err


def test_predict_mc_samples_writes_uncertainty(tmp_path, capsys):
    keras.utils.set_random_seed(0)
    path = tmp_path / "bayes.keras"
    segnet_tf.get_model("bayesian_segnet_basic", 3, width=1 / 16).save(path)
    image = tmp_path / "i.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (16, 24, 3), np.uint8)).save(image)
    args = ["predict", str(path), str(image), "--out", str(tmp_path / "o"), "--mc-samples", "2"]
    assert main(args) == 0
    with Image.open(tmp_path / "o" / "i_uncertainty.png") as im:
        assert im.mode == "L" and im.size == (24, 16)
        assert np.asarray(im).max() > 0


def test_export_cli_writes_each_format(tiny_model_path, tmp_path, capsys):
    out = tmp_path / "exported"
    assert main(["export", str(tiny_model_path), "--format", "tflite", "--out", str(out)]) == 0
    assert (out / "segnet_basic.tflite").stat().st_size > 0
    assert main(["export", str(tiny_model_path), "--format", "saved_model", "--out", str(out)]) == 0
    assert (out / "segnet_basic" / "1" / "saved_model.pb").is_file()
    assert "Exported" in capsys.readouterr().out
    bad = ["export", str(tiny_model_path), "--format", "tflite", "--keep-mc-dropout"]
    assert main(bad) == 2
