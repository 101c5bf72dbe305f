"""SELinux fix plans: the exact argv, the undo that puts back what was read before, root,
and what each refuses; then applied through the real apply path (wizard.fixes.apply).

SELinux cannot run here, so `setsebool`, `getsebool`, `semanage` and `restorecon` are stub
programs on PATH in a temp folder: each writes the argv it was given to a file (and
getsebool prints the setting, as recorded on a CentOS 10 host, see
tests/data/selinux/README.md). What is tested is which commands run, in which order,
with which arguments, and what happens when one fails; not SELinux itself."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.support import require
from tests.unit.test_checks_mac import nginx_fact, sources, stub_programs
from wizard.fixes import ACTIONS, load_all
from wizard.fixes.apply import apply_fix
from wizard.fixes.base import FixNotApplicable, FixPlan
from wizard.host.facts import Facts
from wizard.host.mac import read_mac

SOCKET = "/var/run/shibboleth/shibd.sock"


@pytest.fixture
def mac(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The `mac` fact of an enforcing host with httpd_can_network_connect off."""
    stub = stub_programs(tmp_path, monkeypatch)
    stub("getenforce", "getenforce_enforcing.txt")
    stub("getsebool", "centos10_getsebool-a_httpd.txt")
    return read_mac(nginx_fact(sockets=(SOCKET,)), False, 0.0,
                    sources(tmp_path, audit="el6-shibd_audit.log"))


def plan(action: str, mac: dict[str, Any], **args: str) -> FixPlan:
    load_all()
    facts = Facts.from_snapshot({"format": 1, "facts": {"mac": mac}})
    return ACTIONS[action].plan(args, facts)


def test_set_boolean_plan_is_exact_and_undoes_to_the_value_read(mac: dict[str, Any]) -> None:
    made = plan("selinux.set_boolean", mac, boolean="httpd_can_network_connect")

    assert made.commands == [["setsebool", "-P", "httpd_can_network_connect", "1"]]
    assert made.undo == [["setsebool", "-P", "httpd_can_network_connect", "0"]]  # was off
    assert made.needs_root is True
    assert made.id == "selinux.set_boolean:httpd_can_network_connect"
    assert [p.argv for p in made.preconditions] == [["getsebool", "httpd_can_network_connect"]]
    assert any("semanage port -a -t http_port_t" in note for note in made.notes)


def test_socket_context_plan_labels_the_folder_and_undoes_the_rule(mac: dict[str, Any]) -> None:
    made = plan("selinux.socket_context", mac, socket=SOCKET)

    assert made.commands == [
        ["semanage", "fcontext", "-a", "-t", "httpd_var_run_t", "/var/run/shibboleth(/.*)?"],
        ["restorecon", "-R", "-v", "/var/run/shibboleth"]]
    assert made.undo == [["semanage", "fcontext", "-d", "/var/run/shibboleth(/.*)?"],
                         ["restorecon", "-R", "-v", "/var/run/shibboleth"]]
    assert made.needs_root is True


@pytest.mark.parametrize(("action", "args", "why"), [
    ("selinux.set_boolean", {"boolean": ""}, "refused nginx no network connection"),
    ("selinux.set_boolean", {"boolean": "httpd_enable_homedirs"}, "not a setting this wizard"),
    ("selinux.socket_context", {"socket": ""}, "refused nginx no unix socket"),
    ("selinux.socket_context", {"socket": "/run/app.sock"}, "move it into a folder of its own"),
    ("selinux.socket_context", {"socket": "/run/a b/x.sock"}, "label it by hand"),
])
def test_plans_refuse_what_they_must_not_change(mac: dict[str, Any], action: str,
                                                args: dict[str, str], why: str) -> None:
    with pytest.raises(FixNotApplicable, match=why):
        plan(action, mac, **args)


def test_nothing_is_planned_where_it_is_already_so_or_selinux_is_off(
        mac: dict[str, Any]) -> None:
    on = {**mac["selinux"]["booleans"]["httpd_can_network_connect"], "value": "on"}
    already = {**mac, "selinux": {**mac["selinux"], "booleans": {"httpd_can_network_connect": on}}}
    with pytest.raises(FixNotApplicable, match="already on"):
        plan("selinux.set_boolean", already, boolean="httpd_can_network_connect")
    labelled = {**mac, "sockets": [{"socket": SOCKET,
                                    "context": "system_u:object_r:httpd_var_run_t:s0"}]}
    with pytest.raises(FixNotApplicable, match="already has the type"):
        plan("selinux.socket_context", labelled, socket=SOCKET)
    off = {**mac, "selinux": {**mac["selinux"], "mode": None}}
    with pytest.raises(FixNotApplicable, match="SELinux is not active"):
        plan("selinux.set_boolean", off, boolean="httpd_can_network_connect")


# -- applied through the real apply path, with stub programs ----------------------------------

@pytest.fixture
def recorded_argv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(folder for stub programs on PATH, file each stub appends its argv to)."""
    folder, log = tmp_path / "sbin", tmp_path / "argv.log"
    folder.mkdir()
    log.touch()
    monkeypatch.setenv("PATH", f"{folder}:{os.environ['PATH']}")
    return folder, log


def program(folder: Path, log: Path, name: str, prints: str = "", code: int = 0) -> None:
    script = folder / name
    script.write_text(f'#!/bin/sh\necho "{name} $*" >> \'{log}\'\n'
                      + (f"printf '%s\\n' '{prints}'\n" if prints else "") + f"exit {code}\n")
    script.chmod(0o755)


def apply(made: FixPlan) -> Any:
    require(os.geteuid() == 0, "the plan needs root: as another user sudo would be asked")
    return apply_fix(made.to_json(), Facts.from_snapshot({"format": 1, "facts": {}}))


def test_applying_the_boolean_checks_it_is_unchanged_then_sets_it(
        mac: dict[str, Any], recorded_argv: tuple[Path, Path]) -> None:
    folder, log = recorded_argv
    program(folder, log, "getsebool", "httpd_can_network_connect --> off")
    program(folder, log, "setsebool")
    made = plan("selinux.set_boolean", mac, boolean="httpd_can_network_connect")

    applied = apply(made)

    assert applied.succeeded, applied.after
    assert log.read_text().splitlines() == ["getsebool httpd_can_network_connect",
                                            "setsebool -P httpd_can_network_connect 1"]


def test_a_setting_changed_since_the_plan_is_not_touched(
        mac: dict[str, Any], recorded_argv: tuple[Path, Path]) -> None:
    folder, log = recorded_argv
    program(folder, log, "getsebool", "httpd_can_network_connect --> on")  # someone did it
    program(folder, log, "setsebool")
    made = plan("selinux.set_boolean", mac, boolean="httpd_can_network_connect")

    applied = apply(made)

    assert not applied.succeeded
    assert "changed since the plan was made" in applied.after
    assert log.read_text().splitlines() == ["getsebool httpd_can_network_connect"]


def test_a_failed_relabel_runs_the_undo(mac: dict[str, Any],
                                        recorded_argv: tuple[Path, Path]) -> None:
    folder, log = recorded_argv
    program(folder, log, "semanage")
    program(folder, log, "restorecon", code=1)
    made = plan("selinux.socket_context", mac, socket=SOCKET)

    applied = apply(made)

    assert not applied.succeeded
    assert applied.after.startswith("rolled back: a command failed; the undo commands ran")
    assert log.read_text().splitlines() == [
        "semanage fcontext -a -t httpd_var_run_t /var/run/shibboleth(/.*)?",
        "restorecon -R -v /var/run/shibboleth",
        "semanage fcontext -d /var/run/shibboleth(/.*)?",
        "restorecon -R -v /var/run/shibboleth"]
