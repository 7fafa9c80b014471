"""Tests of `segnet demo` (segnet_tf/cli/demo.py) and of starting the `segnet` command."""

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
import zipfile
from pathlib import Path

import pytest

from segnet_tf.cli import build_parser, main, tf_logs
from segnet_tf.cli import demo as demo_cli

ROOT = Path(__file__).resolve().parents[1]


def entry_point() -> tuple[str, str]:
    """pyproject.toml's `segnet` entry point: (module, function)."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, function = scripts["segnet"].split(":")
    return module, function


def segnet_command() -> list[str]:
    """`segnet` as installed beside this Python, else (an older install) its entry point."""
    module, function = entry_point()
    installed = Path(sys.executable).with_name("segnet")
    if installed.is_file() and f"from {module} import {function}" in installed.read_text():
        return [str(installed)]
    return [
        sys.executable,
        "-c",
        f"import sys; from {module} import {function}; sys.exit({function}())",
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_app_path_points_to_the_streamlit_page():
    path = demo_cli.app_path()
    # The page ships in the package (segnet_tf/demo/page.py), so installed wheels have it.
    assert path.is_file() and path.name == "page.py" and path.parent.name == "demo"
    assert path.parent.parent.name == "segnet_tf"
    assert (path.parent / ".streamlit" / "config.toml").is_file()


def test_streamlit_runs_the_app_headless_with_the_options():
    args = build_parser().parse_args(["demo", "--port", "8600"])
    arguments = demo_cli.streamlit_arguments(args)
    assert arguments[:2] == ["run", str(demo_cli.app_path())]
    flags = dict(zip(arguments[2::2], arguments[3::2], strict=True))
    assert flags["--server.port"] == "8600"
    assert flags["--server.address"] == "localhost"
    # Headless whatever --headless says: no first-run prompt, no agent-skills adverts.
    assert flags["--server.headless"] == "true"
    assert flags["--server.showEmailPrompt"] == "false"
    assert flags["--browser.gatherUsageStats"] == "false"


def test_page_url_names_a_host_a_browser_can_reach():
    def url(address):
        return demo_cli.page_url(argparse.Namespace(address=address, port=8501))

    assert url("localhost") == "http://localhost:8501"
    assert url("0.0.0.0") == "http://localhost:8501"
    assert url("::1") == "http://[::1]:8501"


def test_browser_is_opened_only_when_asked_and_possible(monkeypatch):
    opened, started = [], []
    monkeypatch.setattr(demo_cli, "run_streamlit", lambda arguments: 0)
    monkeypatch.setattr(demo_cli, "open_browser_when_ready", started.append)
    monkeypatch.setattr(demo_cli.webbrowser, "open", opened.append)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(demo_cli.sys, "platform", "linux")

    def run(*flags):
        return demo_cli.run(build_parser().parse_args(["demo", *flags]))

    assert run() == 0 and started == []  # no display: a text browser would take the terminal
    monkeypatch.setenv("DISPLAY", ":0")
    assert run("--headless") == 0 and started == []
    assert run("--port", "8700") == 0 and started == ["http://localhost:8700"]
    assert opened == []


def test_model_option_is_passed_through_the_environment(tmp_path, monkeypatch):
    model = tmp_path / "mine.keras"
    zipfile.ZipFile(model, "w").close()  # a whole archive: what the option checks
    seen = {}

    def fake_streamlit(arguments):
        seen["arguments"], seen["model"] = arguments, os.environ.get("SEGNET_DEMO_MODEL")
        return 0

    monkeypatch.setattr(demo_cli, "run_streamlit", fake_streamlit)
    monkeypatch.delenv("SEGNET_DEMO_MODEL", raising=False)
    args = argparse.Namespace(model=str(model), port=8501, address="localhost", headless=True)
    assert demo_cli.run(args) == 0
    assert seen["model"] == str(model.resolve())
    assert seen["arguments"][0] == "run"


def test_missing_model_is_a_clear_error(tmp_path, capsys):
    assert main(["demo", "--model", str(tmp_path / "none.keras")]) == 2
    assert "none.keras: no such model file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [(["--help"], "demo"), (["train", "--help"], "--run-dir")],
    ids=["segnet", "segnet-train"],
)
def test_help_imports_no_tensorflow_and_answers_at_once(arguments, expected):
    code = (
        "import sys\n"
        "from segnet_tf_cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
        # Every command's config, as the parser reads them, without TensorFlow.
        "import segnet_tf.commands\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", code, *arguments],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert expected in result.stdout and "--verbose" in result.stdout
    # "At once" is what is imported, not a time (which a busy machine changes): no
    # TensorFlow, no Keras (TensorFlow alone takes about 3 s of processor time).
    assert result.stdout.splitlines()[-2:] == ["False False", "False False"]
    assert result.stderr == ""


def test_entry_point_is_the_module_that_defers_the_api():
    # segnet_tf/__init__.py leaves TensorFlow out only for this entry point.
    assert entry_point() == ("segnet_tf_cli", "main")


def test_segnet_demo_starts_without_a_terminal_and_stops_on_sigterm(tmp_path):
    """README's `segnet demo` on a fresh HOME with standard input closed, no display."""
    pytest.importorskip("streamlit", reason="the demo needs streamlit: pip install -e '.[demo]'")
    home = tmp_path / "home"
    # An AI agent's folder: Streamlit advertises its agent skills when it sees one.
    (home / ".claude").mkdir(parents=True)
    port = free_port()
    env = dict(os.environ, HOME=str(home), PYTHONPATH=str(ROOT))
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "SEGNET_VERBOSE", "TF_CPP_MIN_LOG_LEVEL"):
        env.pop(name, None)
    log_path = tmp_path / "demo.log"
    url = f"http://localhost:{port}"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [*segnet_command(), "demo", "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
        )
        try:
            deadline = time.monotonic() + 180
            page = None
            while page is None and time.monotonic() < deadline:
                assert process.poll() is None, log_path.read_text()
                try:
                    with urllib.request.urlopen(url, timeout=5) as response:
                        page = response.read().decode()
                except OSError:
                    time.sleep(0.5)
            assert page is not None, log_path.read_text()
            assert "<title>" in page
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    output = log_path.read_text()
    assert f"URL: {url}" in output
    assert "Email" not in output and "Welcome to Streamlit" not in output
    assert "skills" not in output and "usage statistics" not in output
    # TensorFlow's start-up lines are hidden by default.
    assert "oneDNN" not in output and "cuInit" not in output and "cuda" not in output
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=5)


def test_verbose_is_accepted_before_and_after_the_subcommand():
    parser = build_parser()
    assert parser.parse_args(["demo"]).verbose is False
    assert parser.parse_args(["--verbose", "demo"]).verbose is True
    assert parser.parse_args(["demo", "-v"]).verbose is True


def test_stderr_captured_hides_what_is_written_to_the_descriptor_unless_it_fails(capfd):
    with tf_logs.stderr_captured():
        os.write(2, b"I0000 oneDNN custom operations are on\n")
    assert capfd.readouterr().err == ""
    with pytest.raises(ImportError), tf_logs.stderr_captured():
        os.write(2, b"the reason it failed\n")
        raise ImportError("no TensorFlow")
    assert capfd.readouterr().err == "the reason it failed\n"
