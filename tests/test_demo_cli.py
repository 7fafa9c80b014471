"""Tests of `segnet demo` (segnet_tf/cli/demo.py) without starting a server."""

import argparse
import subprocess

from segnet_tf.cli import build_parser, main
from segnet_tf.cli import demo as demo_cli


def test_app_path_points_to_the_streamlit_page():
    path = demo_cli.app_path()
    # The page ships in the package (segnet_tf/demo/page.py), so installed wheels have it.
    assert path.name == "page.py" and path.parent.name == "demo"
    assert path.parent.parent.name == "segnet_tf"
    assert (path.parent / ".streamlit" / "config.toml").is_file()


def test_command_runs_streamlit_on_the_app_with_the_options():
    args = build_parser().parse_args(["demo", "--port", "8600", "--headless"])
    command = demo_cli.streamlit_command(args)
    assert command[1:5] == ["-m", "streamlit", "run", str(demo_cli.app_path())]
    flags = dict(zip(command[5::2], command[6::2], strict=True))
    assert flags["--server.port"] == "8600"
    assert flags["--server.headless"] == "true"
    assert flags["--server.address"] == "localhost"


def test_model_option_is_passed_through_the_environment(tmp_path, monkeypatch):
    model = tmp_path / "mine.keras"
    model.write_bytes(b"x")
    seen = {}

    def fake_call(command, env):
        seen["command"], seen["model"] = command, env.get("SEGNET_DEMO_MODEL")
        return 0

    monkeypatch.setattr(subprocess, "call", fake_call)
    args = argparse.Namespace(model=str(model), port=8501, address="localhost", headless=True)
    assert demo_cli.run(args) == 0
    assert seen["model"] == str(model.resolve())
    assert "run" in seen["command"]


def test_missing_model_is_a_clear_error(tmp_path, capsys):
    assert main(["demo", "--model", str(tmp_path / "none.keras")]) == 2
    assert "none.keras: model file not found" in capsys.readouterr().err
