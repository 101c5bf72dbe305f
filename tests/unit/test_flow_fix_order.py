"""The fix a finding offers first (the one the person gets with one key, and the first
listed for its cause in the summary) repairs the cause that finding established; a
restart, which records no undo, is at most a stop-gap behind it. Read through the real
flow library and loader, as the wizard reads the built-in flow."""

from __future__ import annotations

import pytest

from wizard.flow.library import find_flow
from wizard.flow.model import Flow, Outcome

RESTART = "service.restart"


@pytest.fixture(scope="module")
def flow() -> Flow:
    return find_flow("nginx-502")


def outcome(flow: Flow, node: str, result: str) -> Outcome:
    return flow.node(node).on[result]


def first_action(flow: Flow, node: str, result: str) -> str | None:
    fixes = outcome(flow, node, result).fixes
    return fixes[0].action if fixes else None


@pytest.mark.parametrize(("node", "result", "action"), [
    ("nginx_running", "stopped", "service.start"),
    ("ports", "not_listening", "service.reload"),  # a listen line added without a reload
    ("phpfpm_running", "stopped", "service.start"),  # start the pool, not move nginx
    ("listen_match", "mismatch", "nginx.set_fastcgi_pass"),
    ("upstream_reachable", "permission", "phpfpm.set_listen_acl"),
    ("phpfpm_timeouts", "too_short", "phpfpm.set_request_terminate_timeout"),
    ("firewall", "blocked", "firewall.allow_port"),  # the timed disable only proves it
    ("firewall", "partial", "firewall.allow_port"),
    ("url", "bad_gateway", "nginx.set_buffer_size"),  # planned for a too-big header only
    ("nginx_log", "upstream_errors", "nginx.set_buffer_size"),
])
def test_the_first_fix_repairs_the_cause_found(flow: Flow, node: str, result: str,
                                               action: str) -> None:
    assert first_action(flow, node, result) == action


def test_the_timeout_fix_passes_the_pool_its_config_and_nginxs_wait(flow: Flow) -> None:
    (fix,) = outcome(flow, "phpfpm_timeouts", "too_short").fixes
    assert fix.args == {"pool": "{pool}", "conf": "{pool_conf}", "seconds": "{read_timeout}"}


def test_phpfpm_timeouts_meet_the_timeout_setting_before_any_restart(flow: Flow) -> None:
    # The summary lists a cause's fixes in the order the walk offered them, so a restart
    # at the PHP-FPM log (which runs first) would head them for PHP-FPM timeouts.
    order = [fix.action for node in flow.nodes for result, found in node.on.items()
             if (node.id, result) in {("phpfpm_log", "timeouts"), ("phpfpm_timeouts",
                                                                    "too_short")}
             for fix in found.fixes]
    assert order[0] == "phpfpm.set_request_terminate_timeout"
    assert RESTART not in order


def test_a_restart_never_comes_before_another_fix(flow: Flow) -> None:
    lists = [(f"{node.id}/{result}", found.fixes) for node in flow.nodes
             for result, found in [*node.on.items(), ("default", node.default)]
             if found is not None]
    lists += [(f"{node.id}/{choice.key}", choice.fixes) for node in flow.nodes
              for choice in node.choices]
    first_restarts = [where for where, fixes in lists
                      if len(fixes) > 1 and fixes[0].action == RESTART]
    assert first_restarts == []
