"""The bare command opens the wizard, so its --help names the wizard's own options, and
those options work without a command; every command keeps its own options unchanged."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from wizard.cli import options_from, parse_command_line

URL = "http://127.0.0.1:9/"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wizard", *args], capture_output=True,
                          text=True, timeout=60, check=False, env={**os.environ, "COLUMNS": "80"})


def option_lines(help_text: str) -> dict[str, str]:
    """'--url URL   the address ...' -> {'--url': 'the address ...'} (first line only)."""
    found = {}
    for line in help_text.splitlines():
        words = line.split(maxsplit=2)
        if len(words) == 3 and words[0].startswith("--"):
            found[words[0]] = words[2]
    return found


def test_top_level_help_names_the_wizard_options() -> None:
    done = cli("--help")
    assert done.returncode == 0 and done.stderr == ""
    text = done.stdout
    assert text.startswith("usage: nginx-502-wizard [WIZARD OPTIONS]\n"
                           "       nginx-502-wizard "
                           "{tui,diagnose,explain,flows,practice,sessions} ...\n")
    assert "With no command, the interactive wizard opens" in " ".join(text.split())
    lines = option_lines(text.split("wizard options (no command, or tui):")[1])
    assert lines["--url"] == "the address that answers 502; the wizard requests it"
    assert lines["--nginx-conf"] == "use this nginx.conf"
    assert lines["--since"] == "how far back to read logs (e.g. 15m, 2h; default 1h)"
    assert lines["--flow"] == "which flow (default nginx-502)"
    for command in ("tui", "diagnose", "explain", "flows"):  # the commands are still listed
        assert f"\n    {command} " in text


def test_options_then_help_show_the_wizard_help() -> None:
    done = cli("--url", URL, "--help")
    assert done.returncode == 0
    assert done.stdout.startswith("usage: nginx-502-wizard tui ")
    assert "--nginx-conf PATH" in done.stdout


def test_options_without_a_command_open_the_wizard_with_them() -> None:
    args = parse_command_line(["--url", URL, "--nginx-conf", "/etc/nginx/nginx.conf",
                               "--since", "15m", "--flow", "nginx-502"])
    assert args.command == "tui"
    options = options_from(args)
    assert (options.url, options.nginx_conf, options.since_seconds, options.flow) == (
        URL, "/etc/nginx/nginx.conf", 900.0, "nginx-502")
    assert options_from(parse_command_line([])).url is None  # bare: the wizard, no address


def test_help_after_options_exits_with_the_wizard_help(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        parse_command_line(["--url", URL, "--help"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.startswith("usage: nginx-502-wizard tui ")


@pytest.mark.parametrize("command", ["tui", "diagnose"])
def test_commands_keep_their_options(command: str) -> None:
    args = parse_command_line([command, "--url", URL, "--since", "2h"])
    assert args.command == command
    assert (args.url, args.since) == (URL, 7200.0)
    assert options_from(parse_command_line([command])).url is None


def test_the_top_level_keeps_no_values_of_its_own() -> None:
    # explain and flows take none of the wizard options: nothing leaks into them
    for argv in (["explain", "-"], ["flows", "list"], ["flows", "lint"], ["flows", "schema"]):
        args = parse_command_line(argv)
        assert not hasattr(args, "url") and not hasattr(args, "since"), argv
