"""End to end: `segnet demo` driven by Debian's Chromium through Playwright.

Needs `/usr/bin/chromium` (`apt-get install -y chromium`) and the `playwright` Python
package; Playwright's own browser download is not used. Skipped when either is missing.
"""

import io
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from data_fixtures import CHROMIUM, CHROMIUM_FLAGS, browser_or_skip, stop_process_group
from PIL import Image

import segnet_tf
from segnet_tf.data import find_camvid_dir, synthetic_example

ROOT = Path(__file__).resolve().parents[1]
WAIT_MS = 120_000  # for the page to show a result (a state; the machine may be busy)

pytest.importorskip("streamlit", reason="the demo needs streamlit: pip install -e '.[demo]'")
sync_api = browser_or_skip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, server: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer on {url} within {timeout:.0f} s")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`segnet demo --headless` on a free port, with a tiny Bayesian model.

    Started as README says, from a fresh HOME that holds an AI agent's folder (Streamlit
    shows its "Install skills" pop-up when it sees one and is not headless).
    """
    folder = tmp_path_factory.mktemp("demo-server")
    model = folder / "tiny_bayesian.keras"
    segnet_tf.get_model("bayesian_segnet_basic", 11, width=1 / 16).save(model)
    (folder / "home" / ".claude").mkdir(parents=True)
    port = free_port()
    env = dict(os.environ, HOME=str(folder / "home"), PYTHONPATH=str(ROOT))
    env.pop("SEGNET_CAMVID_DIR", None)
    log = open(folder / "segnet-demo.log", "w")  # noqa: SIM115 - closed below
    entry = "import sys; from segnet_tf_cli import main; sys.exit(main())"
    command = [sys.executable, "-c", entry, "demo", "--headless", "--model", str(model)]
    command += ["--address", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        command,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, timeout=120)
        yield url
    finally:
        stop_process_group(process)
        log.close()


def image_shown(context, server, figure) -> Image.Image:
    """The picture inside a Streamlit image element, as the browser downloads it."""
    source = figure.locator("img").get_attribute("src")
    body = context.request.get(source if source.startswith("http") else server + source)
    return Image.open(io.BytesIO(body.body()))


def test_upload_shows_mask_overlay_legend_and_errors(server, tmp_path, monkeypatch):
    monkeypatch.delenv("SEGNET_CAMVID_DIR", raising=False)  # as for the server
    street = tmp_path / "street.png"
    Image.fromarray(synthetic_example(4, size=(240, 320), seed=3)[0]).save(street)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"this is not a PNG")
    screenshot = tmp_path / "demo.png"
    inside_shot = tmp_path / "demo-inside.png"

    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1300},
        )
        try:
            page = context.new_page()
            page.goto(server, timeout=WAIT_MS)
            page.get_by_text("Upload one or more images").wait_for(timeout=WAIT_MS)
            # The server looks for CamVid where this process does (same checkout and
            # folder, no $SEGNET_CAMVID_DIR): CamVid frames as samples, or a hint.
            if find_camvid_dir() is None:
                page.get_by_text("CamVid was not found").wait_for(timeout=WAIT_MS)
            else:
                page.get_by_text("…or try a CamVid test frame").wait_for(timeout=WAIT_MS)
            page.locator(".st-key-images input[type=file]").set_input_files([street, broken])

            overlay = page.get_by_text("Overlay (50% opacity)", exact=True)
            overlay.wait_for(timeout=WAIT_MS)
            page.get_by_text("Legend", exact=True).wait_for(timeout=WAIT_MS)
            page.get_by_text("broken.png: not an image").wait_for(timeout=WAIT_MS)
            page.wait_for_function(
                "[...document.images].filter(i => i.complete && i.naturalWidth > 0).length >= 6",
                timeout=WAIT_MS,
            )

            assert page.locator('[data-testid="stException"]').count() == 0
            assert page.get_by_text("Install skills").count() == 0
            assert page.get_by_role("heading", name="street.png").is_visible()
            assert page.get_by_text("Inference time").is_visible()
            assert page.get_by_text("Uncertainty: MC variance (8 samples").is_visible()
            assert page.get_by_text("Confidence: probability of the predicted class").is_visible()
            assert page.get_by_text("Highlight one class").is_visible()
            assert page.get_by_text("Before / after: where the photo ends").is_visible()
            legend = page.locator(".segnet-legend").first.inner_text()
            shares = [
                float(line.rsplit(maxsplit=1)[-1].rstrip("%"))
                for line in legend.splitlines()
                if line.strip().endswith("%")
            ]
            assert shares and abs(sum(shares) - 100) < 1.0, legend
            for label in ("Class-id mask (PNG)", "Colour mask (PNG)", "Overlay (PNG)"):
                page.get_by_role("button", name=label).wait_for(timeout=WAIT_MS)
            page.locator(
                '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg'
            ).first.wait_for(timeout=WAIT_MS)
            page.screenshot(path=str(screenshot), full_page=True)

            # The overlay picture the browser shows is the uploaded image's size.
            images = page.locator('[data-testid="stImage"]')
            shown = image_shown(
                context,
                server,
                images.filter(has=page.get_by_text("Overlay (50% opacity)", exact=True)),
            )
            assert shown.size == (320, 240)
            assert np.asarray(shown.convert("RGB")).std() > 5  # a picture, not a blank
            # Heat-maps carry a colour bar: wider than the image, same height.
            heat = image_shown(context, server, images.filter(has_text="Confidence:"))
            assert heat.height == 240 and heat.width > 320

            # Inside SegNet appears only when asked for.
            assert page.get_by_text("Put back by the pooling indices").count() == 0
            page.get_by_text("Inside SegNet", exact=True).first.click()
            page.get_by_text("③ Put back by the pooling indices").wait_for(timeout=WAIT_MS)
            page.wait_for_timeout(1000)
            assert page.locator('[data-testid="stException"]').count() == 0
            page.screenshot(path=str(inside_shot), full_page=True)
        finally:
            context.close()

    saved = Image.open(screenshot)
    assert saved.width == 1400 and saved.height >= 1000
    for folder in (os.environ.get("SEGNET_DEMO_SCREENSHOT_DIR"),):  # e.g. a CI artifact
        if folder:
            shutil.copy(screenshot, folder)
            shutil.copy(inside_shot, folder)
