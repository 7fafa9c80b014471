"""bfloat16 inference: the CPU check, `Segmenter(precision=...)`, the CLI flags."""

import keras
import numpy as np
import pytest

import segnet_tf
from segnet_tf.inference import Segmenter
from segnet_tf.precision import (
    auto_precision,
    check_precision,
    cpu_has_native_bf16,
    mixed_precision_policy,
)


def _cpuinfo(tmp_path, flags):
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: {flags}\n\n")
    return path


@pytest.mark.parametrize(
    ("flags", "native"),
    [
        ("fpu sse avx2 avx512f avx512_bf16 avx512_vnni", True),  # AMD Zen 4, Cooper Lake
        ("fpu avx512f amx_bf16 amx_tile amx_int8", True),  # Sapphire Rapids
        ("fpu sse avx2 avx512f avx512_vnni", False),  # AVX-512 without bf16
        ("fpu sse avx2 fma", False),
    ],
)
def test_native_bf16_is_read_from_the_cpu_flags(tmp_path, flags, native):
    path = _cpuinfo(tmp_path, flags)
    assert cpu_has_native_bf16(path) is native
    assert auto_precision(path) == ("bfloat16" if native else "float32")


@pytest.mark.parametrize(
    ("gpu", "native_bf16", "policy"),
    [
        (True, False, "mixed_float16"),
        (True, True, "mixed_float16"),
        (False, True, "mixed_bfloat16"),
        (False, False, "float32"),  # emulated bfloat16 is slower than float32
    ],
)
def test_mixed_precision_policy_pays_only_where_the_hardware_has_it(gpu, native_bf16, policy):
    assert mixed_precision_policy(gpu=gpu, native_bf16=native_bf16) == policy


def test_unreadable_cpuinfo_means_no_native_bf16(tmp_path):
    assert not cpu_has_native_bf16(tmp_path / "missing")


def test_bad_precision_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="float16.*float32, bfloat16"):
        check_precision("float16")
    keras.utils.set_random_seed(0)
    model = segnet_tf.get_model("segnet_basic", 3, width=1 / 16)
    with pytest.raises(ValueError, match="Unknown precision 'int8'"):
        Segmenter(model, precision="int8")


def test_bfloat16_segmenter_agrees_with_float32(decisive_model_path):
    f32 = Segmenter.from_file(decisive_model_path)
    bf16 = Segmenter.from_file(decisive_model_path, precision="bfloat16")
    assert bf16.precision == "bfloat16" and f32.precision == "float32"
    # Every layer computes in bfloat16 but the final 1x1 convolution, which the package's
    # models keep in float32 under mixed precision (as in training).
    dtypes = {layer.name: layer.compute_dtype for layer in bf16.model.layers[1:]}
    assert set(dtypes.values()) == {"bfloat16", "float32"}
    assert [name for name, dtype in dtypes.items() if dtype == "float32"] == ["logits"]
    assert {layer.compute_dtype for layer in f32.model.layers[1:]} == {"float32"}
    image = np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    expected, got = f32.predict(image), bf16.predict(image)
    assert got.probabilities.dtype == np.float32
    np.testing.assert_allclose(got.probabilities.sum(-1), 1.0, atol=1e-5)
    # bfloat16 keeps 8 mantissa bits: probabilities close, argmax equal where not tied.
    assert np.abs(got.probabilities - expected.probabilities).mean() < 0.02
    top2 = np.sort(expected.probabilities, axis=-1)[..., -2:]
    clear = top2[..., 1] - top2[..., 0] > 0.2
    assert clear.mean() > 0.5
    assert (got.mask[clear] == expected.mask[clear]).mean() > 0.95
    assert (got.mask == expected.mask).mean() > 0.9


def test_a_given_model_is_copied_not_changed():
    keras.utils.set_random_seed(0)
    model = segnet_tf.get_model("segnet_basic", 3, width=1 / 16)
    segmenter = Segmenter(model, precision="bfloat16")
    assert segmenter.model is not model
    assert all(layer.compute_dtype == "float32" for layer in model.layers)
    assert Segmenter(model).model is model


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_cli_precision_flag(command, capsys):
    from segnet_tf.cli import build_parser

    extra = ["photo.jpg", "--out", "o"] if command == "predict" else []
    args = build_parser().parse_args([command, "m.keras", *extra, "--precision", "bfloat16"])
    assert args.precision == "bfloat16"
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "m.keras", *extra, "--precision", "fp16"])
    err = capsys.readouterr().err
    assert "--precision: invalid choice: 'fp16'" in err and "'bfloat16'" in err
