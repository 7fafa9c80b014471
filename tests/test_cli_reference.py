"""The command-line reference of the documentation site (scripts/gen_cli_reference.py)
lists every flag of every `segnet` command, with the config field's type and default."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from segnet_tf.cli import COMMANDS, build_parser
from segnet_tf.commands import TrainConfig

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "gen_cli_reference.py"


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> str:
    # In a process of its own: the generator imports the package without its API.
    output = tmp_path_factory.mktemp("cli") / "cli.md"
    subprocess.run([sys.executable, str(SCRIPT), "-o", str(output)], check=True, cwd=ROOT)
    return output.read_text(encoding="utf-8")


def sections(text: str) -> dict[str, str]:
    """Command name ("" for `segnet` itself) -> its section of the page."""
    parts = re.split(r"^## `segnet ?([\w-]*)`$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def table_rows(section: str) -> dict[str, list[str]]:
    """First cell (the flag, without backticks) -> the row's cells."""
    rows = {}
    for line in section.splitlines():
        if line.startswith("| `"):
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
            rows[cells[0].strip("`")] = cells
    return rows


def subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_one_section_per_command(reference):
    assert list(sections(reference)) == ["", *COMMANDS]


def test_every_flag_of_every_command_is_listed(reference):
    found = sections(reference)
    missing = []
    for name, parser in subparsers().items():
        listed = set(re.split(r"[\s,/]+", " ".join(table_rows(found[name]))))
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            spellings = action.option_strings or [action.metavar or action.dest.upper()]
            missing += [f"segnet {name} {s}" for s in spellings if s not in listed]
    assert not missing, f"not in the reference: {missing}"


def test_config_fields_show_their_type_default_and_help(reference):
    train = table_rows(sections(reference)["train"])
    flag, kind, default, help_text = train["--width"]
    assert (kind, default) == ("float", f"`{TrainConfig.width}`")
    assert help_text.startswith("filter-count multiplier")
    assert train["--image-size"][1:3] == ["tuple[int, int]", "`360 480`"]
    assert train["--augment / --no-augment"][1] == "bool"
    assert "one of: sgd, adamw" in train["--optimizer"][1]
    assert table_rows(sections(reference)["predict"])["--out"][2] == "required"


def test_the_site_generates_the_page_at_build_time():
    hooks = (ROOT / "scripts" / "mkdocs_hooks.py").read_text(encoding="utf-8")
    assert "reference/cli.md" in hooks and "gen_cli_reference.py" in hooks
    assert "scripts/mkdocs_hooks.py" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert not (ROOT / "docs" / "reference" / "cli.md").exists(), "generated, never copied"


def test_api_pages_show_a_config_fields_default_not_its_declaration():
    pytest.importorskip("mkdocs")
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "mkdocs_hooks", ROOT / "scripts" / "mkdocs_hooks.py"
    )
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)

    class Page:
        class file:  # noqa: N801 - what MkDocs' page.file offers
            src_uri = "reference/api/commands.md"

    rendered = (
        'default: <code><span title="x._opt">_opt</span>((360, 480), &#39;crop size&#39;)</code>'
        " see :class:<code>Segmenter</code> and <code>keep(1)</code>"
        ' default: <code><span title="m.model_field">model_field</span>()</code>'
    )
    assert hooks.on_page_content(rendered, Page, None, None) == (
        "default: <code>(360, 480)</code> see <code>Segmenter</code> and <code>keep(1)</code>"
        " default: see the command-line reference"
    )
