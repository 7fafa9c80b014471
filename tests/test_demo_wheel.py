"""The demo ships in the package: a built wheel, installed in a fresh venv, serves it.

Nothing is downloaded: the new venv also sees the packages of the interpreter running
the tests (TensorFlow, Streamlit...) through a ``.pth`` file, after its own
site-packages, and the wheel is installed there with ``--no-deps``, so it wins over an
editable install of the source tree.
"""

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import venv
from pathlib import Path

import pytest
from data_fixtures import stop_process_group

pytest.importorskip("streamlit", reason="the demo needs streamlit: pip install -e '.[demo]'")

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv python, environment) with the wheel of this checkout installed."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    source.mkdir()
    # A clean copy: an in-tree build/ folder could put stale files into the wheel.
    # Top-level modules (the `segnet` entry point) go into the wheel beside the package;
    # the wheel carries LICENSE (pyproject's license-files).
    for path in [ROOT / "pyproject.toml", ROOT / "README.md", ROOT / "LICENSE", *ROOT.glob("*.py")]:
        shutil.copy(path, source / path.name)
    shutil.copytree(
        ROOT / "segnet_tf", source / "segnet_tf", ignore=shutil.ignore_patterns("__pycache__")
    )
    wheels = tmp / "wheels"
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    subprocess.run([*build, "-q", "-w", str(wheels), str(source)], check=True)
    (wheel,) = wheels.glob("segnet_tf-*.whl")
    prefix = tmp / "venv"
    venv.create(prefix, with_pip=False)
    python = prefix / "bin" / "python"
    site_packages = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # Only the folder is added: its own .pth files (an editable install) are not run.
    Path(site_packages, "test_parent.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SEGNET_DEMO_MODEL")}
    env.update(HOME=str(tmp / "home"), TF_CPP_MIN_LOG_LEVEL="2")
    (tmp / "home").mkdir()
    install = [str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)]
    subprocess.run(install, check=True, env=env, cwd=tmp)
    return python, env, prefix


def test_installed_wheel_holds_the_page_and_its_config(installed):
    python, env, prefix = installed
    script = (
        "import segnet_tf, segnet_tf.demo.page as page\n"
        "from segnet_tf.cli.demo import app_path\n"
        "print(segnet_tf.__file__); print(app_path()); print(page.__file__)\n"
    )
    result = subprocess.run(
        [str(python), "-c", script], env=env, cwd=prefix, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    package, page, imported = (Path(line) for line in result.stdout.split())
    assert package.is_relative_to(prefix) and page.is_relative_to(prefix)  # not the checkout
    assert page == imported and page.is_file()
    assert (page.parent / ".streamlit" / "config.toml").is_file()


def test_installed_page_renders_with_the_bundled_model(installed):
    python, env, prefix = installed
    script = (
        "from streamlit.testing.v1 import AppTest\n"
        "from segnet_tf.cli.demo import app_path\n"
        "app = AppTest.from_file(str(app_path()), default_timeout=180).run()\n"
        "assert not app.exception, app.exception\n"
        "print(app.title[0].value)\n"
    )
    result = subprocess.run(
        [str(python), "-c", script], env=env, cwd=prefix, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("Semantic segmentation with SegNet")


def test_segnet_demo_serves_the_page_from_the_wheel(installed):
    python, env, prefix = installed
    port = free_port()
    command = [str(prefix / "bin" / "segnet"), "demo", "--headless", "--port", str(port)]
    command += ["--address", "127.0.0.1"]
    log = open(prefix / "demo.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        command,
        env=env,
        cwd=prefix,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        # A state to wait for; the deadline only ends a hung start (a loaded machine
        # takes far longer than an idle one to import TensorFlow and Streamlit).
        deadline = time.monotonic() + 300
        while True:
            assert process.poll() is None, (prefix / "demo.log").read_text()[-2000:]
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, "segnet demo did not answer in 300 s"
                time.sleep(0.3)
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200 and b"<html" in response.read().lower()
    finally:
        stop_process_group(process)
        log.close()
