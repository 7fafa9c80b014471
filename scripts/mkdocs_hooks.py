"""MkDocs hooks of the documentation site (`hooks:` in mkdocs.yml).

`reference/cli.md` is not a file in `docs/`: it is generated from the `segnet` parser
by `scripts/gen_cli_reference.py` each time the site is built, so the command-line
reference cannot fall behind the code.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from mkdocs.structure.files import File

CLI_REFERENCE = "reference/cli.md"


def _generator():
    path = Path(__file__).with_name("gen_cli_reference.py")
    spec = importlib.util.spec_from_file_location("gen_cli_reference", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it runs
    spec.loader.exec_module(module)
    return module


def on_files(files, config):
    files.append(File.generated(config, CLI_REFERENCE, content=_generator().reference_markdown()))
    return files
