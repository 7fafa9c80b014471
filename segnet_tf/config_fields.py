"""Command configs as frozen dataclasses: one field is one flag, one JSON key, one check.

Every command (``segnet train``, ``evaluate``, ``adjust``, ``predict``, ``export``) is
a config dataclass built on :class:`CommandConfig` and a library function taking it.
A field declared with :func:`option` carries its help text, its check and its
argparse details; :func:`add_field_arguments` turns the fields into the command's
flags and :func:`config_from_args` turns parsed flags back into a validated config,
so that the Python API, the command line and the config JSON written beside a
command's outputs cannot drift apart.

This module imports no TensorFlow: the ``segnet`` parser is built from it.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import math
import os
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from segnet_tf.atomic_files import write_text_atomic

# Each check returns None for a valid value, else the expected form ("an integer >= 1").
Check = Callable[[Any], "str | None"]
ConfigT = TypeVar("ConfigT", bound="CommandConfig")


def option(
    default: Any = dataclasses.MISSING,
    help_text: str = "",
    *,
    check: Check | None = None,
    positional: bool = False,
    **argparse_extra: Any,
) -> Any:
    """A dataclass field carrying its CLI help, its check and argparse details.

    Args:
        default: The default; leave it out for a field the caller must give (a
            positional argument, or a required flag with ``required=True``).
        help_text: The flag's help.
        check: Returns None for a valid value, else the expected form.
        positional: A positional argument (named by its ``metavar``) instead of a flag.
        **argparse_extra: ``choices``, ``metavar``, ``required``, ``nargs``...
    """
    metadata = {"help": help_text, "check": check, "positional": positional, **argparse_extra}
    return dataclasses.field(default=default, metadata=metadata)


class ConfigError(ValueError):
    """A config field holds an invalid value.

    The message names the field as ``field=value`` and the expected form; the
    command line rephrases it with the flag (``--field value``).

    Args:
        field: Name of the field.
        value: Its invalid value.
        expected: What is expected, e.g. ``"an integer >= 1"``.
    """

    def __init__(self, field: str, value: Any, expected: str):
        self.field, self.value, self.expected = field, value, expected
        super().__init__(self.describe(f"{field}={value!r}"))

    def describe(self, subject: str) -> str:
        """The message with ``subject`` (e.g. ``"--width 0"``) for ``field=value``."""
        return f"{subject} is invalid; expected {self.expected}."


def read_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read the JSON object of a config file (values are not checked).

    Args:
        path: The file.

    Raises:
        ValueError: not UTF-8, not JSON, or not a JSON object (naming the file).
        OSError: the file cannot be opened.
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not a UTF-8 text file ({err}); expected JSON.") from err
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err}).") from err
    if not isinstance(data, dict):
        raise ValueError(
            f"{path}: expected a JSON object of config fields, got a {type(data).__name__}."
        )
    return data


def _base_type(annotation: Any) -> Any:
    """``int | None`` -> ``int``; other annotations unchanged."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation


def _is_tuple(annotation: Any) -> bool:
    return typing.get_origin(_base_type(annotation)) is tuple


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


class CommandConfig:
    """Methods shared by the command config dataclasses (subclasses are frozen dataclasses).

    Fields declared with :func:`option` are checked by :meth:`validate` in
    declaration order; a subclass adds checks that involve several fields (or
    imports) in :meth:`check_fields`.
    """

    def __post_init__(self) -> None:
        # JSON and argparse give lists and paths may be PathLike: keep hashable,
        # comparable tuples and strings. Other values are left for validate() to
        # reject with a message naming the field.
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, os.PathLike):
                object.__setattr__(self, f.name, os.fspath(value))
            elif isinstance(value, list | tuple) and _is_tuple(hints[f.name]):
                items = (os.fspath(v) if isinstance(v, os.PathLike) else v for v in value)
                object.__setattr__(self, f.name, tuple(items))

    @classmethod
    def field_checks(cls) -> dict[str, Check]:
        """Field name -> check, in declaration order."""
        return {
            f.name: f.metadata["check"]
            for f in dataclasses.fields(cls)
            if f.metadata.get("check") is not None
        }

    def check_fields(self) -> None:
        """Checks involving several fields; raise :class:`ConfigError` (none by default)."""

    def validate(self: ConfigT) -> ConfigT:
        """Check every field's type and range; return self.

        Every value is checked, so that a command fails before it writes anything. A
        config is checked once: the command line validates what it parsed (to name
        the flag of a bad value) and the command it calls then does not check again.
        The instance is frozen, so it stays valid.

        Raises:
            ConfigError: (a ValueError) naming the first invalid field as
                ``field=value`` and the expected form.
        """
        if self.__dict__.get("_validated"):
            return self
        for name, check in self.field_checks().items():
            expected = check(getattr(self, name))
            if expected is not None:
                raise ConfigError(name, getattr(self, name), expected)
        self.check_fields()
        object.__setattr__(self, "_validated", True)  # not a field: equality unchanged
        return self

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict (inverse of :meth:`from_dict`)."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def check_keys(cls, data: dict[str, Any]) -> None:
        """Refuse keys that name no field, suggesting the closest field.

        Raises:
            ValueError: ``unknown config key(s) 'wdith' (did you mean 'width'?)``.
        """
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(known), key=str)
        if unknown:
            hints = [
                f"{key!r} (did you mean {close[0]!r}?)" if close else repr(key)
                for key in unknown
                for close in [difflib.get_close_matches(str(key), known, n=1)]
            ]
            raise ValueError(
                f"unknown config key(s) {', '.join(hints)}; expected only {sorted(known)}."
            )

    @classmethod
    def from_dict(cls: type[ConfigT], data: dict[str, Any]) -> ConfigT:
        """Build a config from :meth:`to_dict` output; unknown keys are an error.

        Args:
            data: Mapping of field names to values (missing fields keep defaults).

        Raises:
            ValueError: an unknown key, or a field without default that is missing.
        """
        cls.check_keys(data)
        missing = [
            f.name
            for f in dataclasses.fields(cls)
            if f.name not in data
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        ]
        if missing:
            raise ValueError(f"missing config key(s) {', '.join(map(repr, missing))}.")
        return cls(**data)

    def save(self, path: str | os.PathLike) -> None:
        """Write the config as JSON, atomically.

        Args:
            path: Output file.
        """
        write_text_atomic(path, json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls: type[ConfigT], path: str | os.PathLike, validate: bool = True) -> ConfigT:
        """Read a config JSON file.

        Args:
            path: A file written by :meth:`save` (or by hand).
            validate: Also check every value (see :meth:`validate`).

        Raises:
            ValueError: unreadable JSON, unknown keys or (with ``validate``) an invalid
                value; the message names the file and the field.
        """
        path = os.fspath(path)
        data = read_config_file(path)
        try:
            config = cls.from_dict(data)
            return config.validate() if validate else config
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from err


# ---------------------------------------------------------------------------
# Checks. Counts fit TensorFlow's int32 step and size arithmetic.
MAX_COUNT = 2**31 - 1
MIN_IMAGE_SIDE, MAX_IMAGE_SIDE = 8, 16384


def is_int(value: Any) -> bool:
    """An int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A finite int or float (bool, NaN and infinities are not)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def count(minimum: int, optional: bool = False) -> Check:
    """An integer in ``[minimum, MAX_COUNT]`` (or None when ``optional``)."""

    def check(value: Any) -> str | None:
        if (optional and value is None) or (is_int(value) and minimum <= value <= MAX_COUNT):
            return None
        return f"an integer in [{minimum}, {MAX_COUNT}]" + (" or unset" if optional else "")

    return check


def number(low: float, high: float, low_open: bool = False, high_open: bool = False) -> Check:
    """A finite number in the interval (open or closed at either end)."""
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"

    def check(value: Any) -> str | None:
        if is_number(value):
            above = value > low if low_open else value >= low
            below = value < high if high_open else value <= high
            if above and below:
                return None
        return f"a finite number in {interval}"

    return check


def choice(choices: tuple[str, ...] | Callable[[], tuple[str, ...]], optional=False) -> Check:
    """One of ``choices`` (a tuple, or a function returning the current ones)."""

    def check(value: Any) -> str | None:
        names = choices() if callable(choices) else choices
        if (optional and value is None) or (isinstance(value, str) and value in names):
            return None
        return f"one of {', '.join(names)}" + (", or unset" if optional else "")

    return check


def image_size(optional: bool = False) -> Check:
    """Two integers (height, width), each in ``[MIN_IMAGE_SIDE, MAX_IMAGE_SIDE]``."""

    def check(value: Any) -> str | None:
        if optional and value is None:
            return None
        if (
            isinstance(value, tuple)
            and len(value) == 2
            and all(is_int(v) and MIN_IMAGE_SIDE <= v <= MAX_IMAGE_SIDE for v in value)
        ):
            return None
        return f"two integers (height, width), each in [{MIN_IMAGE_SIDE}, {MAX_IMAGE_SIDE}]" + (
            ", or unset" if optional else ""
        )

    return check


def flag_value(value: Any) -> str | None:
    """True or False."""
    return None if isinstance(value, bool) else "true or false"


def path(optional: bool, what: str = "a folder path") -> Check:
    """A non-empty path string (or None when ``optional``)."""

    def check(value: Any) -> str | None:
        if (optional and value is None) or (isinstance(value, str) and value):
            return None
        return what + (" or unset" if optional else "")

    return check


# ---------------------------------------------------------------------------
# Command-line flags generated from the fields.


def flag_name(cls: type, name: str) -> str:
    """How field ``name`` of config class ``cls`` is spelt on the command line."""
    meta = {f.name: f.metadata for f in dataclasses.fields(cls)}.get(name, {})
    if meta.get("positional"):
        return meta.get("metavar") or name.upper()
    return "--" + name.replace("_", "-")


def int_or_none(text: str) -> int | None:
    """Parse an optional integer flag (``none`` unsets it); named for argparse's errors."""
    # An empty text is an error, not "unset": `--limit "$UNSET"` must not change a run.
    return None if text.lower() in ("none", "null") else int(text)


def float_or_none(text: str) -> float | None:
    """Parse an optional number flag (``none`` unsets it); named for argparse's errors."""
    return None if text.lower() in ("none", "null") else float(text)


def _default_text(value: Any) -> str:
    if isinstance(value, tuple):
        return " ".join(str(v) for v in value)
    return str(value)


def add_field_arguments(parser: argparse.ArgumentParser, cls: type, title: str) -> None:
    """Add one argument per field of config class ``cls`` to ``parser``.

    Flags default to ``argparse.SUPPRESS`` so that :func:`config_from_args` can tell
    which ones were given (and layer them over ``--config`` or the defaults).

    Args:
        parser: The subcommand parser.
        cls: A :class:`CommandConfig` dataclass.
        title: Title of the flags' group in ``--help``.
    """
    hints = typing.get_type_hints(cls)
    group = parser.add_argument_group(title)
    for f in dataclasses.fields(cls):
        meta = dict(f.metadata)
        help_text = meta.pop("help")
        positional = meta.pop("positional", False)
        meta.pop("check", None)
        has_default = f.default is not dataclasses.MISSING
        if has_default and f.default is not None:
            help_text += f" (default: {_default_text(f.default)})"
        kwargs: dict[str, Any] = {"help": help_text, **meta}
        if has_default or not positional:
            kwargs["default"] = argparse.SUPPRESS
        annotation = hints[f.name]
        base = _base_type(annotation)
        optional = base is not annotation
        if base is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(base) is tuple:
            item_type, *rest = typing.get_args(base)
            kwargs.setdefault("nargs", "+" if rest == [Ellipsis] else len(typing.get_args(base)))
            if item_type is not str:
                kwargs["type"] = item_type
        elif base is int:
            kwargs["type"] = int_or_none if optional else int
        elif base is float:
            kwargs["type"] = float_or_none if optional else float
        if positional:
            if has_default:
                kwargs.setdefault("nargs", "?")
            kwargs.pop("metavar", None)
            group.add_argument(f.name, metavar=meta.get("metavar", f.name.upper()), **kwargs)
        else:
            group.add_argument(flag_name(cls, f.name), dest=f.name, **kwargs)


def _flag_text(cls: type, name: str, value: Any) -> str:
    """How ``value`` of field ``name`` reads on the command line."""
    flag = flag_name(cls, name)
    if isinstance(value, tuple | list):
        return f"{flag} {' '.join(str(v) for v in value)}"
    return f"{flag} {value!r}" if isinstance(value, str) else f"{flag} {value}"


def config_from_args(cls: type[ConfigT], args: argparse.Namespace) -> ConfigT:
    """Build and validate a config: defaults, then ``--config FILE``, then flags.

    Args:
        cls: The command's :class:`CommandConfig` dataclass.
        args: Parsed arguments of the command (``args.config``, when the command has
            that flag, names a JSON config file).

    Raises:
        ValueError: naming the invalid value as it was given: ``--flag value`` for
            a flag, ``FILE: field=value`` for a field of the config file.
    """
    path = getattr(args, "config", None)
    from_file = read_config_file(path) if path else {}
    given = {
        f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)
    }
    try:
        cls.check_keys(from_file)
        config = cls.from_dict({**from_file, **given})
    except ValueError as err:
        raise ValueError(f"{path}: {err}" if path else str(err)) from err
    try:
        return config.validate()
    except ConfigError as err:
        if err.field in given:
            raise ValueError(err.describe(_flag_text(cls, err.field, err.value))) from None
        if err.field in from_file:
            # As written in the file (JSON), e.g. image_size=[360] rather than (360,).
            written = json.dumps(from_file[err.field])
            raise ValueError(f"{path}: {err.describe(f'{err.field}={written}')}") from None
        raise ValueError(cli_message(cls, err)) from None


def cli_message(cls: type, err: ConfigError) -> str:
    """The message of ``err`` naming the flag (``--width 0 is invalid; ...``).

    Args:
        cls: The config class whose field ``err`` names.
        err: The error, as the Python API raised it.
    """
    # A default that another field makes invalid (no --data-dir for --data folder).
    if err.value is None:
        return f"{flag_name(cls, err.field)} is missing; expected {err.expected}."
    return err.describe(_flag_text(cls, err.field, err.value))
