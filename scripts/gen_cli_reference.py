"""Write the command-line reference (Markdown) from the `segnet` parser itself.

The `segnet` subcommands are built from the command config dataclasses
(`segnet_tf.config_fields`: one field, one flag), so this script reads the parser that
`segnet` builds and, for each flag that is a config field, the field's type, default
and help. A new subcommand or field therefore appears here without any edit. The
documentation site runs it at build time (`scripts/mkdocs_hooks.py`); nothing it
writes is kept in git.

Usage:
  python scripts/gen_cli_reference.py            # print the Markdown
  python scripts/gen_cli_reference.py -o cli.md  # write it to a file
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import textwrap
import typing
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Row:
    """One argument of a command: how it is spelt, its type, default and help."""

    flag: str
    type: str
    default: str
    help: str


@dataclass(frozen=True)
class Command:
    """One `segnet` subcommand (or the top-level `segnet` itself, name "")."""

    name: str
    summary: str
    description: str
    rows: list[Row]


def _parser() -> argparse.ArgumentParser:
    """`segnet`'s parser, built without importing TensorFlow (as the entry point does)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    # `import segnet_tf` loads no TensorFlow (its API loads on first use).
    from segnet_tf.cli import build_parser

    return build_parser()


def _subparsers(parser: argparse.ArgumentParser) -> tuple[dict, dict]:
    """Subcommand name -> parser, and name -> its one-line help."""
    # argparse keeps subcommands only in this private action; there is no public accessor.
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    summaries = {choice.dest: choice.help or "" for choice in action._choices_actions}
    return dict(action.choices), summaries


def _config_classes() -> list[type]:
    from segnet_tf.config_fields import CommandConfig

    found, stack = [], list(CommandConfig.__subclasses__())
    while stack:
        cls = stack.pop()
        if dataclasses.is_dataclass(cls):
            found.append(cls)
        stack.extend(cls.__subclasses__())
    return found


def _config_for(parser: argparse.ArgumentParser) -> type | None:
    """The config dataclass whose fields are this parser's arguments (the largest match)."""
    dests = {action.dest for action in parser._actions}
    matches = [
        cls for cls in _config_classes() if {f.name for f in dataclasses.fields(cls)} <= dests
    ]
    return max(matches, key=lambda cls: len(dataclasses.fields(cls)), default=None)


def _type_text(annotation: typing.Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _value_text(value: typing.Any) -> str:
    if isinstance(value, tuple | list):
        return " ".join(str(v) for v in value)
    return str(value)


def _flag_text(action: argparse.Action) -> str:
    if not action.option_strings:
        return action.metavar or action.dest.upper()
    if isinstance(action, argparse.BooleanOptionalAction):
        return ", ".join(s for s in action.option_strings if not s.startswith("--no-")) + (
            " / " + ", ".join(s for s in action.option_strings if s.startswith("--no-"))
        )
    return ", ".join(action.option_strings)


def _argument_type(action: argparse.Action) -> str:
    if action.nargs == 0:
        return "flag"
    name = getattr(action.type, "__name__", None) or "str"
    return {"int_or_none": "int | None", "float_or_none": "float | None"}.get(name, name)


def _choices(action: argparse.Action) -> str:
    return f" (one of: {', '.join(map(str, action.choices))})" if action.choices else ""


def _rows(parser: argparse.ArgumentParser) -> list[Row]:
    config = _config_for(parser)
    fields = {f.name: f for f in dataclasses.fields(config)} if config else {}
    hints = typing.get_type_hints(config) if config else {}
    rows = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        field = fields.get(action.dest)
        if field is not None:
            kind = _type_text(hints[field.name])
            if field.default is dataclasses.MISSING:
                default = "required"
            else:
                default = _value_text(field.default)
            help_text = field.metadata.get("help", "")
        else:
            kind = _argument_type(action)
            if action.nargs == 0 or action.default in (None, argparse.SUPPRESS):
                default = "" if action.required or action.nargs == 0 else "none"
                default = "required" if action.required else default
            else:
                default = _value_text(action.default)
            help_text = (action.help or "") % {"default": action.default, "prog": parser.prog}
        rows.append(Row(_flag_text(action), kind + _choices(action), default, help_text))
    return rows


def commands() -> list[Command]:
    """`segnet` and each of its subcommands, in the order `segnet --help` lists them."""
    parser = _parser()
    subparsers, summaries = _subparsers(parser)
    found = [Command("", parser.description or "", "", _rows(parser))]
    for name, sub in subparsers.items():
        found.append(Command(name, summaries.get(name, ""), sub.description or "", _rows(sub)))
    return found


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    text = " ".join(text.split())
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _description(text: str) -> str:
    """A subcommand's docstring: prose as paragraphs, the "Examples:" part as code."""
    text = textwrap.dedent(text).strip()
    prose, _, examples = text.partition("Examples:")
    out = []
    for paragraph in prose.split("\n\n"):
        if paragraph.strip():
            # Indented lines (file lists) keep their line breaks.
            if any(line.startswith("  ") for line in paragraph.splitlines()):
                out.append("```text\n" + textwrap.dedent(paragraph).strip() + "\n```")
            else:
                out.append(_cell(paragraph).replace("\\|", "|"))
    if examples.strip():
        out.append("Examples:\n\n```bash\n" + textwrap.dedent(examples).strip() + "\n```")
    return "\n\n".join(out)


def reference_markdown() -> str:
    """The whole reference page."""
    lines = [
        "# Command-line reference",
        "",
        "Every `segnet` subcommand is a config dataclass of `segnet_tf.commands` and a "
        "library function: each field is one flag, and `--config FILE` (where a command "
        "has it) reads the same fields from JSON. This page is generated from the "
        "parser when the site is built, so it always matches `segnet COMMAND --help`.",
        "",
    ]
    for command in commands():
        title = f"segnet {command.name}".strip()
        lines += [f"## `{title}`", "", _cell(command.summary).replace("\\|", "|"), ""]
        if command.description:
            lines += [_description(command.description), ""]
        lines += ["| flag | type | default | help |", "| --- | --- | --- | --- |"]
        for row in command.rows:
            default = (
                f"`{_cell(row.default)}`" if row.default not in ("", "required") else row.default
            )
            lines.append(
                f"| `{_cell(row.flag)}` | {_cell(row.type)} | {default} | {_cell(row.help)} |"
            )
        lines.append("")
    lines.append(
        "<!-- Generated by scripts/gen_cli_reference.py from the `segnet` parser and the "
        "command config dataclasses; do not edit. -->"
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", help="write to this file instead of printing")
    args = parser.parse_args(argv)
    text = reference_markdown()
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
