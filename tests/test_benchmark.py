"""The throughput benchmark: FLOP counts, the PyTorch twins, the table, a tiny run."""

import json
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import segnet_tf

# The benchmarks live in the checkout's top-level benchmarks/, not in the package;
# appended, so that an installed segnet_tf still wins over the checkout's.
sys.path.append(str(Path(__file__).resolve().parents[1]))
from benchmarks.flops import conv_flops_per_image  # noqa: E402
from benchmarks.throughput import Row, format_table, main  # noqa: E402


def test_conv_flops_of_a_known_convolution():
    inputs = keras.Input((5, 6, 2))
    outputs = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    outputs = keras.layers.Conv2D(3, 1)(outputs)
    model = keras.Model(inputs, outputs)
    # 2 FLOPs per multiply-add: 5*6 positions x 4 outputs x 3*3*2 inputs, then 5*6*3*4.
    assert conv_flops_per_image(model) == 2 * 5 * 6 * 4 * 3 * 3 * 2 + 2 * 5 * 6 * 3 * 4


def test_conv_flops_of_segnet_basic_at_180x240():
    model = segnet_tf.get_model("segnet_basic", 11, input_shape=(180, 240, 3))
    # Hand count: 7x7 convolutions of 64 filters at 180x240, 90x120, 45x60 and 23x30
    # (encoder 3 -> 64 first, decoder 64 -> 64), plus the 1x1 classifier.
    sizes = [180 * 240, 90 * 120, 45 * 60, 23 * 30]
    encoder = [sizes[0] * 3 * 64] + [s * 64 * 64 for s in sizes[1:]]
    decoder = [s * 64 * 64 for s in sizes]
    expected = 2 * 49 * (sum(encoder) + sum(decoder)) + 2 * sizes[0] * 64 * 11
    assert conv_flops_per_image(model) == expected


def test_conv_flops_needs_a_fixed_size():
    with pytest.raises(ValueError, match="fixed input size"):
        conv_flops_per_image(segnet_tf.get_model("segnet_basic", 3, width=0.25))


def test_table_gives_images_per_second_ratio_and_share_of_peak():
    row = Row("segnet_basic", (180, 240), "float32", "train", 4, flops_per_image=50e9)
    row.ours = [2.0, 1.0, 100.0]  # median 2 s per batch of 4 -> 2 images/s
    row.torch = [4.0, 4.0]  # 1 image/s
    memory = {("segnet_basic", (180, 240), "float32"): {"tensorflow": {"train": 2**30}}}
    table = format_table([row], {"float32": 200.0}, memory)
    last = [cell.strip() for cell in table.splitlines()[-1].strip("|").split("|")]
    assert last[5:9] == ["2.00", "1.00", "2.00x", "100 (50%)"]
    assert last[9] == "50 (25%)"
    assert last[10:] == ["1024", "-"]


def _keras_to_torch(keras_model, torch_model):
    """Copies the Keras weights into the PyTorch twin, layer by layer in order."""
    import torch

    convs = [layer for layer in keras_model.layers if isinstance(layer, keras.layers.Conv2D)]
    norms = [
        layer for layer in keras_model.layers if isinstance(layer, keras.layers.BatchNormalization)
    ]
    torch_convs = [m for m in torch_model.modules() if isinstance(m, torch.nn.Conv2d)]
    torch_norms = [m for m in torch_model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(convs) == len(torch_convs) and len(norms) == len(torch_norms)
    with torch.no_grad():
        for layer, module in zip(convs, torch_convs, strict=True):
            module.weight.copy_(torch.from_numpy(np.transpose(layer.kernel.numpy(), (3, 2, 0, 1))))
            if layer.use_bias:
                module.bias.copy_(torch.from_numpy(layer.bias.numpy()))
        for layer, module in zip(norms, torch_norms, strict=True):
            module.weight.copy_(torch.from_numpy(layer.gamma.numpy()))
            module.bias.copy_(torch.from_numpy(layer.beta.numpy()))
            module.running_mean.copy_(torch.from_numpy(layer.moving_mean.numpy()))
            module.running_var.copy_(torch.from_numpy(layer.moving_variance.numpy()))


@pytest.mark.parametrize("name", ["segnet_basic", "segnet"])
def test_torch_twin_computes_the_same_network(name):
    torch = pytest.importorskip("torch")
    from benchmarks.torch_models import build_torch_model

    keras.utils.set_random_seed(1)
    model = segnet_tf.get_model(name, 5, width=0.125)
    twin = build_torch_model(name, 5, width=0.125).eval()
    assert sum(p.numel() for p in twin.parameters()) == sum(
        int(np.prod(w.shape)) for w in model.trainable_weights
    )
    # Non-trivial BN statistics, so that a mismatched layer order would show.
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(rng.normal(0, 0.1, layer.moving_mean.shape))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, layer.moving_variance.shape))
    _keras_to_torch(model, twin)
    images = rng.uniform(0, 255, (2, 45, 61, 3)).astype("float32")
    expected = model(images, training=False).numpy()
    with torch.no_grad():
        got = twin(torch.from_numpy(images).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    assert got.shape == expected.shape == (2, 45, 61, 5)
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-3 * np.abs(expected).max())


def test_tiny_run_prints_every_row(tmp_path, capsys, monkeypatch):
    import benchmarks.throughput as benchmark_run

    # The peak's 4096^2 matmuls take seconds a dtype; the table needs only some peak.
    monkeypatch.setattr(benchmark_run, "MATMUL_N", 256)
    out = tmp_path / "rows.json"
    args = ["--models", "segnet_basic", "--sizes", "16x24", "--repeats", "2", "--steps", "1"]
    # No idle pause before each timed block (1 s each by default): no figure is judged.
    assert main([*args, "--settle", "0", "--no-memory", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "matmul peak: float32" in printed
    rows = json.loads(out.read_text())["rows"]
    assert [(r["mode"], r["batch"]) for r in rows] == [("infer", 1), ("infer", 8), ("train", 4)]
    for row in rows:
        assert len(row["ours"]) == 2 and all(t > 0 for t in row["ours"])
        assert row["flops_per_image"] > 0
    assert rows[2]["flops_per_image"] == 3 * rows[0]["flops_per_image"]


def test_benchmark_runs_as_a_file_from_the_checkout():
    import subprocess

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "throughput.py"
    done = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and "--precision" in done.stdout


_PEAK_RSS_PROBE = """
import json, sys
import numpy as np
from benchmarks.throughput import _peak_rss_bytes, _reset_peak_rss, _rss_bytes

if not _reset_peak_rss():
    print(json.dumps(None))
    sys.exit()
baseline = _rss_bytes()
block = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
with_block = _peak_rss_bytes() - baseline
del block
_reset_peak_rss()
print(json.dumps([with_block, _peak_rss_bytes() - baseline]))
"""


def test_peak_rss_sees_an_allocation_and_resets():
    # In a child process of its own: a pytest worker may still run threads left by
    # earlier tests (tf.data prefetch, thread pools) whose allocations land between
    # the reset and the read.
    import json
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS_PROBE],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    growth = json.loads(done.stdout)
    if growth is None:
        pytest.skip("this kernel does not let a process reset its peak RSS")
    with_block, after_reset = growth
    assert with_block > 60 * 2**20
    assert after_reset < 32 * 2**20


def test_pooling_stand_ins_keep_every_convolution_and_shape():
    from benchmarks.tflite_pooling import with_stand_ins
    from segnet_tf.layers import MaxPoolingWithArgmax2D, MaxUnpooling2D

    model = segnet_tf.get_model("segnet", 4, width=0.125, encoder_addition=True)
    stand_in = with_stand_ins(model)
    kinds = {type(layer) for layer in stand_in.layers}
    assert not kinds & {MaxPoolingWithArgmax2D, MaxUnpooling2D}
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    stand_in_convs = [layer for layer in stand_in.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [layer.name for layer in stand_in_convs] == [layer.name for layer in convs]
    for ours, theirs in zip(stand_in_convs, convs, strict=True):
        np.testing.assert_array_equal(ours.get_weights()[0], theirs.get_weights()[0])
    images = np.random.default_rng(0).uniform(0, 255, (1, 45, 61, 3)).astype("float32")
    assert stand_in(images).shape == model(images).shape == (1, 45, 61, 4)


@pytest.mark.parametrize(
    "call_ms, expected_calls",
    [
        ([900, 60, 61, 60], 3),  # traced once, then steady: the first call and two more
        ([532, 2772, 2626, 2736, 176, 62, 65, 63], 6),  # slower than the first (a SavedModel)
        ([900, 60, 200, 61, 62, 61], 5),  # one slow call restarts the count
        ([900] + [60, 200] * 20, 12),  # never settles: stops at max_calls
    ],
)
def test_warm_up_lasts_until_the_call_time_settles(call_ms, expected_calls, monkeypatch):
    import benchmarks.inference as inference

    now = [0.0]
    durations = iter(call_ms)

    def call():  # takes the next duration on a fake clock
        now[0] += next(durations) / 1000

    monkeypatch.setattr(inference.time, "perf_counter", lambda: now[0])
    assert inference.warm_up(call) == expected_calls


def test_inference_table_ratios_and_warm_ups():
    import benchmarks.inference as inference

    mib = 2**20
    results = {
        ("segnet_basic", 2): {
            "keras-f32": {"times": [0.8, 0.6, 0.7], "warmups": 3, "peak": 700 * mib, "run": mib},
            "keras-bf16": {"times": [0.35], "warmups": 5, "peak": 710 * mib, "run": 0},
            "torch-bf16": {"times": [0.7], "peak": 900 * mib, "run": 0},  # saved before warm-ups
            "tflite-int8": None,  # a runtime that failed is left out
        }
    }
    table = inference.format_table(
        results,
        gflop={"segnet_basic": 10.0},
        peaks={"float32": 100.0, "bfloat16": 200.0},
        best_conv={"float32": 50.0},
        mious={},
    )
    rows = {
        line.split("|")[3].strip(): [c.strip() for c in line.split("|")[1:-1]]
        for line in table.splitlines()[2:]
    }
    assert set(rows) == {"keras-f32", "keras-bf16", "torch-bf16"}
    header = [c.strip() for c in table.splitlines()[0].split("|")[1:-1]]
    f32, bf16, torch_bf16 = (
        dict(zip(header, rows[r], strict=True)) for r in ("keras-f32", "keras-bf16", "torch-bf16")
    )
    # Median of 0.8, 0.6, 0.7 s for 2 images: 350 ms an image, 10 GFLOP / 0.35 s.
    assert f32["ms / image"] == "350.0" and f32["GFLOP/s"] == "29"
    assert f32["% of physical peak"] == "29%" and f32["% of best conv"] == "57%"
    assert bf16["vs keras-f32"] == "2.00x" and bf16["vs torch (same precision)"] == "2.00x"
    assert bf16["% of best conv"] == "-"  # no bfloat16 probe given
    assert (f32["warm-up calls"], bf16["warm-up calls"], torch_bf16["warm-up calls"]) == (
        "3",
        "5",
        "-",
    )
    assert f32["peak MiB"] == "700" and f32["run MiB"] == "1"


@pytest.mark.parametrize(
    ("off", "on", "expected"),
    [
        (0.2, 0.1, ("200.0", "100.0", "2.00x")),
        (0.5, None, ("500.0", "> 60 s", "< 0.008x")),  # oneDNN past the time limit
        (None, 2.0, ("> 60 s", "2000.0", "> 30.0x")),
        (None, None, ("> 60 s", "> 60 s", "-")),
    ],
)
def test_onednn_table_bounds_the_speed_up_of_a_probe_that_timed_out(off, on, expected):
    from benchmarks.onednn import table_cells

    assert table_cells(off, on, timeout=60.0) == expected


def test_onednn_probe_times_in_a_subprocess_names_its_kernels_and_stops_at_the_limit():
    from benchmarks.onednn import time_in_subprocess

    seconds, kernels = time_in_subprocess("conv 7x7 3->64 360x480", True, repeats=1, timeout=120)
    assert seconds is not None and 0 < seconds < 120
    assert kernels  # oneDNN convolved, and its log said with what
    seconds, kernels = time_in_subprocess("conv 7x7 3->64 360x480", False, repeats=1, timeout=120)
    assert seconds is not None and kernels == []  # Eigen: no oneDNN convolution
    assert time_in_subprocess("conv 7x7 3->64 360x480", False, repeats=1, timeout=0.01)[0] is None


@pytest.mark.parametrize("kind", ["infer", "train"])
def test_onednn_network_probes_time_a_call(kind):
    from benchmarks.onednn import run_probe

    assert run_probe(kind, ("segnet_basic", 0.125, 32, 48, 2), repeats=2) > 0


def test_onednn_kernels_are_read_from_its_creation_log():
    from benchmarks.onednn import convolution_kernels

    problem = "src:f32::blocked:acdb::f0 wei:f32::blocked:cdba::f0,alg:convolution_direct,mb1"
    log = "\n".join(
        [
            "onednn_verbose,v1,info,cpu,isa:Intel AVX2",
            "onednn_verbose,v1,primitive,create:dispatch,convolution,scratchpad memory limit "
            "exceeded,src/cpu/gemm_convolution_utils.cpp:2146",
            f"onednn_verbose,v1,primitive,create:cache_miss,cpu,convolution,ref:any,{problem},0.01",
            f"onednn_verbose,v1,primitive,create:cache_miss,cpu,reorder,jit:uni,{problem},0.01",
            f"onednn_verbose,v1,primitive,create:cache_miss,cpu,convolution,x64:gemm:jit,{problem},0",
            f"onednn_verbose,v1,primitive,create:cache_miss,cpu,convolution,ref:any,{problem},0.01",
            '{"seconds": 0.5}',
        ]
    )
    assert convolution_kernels(log) == ["ref:any", "x64:gemm:jit"]


@pytest.mark.parametrize(
    "flags, expected",
    [
        ("fpu sse2 avx2 fma", "AMD EPYC (family 25 model 1), 2 cores, avx2, no AVX-512/AMX"),
        (
            "avx2 avx512f avx512_vnni avx512_bf16",
            "AMD EPYC (family 25 model 1), 2 cores, avx2, avx512f, avx512_vnni, avx512_bf16",
        ),
    ],
)
def test_cpu_label_names_the_generation_and_vector_units(tmp_path, monkeypatch, flags, expected):
    # Two CPUs both called "AMD EPYC" ran this project's benchmarks at very different
    # bfloat16 and int8 speeds: the label must tell them apart.
    from benchmarks import machine

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\n"
        f"model name\t: AMD EPYC\ncpu MHz\t\t: 2445.4\nflags\t\t: {flags}\n"
    )
    monkeypatch.setattr(machine.os, "sched_getaffinity", lambda pid: {0, 1})
    facts = machine.cpu_facts(str(cpuinfo))
    assert (facts["family"], facts["model_number"], facts["vendor"]) == (25, 1, "AuthenticAMD")
    assert machine.cpu_label(facts) == expected


def test_robustness_shares_are_of_clean_and_leave_size_out_of_the_mean():
    from benchmarks.robustness import CLEAN, summarize
    from segnet_tf.data.camera_shifts import FIXED_SHIFTS

    def matrix(iou):  # two classes, each with IoU `iou`
        hit = round(100 * iou)
        return np.array([[hit, 100 - hit], [0, hit]])

    # Clean 1.0; "4x size" at 0.2 (would drag the mean down if it counted); the
    # photometric shifts at 0.9 except blur at 0.5.
    ious = {CLEAN: 1.0, **{name: 0.9 for name in FIXED_SHIFTS}, "4x size": 0.2}
    ious["blur 1.5 px"] = 0.5
    summary = summarize({name: matrix(v) for name, v in ious.items()}, ["a", "b"])
    assert summary["mean_iou"][CLEAN] == 100
    assert "4x size" not in summary["photometric_shifts"]
    assert summary["mean_share"] == pytest.approx((6 * 0.9 + 0.5) / 7)
    assert summary["lowest_shift"] == "blur 1.5 px"
    assert summary["lowest_share"] < 0.6 < summary["mean_share"]
    assert set(summary["per_class_iou"][CLEAN]) == {"a", "b"}
