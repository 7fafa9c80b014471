"""Open the interactive demo in the browser: `streamlit run demo/app.py`.

The page lives in the repository's `demo/` folder (beside `segnet_tf/`), so this
command works from a source checkout installed with `pip install -e ".[demo]"`.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

HELP = "open the interactive segmentation demo (Streamlit) in the browser"


def app_path() -> Path:
    """Path of the demo page, `segnet_tf/demo/page.py`, inside the installed package.

    Raises:
        OSError: If the page is missing (a broken installation).
    """
    path = Path(__file__).resolve().parents[1] / "demo" / "page.py"
    if not path.is_file():
        raise OSError(
            f"{path}: demo page not found; the segnet_tf installation is incomplete. "
            'Reinstall it with `pip install "segnet_tf[demo]"`.'
        )
    return path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="`.keras` model to open with (default: bundled CamVid)")
    parser.add_argument("--port", type=int, default=8501, help="port to serve on (default 8501)")
    parser.add_argument(
        "--address", default="localhost", help="address to serve on (default localhost)"
    )
    parser.add_argument("--headless", action="store_true", help="do not open a browser window")


def streamlit_command(args: argparse.Namespace) -> list[str]:
    """The `streamlit run` command line for `args`."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_path()),
        "--server.port",
        str(args.port),
        "--server.address",
        args.address,
        "--server.headless",
        "true" if args.headless else "false",
        "--browser.gatherUsageStats",
        "false",
    ]


def run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("streamlit") is None:
        raise OSError(
            'Streamlit is not installed; install the demo extra: pip install -e ".[demo]"'
        )
    env = dict(os.environ)
    if args.model:
        model = Path(args.model).expanduser()
        if not model.is_file():
            raise ValueError(f"{model}: model file not found.")
        env["SEGNET_DEMO_MODEL"] = str(model.resolve())
    try:
        return subprocess.call(streamlit_command(args), env=env)
    except KeyboardInterrupt:
        return 0
