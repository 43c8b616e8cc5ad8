"""The docs keep up with the code: every setting, CLI command and option is documented,
every command's help has an example that parses, and the README opens with the set-up."""

from __future__ import annotations

import itertools
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from seedbed.cli import app
from seedbed.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SETTINGS_DOC = ROOT / "docs" / "settings.md"
CLI_DOC = ROOT / "docs" / "cli.md"

ANY_HEADING = re.compile(r"^#{1,6}\s", re.MULTILINE)
COMMAND_HEADING = re.compile(r"^#{1,6}\s+`(seedbed(?: [\w-]+)*)`\s*$", re.MULTILINE)
SETTING_ROW = re.compile(r"^\|\s*`([a-z][a-z0-9_]*)`\s*\|.*$", re.MULTILINE)


def walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
    """Every command under `command`, depth first, keyed by its path ("seedbed data tables")."""
    yield " ".join(path), command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if not sub.hidden:
            yield from walk(sub, (*path, name))


def is_group(command: Any) -> bool:
    return isinstance(getattr(command, "commands", None), dict)


COMMANDS: dict[str, Any] = dict(walk(typer.main.get_command(app), ("seedbed",)))
LEAVES = {path: command for path, command in COMMANDS.items() if not is_group(command)}


def cli_sections() -> dict[str, str]:
    """docs/cli.md split at its headings: command path -> text up to the next heading."""
    text = CLI_DOC.read_text(encoding="utf-8")
    starts = [m.start() for m in ANY_HEADING.finditer(text)] + [len(text)]
    sections = {}
    for start, end in itertools.pairwise(starts):
        match = COMMAND_HEADING.match(text, start)
        if match:
            sections[match.group(1)] = text[match.end() : end]
    return sections


def setting_rows() -> dict[str, str]:
    text = SETTINGS_DOC.read_text(encoding="utf-8")
    return {m.group(1): m.group(0) for m in SETTING_ROW.finditer(text)}


def test_the_command_tree_is_walked() -> None:
    assert {
        "seedbed",
        "seedbed init",
        "seedbed up",
        "seedbed data",
        "seedbed data tables",
        "seedbed models predict",
    } <= set(COMMANDS)
    assert "seedbed up" in LEAVES and "seedbed data" not in LEAVES


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented(name: str) -> None:
    rows = setting_rows()
    assert name in rows, f"docs/settings.md has no table row for the setting `{name}`."
    variable = f"SEEDBED_{name.upper()}"
    assert variable in rows[name], f"The row for `{name}` in docs/settings.md lacks {variable}."


def test_settings_doc_names_only_real_settings() -> None:
    stale = sorted(set(setting_rows()) - set(Settings.model_fields))
    assert not stale, f"docs/settings.md documents settings that do not exist: {stale}"


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_every_command_is_documented(path: str) -> None:
    assert path in cli_sections(), f"docs/cli.md has no heading `{path}`."


def test_cli_doc_names_only_real_commands() -> None:
    stale = sorted(set(cli_sections()) - set(COMMANDS))
    assert not stale, f"docs/cli.md documents commands that do not exist: {stale}"


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_every_option_and_argument_is_documented(path: str) -> None:
    section = cli_sections().get(path, "")
    for param in COMMANDS[path].params:
        if param.param_type_name == "argument":
            names = [param.name.upper()]
        else:
            names = [o for o in [*param.opts, *param.secondary_opts] if o.startswith("--")]
        for name in names:
            assert f"`{name}`" in section, f"docs/cli.md's section on `{path}` lacks `{name}`."


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_every_command_has_help(path: str) -> None:
    assert (COMMANDS[path].help or "").strip(), f"`{path}` has no help text."


@pytest.mark.parametrize("path", sorted(LEAVES))
def test_every_command_has_an_example_that_parses(path: str) -> None:
    command = LEAVES[path]
    examples = [
        line.strip()[len("Example:") :].strip()
        for line in (command.help or "").splitlines()
        if line.strip().startswith("Example:")
    ]
    assert examples, f"The help of `{path}` has no 'Example:' line."
    for example in examples:
        assert example == path or example.startswith(path + " "), (
            f"The example {example!r} in the help of `{path}` does not run `{path}`."
        )
        try:
            command.make_context(path, shlex.split(example)[len(path.split()) :])
        except Exception as exc:
            kinds = {cls.__name__ for cls in type(exc).__mro__}
            if "UsageError" not in kinds:
                raise
            # A value only a real run can check (a file that must exist) is fine here;
            # unknown options and missing or extra arguments are mistakes in the example.
            if "BadParameter" in kinds and "MissingParameter" not in kinds:
                continue
            pytest.fail(f"The example {example!r} of `{path}` does not parse: {exc}")


def test_readme_opens_with_make_up_and_make_test() -> None:
    opening = "\n".join(README.read_text(encoding="utf-8").splitlines()[:25])
    assert "make up" in opening, "README.md must show `make up` in its first 25 lines."
    assert "make test" in opening, "README.md must show `make test` in its first 25 lines."
    assert opening.index("make up") < opening.index("make test")
