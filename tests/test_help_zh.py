"""The command line's help is Chinese: every command and option has its Chinese text, and --help shows it."""

import re

import click
import pytest

from engine.cli import cli, main
from engine.help_zh import COMMANDS, OPTIONS, localise


def _commands(group, path="cli"):
    yield path, group
    if isinstance(group, click.Group):
        for name, sub in group.commands.items():
            yield from _commands(sub, name if path == "cli" else f"{path} {name}")


def test_every_command_and_option_has_chinese_help():
    for path, command in _commands(cli):
        assert path in COMMANDS, f"no Chinese help for command '{path}'"
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.name in OPTIONS, f"no Chinese help for {path} {param.opts[0]}"
    assert all(re.search(r"[\u4e00-\u9fff]", text) for text in list(COMMANDS.values()) + list(OPTIONS.values()))


@pytest.mark.parametrize("args", [["--help"], ["check", "--help"], ["letters", "--help"], ["rules", "list", "--help"]])
def test_help_is_shown_in_chinese(capsys, args):
    try:
        main(args)
    except SystemExit as exc:
        assert exc.code in (0, None)
    shown = capsys.readouterr().out
    localise(cli)
    command = cli
    for name in args[:-1]:
        command = command.commands[name]
    assert command.help.splitlines()[0] in shown
    for param in command.params:
        if isinstance(param, click.Option) and param.help and param.name != "version":
            assert param.help[:8] in shown.replace("\n", "").replace(" ", "") or param.help[:8] in shown


def _example_target(words):
    """The command an example line runs and the options it gives (checked against the command's own options)."""
    assert words[0] == "ecocheck", words
    command, given, rest = cli, [], words[1:]
    while rest:
        word = rest.pop(0)
        if word.startswith("--"):
            given.append((command, word))
            if word == "--lang":
                rest.pop(0)
        elif isinstance(command, click.Group) and word in command.commands:
            command = command.commands[word]
    return command, given


def test_every_command_has_examples_that_use_its_own_options():
    import shlex

    from engine.help_zh import EXAMPLES
    for path, command in _commands(cli):
        assert EXAMPLES.get(path), f"no example for '{path}'"
        for line in EXAMPLES[path]:
            target, given = _example_target(shlex.split(line))
            if path != "cli":  # the command itself, or for a group one of its commands
                assert target is command or target in getattr(command, "commands", {}).values(), (path, line)
            for owner, option in given:
                assert any(option in p.opts for p in owner.params), f"{line}: {option} is no option of {owner.name}"


@pytest.mark.parametrize("lang,heading", [("zh", "示例："), ("en", "Example:")])
def test_help_shows_the_examples(capsys, lang, heading):
    from engine.help_zh import EXAMPLES
    try:
        main(["--lang", lang, "letters", "--help"])
    except SystemExit as exc:
        assert exc.code in (0, None)
    shown = capsys.readouterr().out
    assert f"{heading}\n    {EXAMPLES['letters'][0]}\n" in shown  # kept on one line, not rewrapped
