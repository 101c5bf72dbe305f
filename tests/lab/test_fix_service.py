"""The sysvinit back-end against Debian's real `service` tool and init scripts.

Only the read-only `status` verb runs for real: start/stop through Debian's init scripts
would act on the system's own nginx and PHP-FPM (port 80, /run/php), which other tests and
the host use, so those verbs are covered by exact argv in tests/unit/test_fix_service.py.
The guard of service.start is exactly this status command, so what it answers here is
what decides whether a start is skipped.
"""

from __future__ import annotations

import os
import shutil
import uuid

import pytest

from tests.support import require
from wizard.fixes.service import plan_verb
from wizard.fixes.service_backend import RUNNING, STOPPED, UNKNOWN
from wizard.fixes.service_sysvinit import SysVInit
from wizard.host.commands import run


def _pid_alive(pidfile: str) -> bool:
    try:
        with open(pidfile, encoding="utf-8") as fh:
            os.kill(int(fh.read().strip()), 0)
        return True
    except (OSError, ValueError):
        return False


@pytest.fixture
def service_tool() -> None:
    require(shutil.which("service") is not None, "needs the `service` tool (init-system-helpers)")


@pytest.mark.parametrize(("name", "pidfile"), [("nginx", "/run/nginx.pid"),
                                               ("php8.2-fpm", "/run/php/php8.2-fpm.pid")])
def test_status_of_debians_init_scripts(service_tool: None, name: str, pidfile: str) -> None:
    require(os.path.exists(f"/etc/init.d/{name}"), f"needs Debian's /etc/init.d/{name}")
    backend = SysVInit()
    guard = plan_verb("start", name, backend).guards[0]
    assert guard == ["service", name, "status"]
    result = run(guard, timeout=30)
    state = backend.state(result.returncode, result.output)
    assert state == (RUNNING if _pid_alive(pidfile) else STOPPED), result.output


def test_unknown_service_is_unknown_not_stopped(service_tool: None) -> None:
    name = f"wiz-no-such-{uuid.uuid4().hex[:8]}"
    result = run(SysVInit().status_argv(name), timeout=30)
    assert result.returncode != 0
    assert SysVInit().state(result.returncode, result.output) == UNKNOWN
