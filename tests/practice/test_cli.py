"""`practice` as a person meets it: the list of scenarios, a random pick that keeps its
secret until the end, and one plain line (exit 2) when something it needs is missing."""

from __future__ import annotations

import sys

import pytest

from tests.practice.support import REPO, headless, practice, require_practice, sandbox_home
from wizard import causes
from wizard.cli import main
from wizard.compat import zip_strict
from wizard.practice import parts
from wizard.practice.scenarios import SCENARIOS

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same parser, from PyPI, before 3.11
    import tomli as tomllib


def test_list_names_every_scenario_with_one_line() -> None:
    with sandbox_home() as home:
        done = practice(home, "--list")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == len(SCENARIOS) >= 10
    for line, scenario in zip_strict(lines, SCENARIOS):
        name, _, summary = line.partition("  ")
        assert name == scenario.name and summary.strip() == scenario.summary
        assert name in causes.CAUSES  # each teaches a cause of the contract


def test_an_unknown_scenario_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["practice", "no_such_break"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("nginx-502-wizard: there is no practice scenario 'no_such_break'; "
                   "`nginx-502-wizard practice --list` shows them")


def test_fix_without_headless_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["practice", "--fix", "php_fpm_down"]) == 2
    assert "--fix goes with --headless" in capsys.readouterr().err


@pytest.mark.parametrize(("distro_id", "line"), [
    ("debian", "practice needs PHP-FPM, which is not installed here; install it with "
               "`apt-get install php-fpm`"),
    ("fedora", "practice needs PHP-FPM, which is not installed here; install it with "
               "`dnf install php-fpm`"),
    ("alpine", "practice needs PHP-FPM, which is not installed here; install it with "
               "`apk add php82-fpm`"),
])
def test_missing_phpfpm_names_the_package(distro_id: str, line: str,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(parts.distro, "id", lambda: distro_id)
    monkeypatch.setattr(parts.distro, "like", lambda: "")
    monkeypatch.setattr(parts, "which", lambda name: f"/usr/sbin/{name}")
    monkeypatch.setattr(parts, "find_phpfpm", lambda: None)
    monkeypatch.setattr(parts.os, "geteuid", lambda: 0)
    assert main(["practice", "php_fpm_down"]) == 2
    assert capsys.readouterr().err.splitlines() == [f"nginx-502-wizard: {line}"]


def test_missing_nginx_names_the_package(monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(parts.distro, "id", lambda: "ubuntu")
    monkeypatch.setattr(parts.distro, "like", lambda: "debian")
    monkeypatch.setattr(parts, "which", lambda name: None)
    assert main(["practice", "upstream_down"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "nginx-502-wizard: practice needs nginx, which is not installed here; install it "
        "with `apt-get install nginx`"]


def test_without_root_it_says_to_use_sudo(monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(parts, "which", lambda name: f"/usr/sbin/{name}")
    monkeypatch.setattr(parts.os, "geteuid", lambda: 1000)
    assert main(["practice", "upstream_down"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].endswith("which needs root: run it with sudo"), err


@pytest.mark.root
@pytest.mark.lab
def test_a_random_scenario_is_one_of_the_list_and_is_found() -> None:
    require_practice()
    with sandbox_home() as home:
        code, result = headless(home)
    name = result["practice"]["scenario"]
    assert name in {s.name for s in SCENARIOS}
    assert [c["id"] for c in result["report"]["causes"]][:1] == [name]
    assert code == 1


def test_the_practice_package_is_installed_with_the_wizard() -> None:
    """A plain `pip install .` must carry wizard.practice, or `practice` fails to start."""
    setup = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "wizard.practice" in setup["packages"]
