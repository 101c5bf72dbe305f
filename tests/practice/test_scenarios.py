"""Every practice scenario, through the real command: `practice --headless --fix NAME`
starts a real broken nginx (and PHP-FPM) in a sandbox, the wizard names the scenario's
cause first, the first fix offered for it (where the flow offers one) repairs the page
inside the sandbox alone, and when the command ends no process, socket or file is left.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from tests.practice.support import headless, require_practice, sandbox_home, wait_until_clean
from wizard.practice.scenarios import SCENARIOS

pytestmark = [pytest.mark.root, pytest.mark.lab]

# The scenarios whose cause the flow offers a fix for: the fix must be offered and work.
FIXED_BY = {
    "php_fpm_down": "service.start:",
    "nginx_not_running": "service.start:",
    "upstream_address_mismatch": "nginx.set_fastcgi_pass:",
    "socket_permission": "phpfpm.set_listen_acl:",
    "php_fpm_timeout": "phpfpm.set_request_terminate_timeout:",
    "header_too_big": "nginx.set_buffer_size:",
}


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])


def nothing_listens(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) != 0


def causes(result: dict[str, Any]) -> list[str]:
    return [cause["id"] for cause in result["report"]["causes"]]


def test_there_are_at_least_ten_scenarios() -> None:
    assert len(SCENARIOS) >= 10
    assert set(FIXED_BY) <= {s.name for s in SCENARIOS}


@pytest.mark.parametrize("name", [s.name for s in SCENARIOS])
def test_scenario_is_found_fixed_in_the_sandbox_and_leaves_nothing(name: str) -> None:
    scenario = next(s for s in SCENARIOS if s.name == name)
    require_practice(phpfpm=scenario.needs_phpfpm)
    with sandbox_home() as home:
        code, result = headless(home, "--fix", name)

        sandbox = result["practice"]["sandbox"]
        assert Path(sandbox).parent == home
        assert causes(result)[:1] == [name], (causes(result), result["report"]["steps"])
        fix = result["fix"]
        if name in FIXED_BY:
            assert fix is not None, "no fix was offered"
            assert fix["id"].startswith(FIXED_BY[name])
            assert (fix["succeeded"], fix["proof"]) == (True, "fixed"), fix
            assert code == 0
            # it ran in the sandbox only: every command names the sandbox's folder
            assert all(any(f"{sandbox}/" in arg or arg == sandbox for arg in argv)
                       for argv in fix["commands"]), fix["commands"]
        else:
            assert fix is None
            assert code == 1
        wait_until_clean(home)
        assert nothing_listens(port_of(result["practice"]["url"]))
