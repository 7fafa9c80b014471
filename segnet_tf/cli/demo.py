"""Serve the interactive demo (Streamlit) and open it in the browser.

The page ships inside the package (`segnet_tf/demo/page.py`), so this command works
from any install with the demo extra: `pip install "segnet_tf[demo]"`, or
`pip install -e ".[demo]"` in a source checkout.

Streamlit runs inside this process (what `streamlit run` does with the page), so a
signal that stops `segnet demo` (Ctrl-C, SIGTERM) stops the server, and nothing is
left serving if this process dies. It always runs headless: that is Streamlit's
switch for a server without a terminal user, which turns off its first-run email
prompt (it would stop a service, a container or a CI job, whose standard input is
closed, and makes a terminal wait for Enter), its terminal advert and its in-page
pop-up for installing AI-agent "skills". The browser is opened by this command
instead, unless `--headless` is given or there is no display to open it on.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import threading
import time
import urllib.request
import webbrowser
from pathlib import Path

HELP = "serve the interactive segmentation demo (Streamlit) and open it in the browser"

# How long to wait for the server before giving up on opening the browser; the
# first start imports TensorFlow and may be slow on a busy machine.
BROWSER_WAIT_S = 120.0


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


def streamlit_arguments(args: argparse.Namespace) -> list[str]:
    """The `streamlit run` arguments for `args` (what follows `streamlit`)."""
    return [
        "run",
        str(app_path()),
        "--server.port",
        str(args.port),
        "--server.address",
        args.address,
        "--server.headless",
        "true",
        # Redundant with headless; stated in case a config file turns headless off.
        "--server.showEmailPrompt",
        "false",
        "--browser.gatherUsageStats",
        "false",
    ]


def page_url(args: argparse.Namespace) -> str:
    """Where a browser on this machine finds the page."""
    host = args.address
    if host in ("", "0.0.0.0", "::"):
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{args.port}"


def display_available() -> bool:
    """Whether a browser window can be shown (on Linux, an X11 or Wayland display).

    Without one, `webbrowser` would fall back to a text browser in this terminal.
    """
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_browser_when_ready(url: str, timeout: float = BROWSER_WAIT_S) -> threading.Thread:
    """Open `url` in the browser once the server answers its health check.

    Returns the (daemon) thread doing it.
    """

    def wait_and_open() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        webbrowser.open(url)
                        return
            except OSError:
                time.sleep(0.5)

    thread = threading.Thread(target=wait_and_open, name="open-browser", daemon=True)
    thread.start()
    return thread


def run_streamlit(arguments: list[str]) -> int:
    """Run the `streamlit` command line in this process; returns its exit code."""
    from streamlit.web import cli as streamlit_cli

    try:
        streamlit_cli.main(args=arguments, prog_name="streamlit")
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


def run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("streamlit") is None:
        raise OSError(
            'Streamlit is not installed; install the demo extra: pip install -e ".[demo]"'
        )
    if args.model:
        from segnet_tf.model_files import check_model_file

        model = check_model_file(Path(args.model).expanduser())
        os.environ["SEGNET_DEMO_MODEL"] = str(model.resolve())
    arguments = streamlit_arguments(args)
    if not args.headless and display_available():
        open_browser_when_ready(page_url(args))
    try:
        return run_streamlit(arguments)
    except KeyboardInterrupt:  # before Streamlit installed its own handler
        return 130
