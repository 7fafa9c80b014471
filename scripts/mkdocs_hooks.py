"""MkDocs hooks of the documentation site (`hooks:` in mkdocs.yml).

- `reference/cli.md` is not a file in `docs/`: it is generated from the `segnet`
  parser by `scripts/gen_cli_reference.py` each time the site is built, so the
  command-line reference cannot fall behind the code.
- The docstrings cross-reference with Sphinx roles (:class:`Segmenter`), which
  mkdocstrings leaves as text before the code span; the API pages drop the role.
- A command config's field is declared with a helper (`option(0.5, "help", ...)`),
  which mkdocstrings shows as the field's default; the API pages show the helper's
  first argument, the default itself, instead.
"""

from __future__ import annotations

import ast
import html
import importlib.util
import re
import sys
from pathlib import Path

from mkdocs.structure.files import File

CLI_REFERENCE = "reference/cli.md"
# ":class:" (and the other Sphinx roles) just before a rendered code span.
_SPHINX_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|mod|data|exc|obj):(?=<code)")


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


# A code span, e.g. <code><span title="...">_opt</span>(&#39;sgd&#39;, ...)</code>.
_CODE_SPAN = re.compile(r"<code>(.*?)</code>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def _field_default(match: re.Match) -> str:
    """The default a field helper call declares, as a code span (the span unchanged
    for any other call)."""
    text = html.unescape(_TAG.sub("", match.group(1)))
    if "(" not in text:
        return match.group(0)
    try:
        call = ast.parse(text, mode="eval").body
    except SyntaxError:
        return match.group(0)
    name = ast.unparse(call.func) if isinstance(call, ast.Call) else ""
    if name.split(".")[-1] not in ("option", "_opt") and not name.endswith("_field"):
        return match.group(0)
    if call.args:
        return f"<code>{html.escape(ast.unparse(call.args[0]))}</code>"
    return "see the command-line reference"


def on_page_content(html_text, page, config, files):
    if not page.file.src_uri.startswith("reference/api/"):
        return html_text
    return _CODE_SPAN.sub(_field_default, _SPHINX_ROLE.sub("", html_text))
