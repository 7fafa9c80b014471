"""Helpers shared by the tests: tiny data files in tmp dirs, processes, the browser, scripts/."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from segnet_tf.classes import ClassList

TINY_CLASSES = ClassList(
    names=("a", "b", "c", "void"),
    colors=((255, 0, 0), (0, 255, 0), (0, 0, 255), (0, 0, 0)),
    void_id=3,
)


def rand_image(h: int = 12, w: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def rand_ids(h: int = 12, w: int = 16, seed: int = 0, high: int = 4) -> np.ndarray:
    return np.random.default_rng(seed + 1000).integers(0, high, (h, w), dtype=np.uint8)


def write(path: str, array: np.ndarray, mode: str | None = None) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array, mode).save(path) if mode else Image.fromarray(array).save(path)
    return path


def make_folder(root: str, n: int = 3, h: int = 12, w: int = 16) -> tuple[str, str]:
    """Write n RGB images and n id masks; return (images_dir, masks_dir)."""
    images, masks = os.path.join(root, "images"), os.path.join(root, "masks")
    for i in range(n):
        write(os.path.join(images, f"im{i}.png"), rand_image(h, w, i))
        write(os.path.join(masks, f"im{i}.png"), rand_ids(h, w, i))
    return images, masks


def tree_hash(root: str) -> str:
    """Hash of every file's path, content and mtime under root."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            digest.update(path.encode())
            digest.update(str(os.stat(path).st_mtime_ns).encode())
            with open(path, "rb") as f:
                digest.update(f.read())
    return digest.hexdigest()


def stop_process_group(process) -> None:
    """SIGTERM a server started with ``start_new_session=True``; SIGKILL it after 15 s."""
    import signal
    import subprocess

    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


CHROMIUM = "/usr/bin/chromium"
# Headless Chromium on a machine with no network: without the background-networking
# flags it keeps trying (and failing) to reach Google's hosts.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def browser_or_skip():
    """Playwright's sync API, or skip the calling test module when it or Chromium is missing.

    Call at module level of a browser test.
    """
    import pytest

    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="browser test needs playwright: pip install playwright"
    )
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(
            f"browser test needs Debian's Chromium at {CHROMIUM}: apt-get install -y chromium",
            allow_module_level=True,
        )
    return sync_api


SCRIPTS_DIR = Path(__file__).resolve().parent.parent / "scripts"


def script_module(name: str):
    """``scripts/<name>.py`` as a module (the scripts are not a package).

    scripts/ goes on ``sys.path`` as it does for ``python scripts/<name>.py``, so that a
    script's imports of its sibling scripts resolve the same way in the tests.
    """
    if str(SCRIPTS_DIR) not in sys.path:
        sys.path.insert(0, str(SCRIPTS_DIR))
    spec = importlib.util.spec_from_file_location(name, SCRIPTS_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def script_main(name: str):
    """The ``main`` function of ``scripts/<name>.py``."""
    return script_module(name).main
