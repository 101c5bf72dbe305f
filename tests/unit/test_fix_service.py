"""Service fix plans: the exact argv per service manager, guards, undo, and how each
back-end reads its status command's answer.

systemd is not PID 1 on the test machine, so the systemd back-end is tested against real
`systemctl` output recorded here (tests/data/systemd: what systemctl says when systemd is
not running, and `--root=/ is-enabled`, which works offline) plus the `is-active` words
documented in systemctl(1). OpenRC's status answers in tests/data/openrc were recorded
from Debian's openrc in a chroot, except exit 32, typed by hand (see the README there); its
start guard, wizard.fixes.openrc_daemon, is tested in test_openrc_daemon.py and for real in
tests/lab/test_fix_openrc_chroot.py. sysvinit's answers below were recorded from Debian
12's own init scripts through `service` on this machine; the read-only `service ... status`
run is in tests/lab/test_fix_service.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wizard.compat import zip_strict
from wizard.fixes import load_all
from wizard.fixes.base import FixNotApplicable
from wizard.fixes.helper_argv import helper_module, interpreter
from wizard.fixes.service import MANAGERS, plan_verb
from wizard.fixes.service_backend import CRASHED, RUNNING, STOPPED, UNKNOWN
from wizard.fixes.service_openrc import OpenRC
from wizard.fixes.service_systemd import Systemd
from wizard.fixes.service_sysvinit import SysVInit
from wizard.host.facts import Facts

DATA = Path(__file__).parent.parent / "data"


def recording(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def facts_with(manager: str, recorded: Callable[..., Facts]) -> Facts:
    return recorded({"system": {"service_manager": manager}})


@pytest.mark.parametrize(("manager", "verb", "commands", "undo"), [
    ("systemd", "start", [["systemctl", "start", "nginx"]], [["systemctl", "stop", "nginx"]]),
    ("systemd", "restart", [["systemctl", "restart", "nginx"]], []),
    ("systemd", "reload", [["systemctl", "reload", "nginx"]], []),
    ("systemd", "enable", [["systemctl", "enable", "nginx"], ["systemctl", "start", "nginx"]],
     [["systemctl", "disable", "nginx"]]),
    ("sysvinit", "start", [["service", "nginx", "start"]], [["service", "nginx", "stop"]]),
    ("sysvinit", "reload", [["service", "nginx", "reload"]], []),
    ("sysvinit", "enable", [["update-rc.d", "nginx", "defaults"],
                            ["update-rc.d", "nginx", "enable"], ["service", "nginx", "start"]],
     [["update-rc.d", "nginx", "disable"]]),
    ("openrc", "start", [["rc-service", "nginx", "zap"], ["rc-service", "nginx", "start"]],
     [["rc-service", "nginx", "stop"]]),
    # a live daemon is restarted; a dead one still marked started is zapped and started
    ("openrc", "restart", [["rc-service", "nginx", "restart"], ["rc-service", "nginx", "zap"],
                           ["rc-service", "nginx", "start"]], []),
    ("openrc", "enable", [["rc-update", "add", "nginx", "default"],
                          ["rc-service", "nginx", "zap"], ["rc-service", "nginx", "start"]],
     [["rc-update", "del", "nginx", "default"]]),
])
def test_exact_argv_and_undo(manager: str, verb: str, commands: list[list[str]],
                             undo: list[list[str]], recorded: Callable[..., Facts]) -> None:
    action = load_all()[f"service.{verb}"]
    plan = action.plan({"service": "nginx"}, facts_with(manager, recorded))
    assert plan.commands == commands
    assert plan.undo == undo
    assert plan.needs_root
    assert plan.id == f"service.{verb}:nginx"
    assert len(plan.guards) == len(plan.commands)
    assert "nginx" in plan.verify


RUNS = [interpreter(), "-I", "-m", "wizard.fixes.openrc_daemon", "running"]


@pytest.mark.parametrize(("manager", "guards"), [
    ("systemd", [["systemctl", "is-active", "--quiet", "php8.2-fpm"]]),
    ("sysvinit", [["service", "php8.2-fpm", "status"]]),
    # OpenRC's status says "started" after the daemon died: its pid file decides, and
    # both the zap and the start are skipped while the daemon really runs
    ("openrc", [[*RUNS, "php8.2-fpm"]] * 2),
])
def test_start_is_skipped_when_already_running(manager: str, guards: list[list[str]]) -> None:
    plan = plan_verb("start", "php8.2-fpm", MANAGERS[manager]())
    assert plan.guards == guards
    assert plan.asks == ["Is php8.2-fpm already running?"] * len(guards)
    assert any("already runs" in note for note in plan.notes)


@pytest.mark.parametrize("manager", ["systemd", "sysvinit"])
def test_other_managers_guard_with_their_status_and_start_once(manager: str) -> None:
    backend = MANAGERS[manager]()
    assert backend.running_argv("nginx") == backend.status_argv("nginx")
    assert backend.start_steps("nginx") == backend.verb("start", "nginx")


@pytest.mark.parametrize("verb", ["start", "enable"])
@pytest.mark.parametrize("manager", sorted(MANAGERS))
def test_every_guard_has_its_question(manager: str, verb: str) -> None:
    plan = plan_verb(verb, "nginx", MANAGERS[manager]())
    assert len(plan.asks) == len(plan.guards) == len(plan.commands)
    assert all(ask for guard, ask in zip_strict(plan.guards, plan.asks) if guard)


def test_openrc_start_zaps_only_a_dead_daemon_then_starts() -> None:
    plan = plan_verb("start", "php-fpm82", OpenRC())
    assert plan.commands == [["rc-service", "php-fpm82", "zap"],
                             ["rc-service", "php-fpm82", "start"]]
    assert plan.guards == [[*RUNS, "php-fpm82"]] * 2
    assert helper_module(plan.guards[0] or []) == "openrc_daemon"
    assert plan.undo == [["rc-service", "php-fpm82", "stop"]]
    assert "pid file" in plan.verify


def test_enable_guards_each_step() -> None:
    plan = plan_verb("enable", "nginx", OpenRC())
    assert plan.guards == [["test", "-e", "/etc/runlevels/default/nginx"],
                           [*RUNS, "nginx"], [*RUNS, "nginx"]]
    assert plan.asks == ["Does nginx already start at boot?",
                         "Is nginx already running?", "Is nginx already running?"]
    systemd = plan_verb("enable", "nginx", Systemd())
    assert systemd.guards == [["systemctl", "is-enabled", "--quiet", "nginx"],
                              ["systemctl", "is-active", "--quiet", "nginx"]]
    # update-rc.d has no "is it enabled?" question; running it again changes nothing
    assert plan_verb("enable", "nginx", SysVInit()).guards[:2] == [None, None]


def test_restart_and_reload_are_never_skipped() -> None:
    for verb in ("restart", "reload"):
        plan = plan_verb(verb, "nginx", Systemd())
        assert plan.guards == [None]
        assert plan.undo == []
        assert any("cannot be undone" in note for note in plan.notes)


@pytest.mark.parametrize("name", ["", "{service}", "-now", "nginx; rm -rf /", "a b",
                                  "../../bin/sh"])
def test_unusable_service_names_are_refused(name: str, recorded: Callable[..., Facts]) -> None:
    with pytest.raises(FixNotApplicable):
        load_all()["service.start"].plan({"service": name}, facts_with("systemd", recorded))


def test_no_service_manager_is_a_plain_reason(recorded: Callable[..., Facts]) -> None:
    with pytest.raises(FixNotApplicable, match="no service manager"):
        load_all()["service.start"].plan({"service": "nginx"}, facts_with("none", recorded))


def test_unit_names_with_systemd_punctuation_pass(recorded: Callable[..., Facts]) -> None:
    plan = load_all()["service.restart"].plan({"service": "php-fpm@8.2.service"},
                                              facts_with("systemd", recorded))
    assert plan.commands == [["systemctl", "restart", "php-fpm@8.2.service"]]


# ---------------------------------------------------------------- reading status answers

def test_systemd_not_pid1_is_unknown_not_stopped() -> None:
    rec = recording("systemd/is-active_not-booted.json")  # real: exit 1, "not booted"
    assert Systemd().state(rec["returncode"], rec["stdout"] + rec["stderr"]) == UNKNOWN


@pytest.mark.parametrize(("code", "word", "state"), [
    # systemctl(1): is-active prints the state and exits 0 only when active
    (0, "active", RUNNING), (3, "inactive", STOPPED), (3, "failed", CRASHED),
    (0, "", RUNNING), (3, "", STOPPED),  # --quiet: only the exit code
])
def test_systemd_is_active_words(code: int, word: str, state: str) -> None:
    assert Systemd().state(code, word + "\n") == state


def test_systemd_is_enabled_recorded() -> None:
    enabled = recording("systemd/is-enabled_root_enabled.json")
    missing = recording("systemd/is-enabled_root_missing.json")
    assert enabled["returncode"] == 0 and enabled["stdout"].strip() == "enabled"
    assert missing["returncode"] != 0
    # the guard's argv is the one that gave these answers, minus the offline --root
    assert Systemd().enabled_argv("nginx") == ["systemctl", "is-enabled", "--quiet", "nginx"]


@pytest.mark.parametrize(("name", "state"), [
    ("started", RUNNING), ("stopped", STOPPED), ("crashed", CRASHED), ("missing", UNKNOWN),
    ("unsupervised", CRASHED),
    # the bug the start guard works around: status alone cannot see the dead daemon
    ("started_daemon_killed", RUNNING)])
def test_openrc_status_codes(name: str, state: str) -> None:
    rec = recording(f"openrc/status_{name}.json")
    assert OpenRC().state(rec["returncode"], rec["stdout"] + rec["stderr"]) == state


@pytest.mark.parametrize(("code", "output", "state"), [
    # recorded with Debian 12's init scripts through `service` on this machine
    (3, "nginx is not running ... failed!", STOPPED),
    (3, "php-fpm8.2 is not running ... failed!", STOPPED),
    (1, "no-such: unrecognized service", UNKNOWN),
    (0, "nginx is running.", RUNNING),  # the LSB code for running (not recorded here)
])
def test_sysvinit_status_codes(code: int, output: str, state: str) -> None:
    assert SysVInit().state(code, output) == state


def test_starting_nginx_or_phpfpm_asks_their_master_not_the_service_status(
        recorded: Callable[..., Facts]) -> None:
    # Facts as a host with the distro's php8.2-fpm stopped and a hand-started master of
    # another config running (typed by hand from a lab run's `phpfpm` and `nginx` facts).
    facts = recorded({
        "system": {"service_manager": "sysvinit"},
        "phpfpm": {"configs": [
            {"conf": "/tmp/n502lab-x/php-fpm.conf", "service": "php8.2-fpm"},
            {"conf": "/etc/php/8.2/fpm/php-fpm.conf", "service": "php8.2-fpm"}]},
        "nginx": {"binary": "/usr/sbin/nginx", "conf_path": "/etc/nginx/nginx.conf",
                  "prefix": None}})
    actions = load_all()

    fpm = actions["service.start"].plan({"service": "php8.2-fpm"}, facts)
    web = actions["service.start"].plan({"service": "nginx"}, facts)
    other = actions["service.start"].plan({"service": "redis-server"}, facts)

    assert fpm.guards == [[interpreter(), "-I", "-m", "wizard.fixes.master_running", "php-fpm",
                           "/etc/php/8.2/fpm/php-fpm.conf"]]
    assert web.guards[0] is not None and helper_module(web.guards[0]) == "master_running"
    assert web.guards[0][-2:] == ["/usr/sbin/nginx", "/etc/nginx/nginx.conf"]
    assert other.guards == [["service", "redis-server", "status"]]
    assert fpm.asks == ["Is php8.2-fpm already running?"]
