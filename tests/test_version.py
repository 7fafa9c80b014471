"""One version number: segnet_tf/__about__.py, read by pyproject, printed by the CLI,
and listed in the changelog."""

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def about_version() -> str:
    namespace: dict = {}
    exec((ROOT / "segnet_tf" / "__about__.py").read_text(encoding="utf-8"), namespace)
    return namespace["__version__"]


def test_version_is_a_release_number():
    assert re.fullmatch(r"\d+\.\d+\.\d+", about_version())


def test_pyproject_reads_the_version_from_about():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"], "the version is written twice"
    assert "version" in project["project"]["dynamic"]
    source = project["tool"]["setuptools"]["dynamic"]["version"]
    assert source == {"attr": "segnet_tf.__about__.__version__"}


def test_changelog_lists_the_version():
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## [{about_version()}] - " in changelog


def test_segnet_version_prints_it_without_tensorflow():
    code = (
        "import sys\n"
        "from segnet_tf_cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exit:\n"
        "    print('exit', exit.code)\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "--version"],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        check=True,
    )
    assert result.stdout.splitlines() == [f"segnet_tf {about_version()}", "exit 0", "False False"]
