"""Practice mode plans every fix for the sandbox alone: the planners the flow offers,
called as the engine calls them, on options that carry a sandbox. What the scenarios
cannot show (no scenario breaks a firewall) is proved here."""

from __future__ import annotations

import pytest

from wizard.fixes import ACTIONS, FixNotApplicable, load_all
from wizard.fixes.base import FileEdit, FixPlan
from wizard.fixes.helper_argv import interpreter
from wizard.fixes.practice_gate import inside
from wizard.host.facts import Facts
from wizard.options import Options, Practice

PREFIX = "/tmp/nginx-502-practice-test"
FPM_START = ["/usr/sbin/php-fpm8.2", "--fpm-config", f"{PREFIX}/php-fpm.conf", "-p", PREFIX]
NGINX_START = ["/usr/sbin/nginx", "-p", f"{PREFIX}/", "-c", f"{PREFIX}/nginx.conf"]


def in_practice() -> Facts:
    load_all()
    return Facts(Options(nginx_conf=f"{PREFIX}/nginx.conf", practice=Practice(
        PREFIX, f"{PREFIX}/php-fpm.conf", {"php-fpm": FPM_START, "nginx": NGINX_START})))


def plan(action: str, args: dict[str, str]) -> FixPlan:
    """The plan the engine would be given for this offer in practice mode."""
    facts = in_practice()  # loads (and confines) the actions first
    return ACTIONS[action].plan(args, facts)


def refusal(action: str, args: dict[str, str]) -> str:
    with pytest.raises(FixNotApplicable) as refused:
        plan(action, args)
    return str(refused.value)


@pytest.mark.parametrize(("action", "args"), [
    ("firewall.allow_port", {"port": "80"}),
    ("firewall.disable_temporarily", {"seconds": "120"}),
])
def test_firewall_fixes_are_refused(action: str, args: dict[str, str]) -> None:
    assert refusal(action, args) == (
        "In practice, fixes change the practice sandbox only, never this machine's "
        "firewall: do this one on a real server.")


def test_selinux_fixes_are_refused() -> None:
    assert "never this machine's security policy" in refusal(
        "selinux.set_boolean", {"boolean": "httpd_can_network_connect"})


def test_starting_php_fpm_starts_the_sandboxs_own() -> None:
    made = plan("service.start", {"service": "php8.2-fpm"})
    assert made.id == "service.start:php8.2-fpm"
    assert made.commands == [FPM_START]
    assert made.guards == [[interpreter(), "-I", "-m", "wizard.fixes.master_running",
                            "php-fpm", f"{PREFIX}/php-fpm.conf"]]
    assert made.title == "Start the practice sandbox's PHP-FPM"


def test_starting_nginx_starts_the_sandboxs_own() -> None:
    assert plan("service.start", {"service": "nginx"}).commands == [NGINX_START]


def test_reloading_nginx_reloads_the_sandboxs_master() -> None:
    assert plan("service.reload", {"service": "nginx"}).commands == [[
        interpreter(), "-I", "-m", "wizard.fixes.server_reload", "nginx", "--",
        "/usr/sbin/nginx", "-s", "reload", "-c", f"{PREFIX}/nginx.conf", "-p", f"{PREFIX}/"]]


@pytest.mark.parametrize("action", ["service.restart", "service.enable"])
def test_other_service_verbs_are_refused(action: str) -> None:
    assert refusal(action, {"service": "nginx"}) == (
        "In practice, the sandbox's nginx can only be started or reloaded: it is not a "
        "service of this machine.")


def test_a_service_the_sandbox_lacks_is_refused() -> None:
    assert "it has no mysql" in refusal("service.start", {"service": "mysql"})


def test_a_plan_reaching_outside_the_sandbox_is_refused() -> None:
    edit = FileEdit("/etc/nginx/nginx.conf", "", "0" * 64)
    with pytest.raises(FixNotApplicable, match=r"reach outside it \(/etc/nginx/nginx.conf\)"):
        inside(FixPlan("x", "x", [], True, edits=[edit]), PREFIX)
    with pytest.raises(FixNotApplicable, match="systemctl reload nginx"):
        inside(FixPlan("x", "x", [["systemctl", "reload", "nginx"]], True), PREFIX)
    kept = FixPlan("x", "x", [["nginx", "-s", "reload", "-c", f"{PREFIX}/nginx.conf"]], True,
                   edits=[FileEdit(f"{PREFIX}/nginx.conf", "", "0" * 64)])
    assert inside(kept, PREFIX) is kept
