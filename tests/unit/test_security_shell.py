"""Values from the host or a flow never reach a shell (SECURITY.md, item 1): a service
name, port, socket path, server_name or upstream name that carries `;`, `$()`, backticks
or a newline is refused by the fix that would use it, or stays one literal argv element;
no code path hands a string to /bin/sh."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wizard.fixes import ACTIONS, FixNotApplicable, load_all
from wizard.fixes.apply import apply_fix
from wizard.host.facts import Facts

REPO = Path(__file__).resolve().parents[2]
PAYLOADS = [";touch {canary}", "$(touch {canary})", "`touch {canary}`", "x\ntouch {canary}"]


def payloads(canary: Path) -> list[str]:
    return [p.format(canary=canary) for p in PAYLOADS]


def _shell_calls(tree: ast.AST) -> list[int]:
    """Lines that start a shell: shell=True, os.system/os.popen, subprocess.getoutput, or
    an argv list that begins with sh/bash and -c."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "shell" and not (
                isinstance(node.value, ast.Constant) and node.value.value is False):
            found.append(node.value.lineno)
        elif isinstance(node, ast.Attribute) and node.attr in (
                "system", "popen", "getoutput", "getstatusoutput", "spawnl", "spawnlp"):
            found.append(node.lineno)
        elif isinstance(node, ast.List) and len(node.elts) > 1 and all(
                isinstance(e, ast.Constant) for e in node.elts[:2]):
            first, second = (e.value for e in node.elts[:2])  # type: ignore[attr-defined]
            if str(first).rsplit("/", 1)[-1] in ("sh", "bash", "dash") and second == "-c":
                found.append(node.lineno)
    return found


def test_no_product_code_starts_a_shell() -> None:
    offenders = [f"{path.relative_to(REPO)}:{line}"
                 for path in sorted((REPO / "wizard").rglob("*.py"))
                 for line in _shell_calls(ast.parse(path.read_text(encoding="utf-8")))]
    assert offenders == []


def test_the_scanner_sees_a_shell() -> None:
    planted = "import os, subprocess\nsubprocess.run(x, shell=True)\nos.system(x)\n" \
              "subprocess.run(['/bin/sh', '-c', x])\n"
    assert _shell_calls(ast.parse(planted)) == [2, 3, 4]


@pytest.mark.parametrize(("action", "arg"), [
    ("service.start", "service"), ("service.restart", "service"),
    ("service.reload", "service"), ("service.enable", "service"),
    ("firewall.allow_port", "port"), ("firewall.disable_temporarily", "seconds"),
    ("selinux.set_boolean", "boolean"),
])
def test_a_fix_refuses_a_value_that_carries_shell_syntax(
        action: str, arg: str, tmp_path: Path,
        recorded: Callable[[dict[str, Any]], Facts]) -> None:
    load_all()
    facts = recorded({"system": {"service_manager": "systemd"},
                      "firewall": {"backends": [], "blocked_ports": []},
                      "mac": {"selinux": {"mode": "enforcing", "booleans": {}}}})
    for value in payloads(tmp_path / "canary"):
        with pytest.raises(FixNotApplicable):
            ACTIONS[action].plan({arg: value}, facts)


def test_fastcgi_pass_refuses_a_target_that_carries_shell_syntax(tmp_path: Path) -> None:
    from wizard.fixes.config_nginx import nginx_target

    for value in payloads(tmp_path / "canary"):
        with pytest.raises(FixNotApplicable):
            nginx_target("/run/php/" + value + ".sock")


def test_a_payload_inside_a_plan_stays_one_literal_argument(tmp_path: Path) -> None:
    """Through the real apply back-end: each payload is printed, never run."""
    canary = tmp_path / "canary"
    commands = [["printf", "%s\\n", value] for value in payloads(canary)]
    plan = {"id": "t", "needs_root": False, "commands": commands}
    shown: list[str] = []

    applied = apply_fix(plan, Facts.from_snapshot({"format": 1, "facts": {}}), shown.append)

    assert applied.succeeded
    assert not canary.exists()
    assert f"$(touch {canary})" in "\n".join(shown)


NGINX_CONF = """\
events {{}}
http {{
    upstream "app`touch {canary}`" {{ server 127.0.0.1:9; }}
    server {{
        listen 127.0.0.1:9;
        server_name "x;touch {canary}" "`touch {canary}`";
        location ~ \\.php$ {{ fastcgi_pass "unix:{folder}/`touch {canary}`;x.sock"; }}
        location /p {{ proxy_pass "http://app`touch {canary}`"; }}
    }}
}}
"""


def test_diagnose_on_a_config_full_of_shell_syntax_runs_none_of_it(tmp_path: Path) -> None:
    """The real CLI reads the config (nginx -t, nginx -T), probes the upstreams and the
    URL; every value carrying shell syntax is shown, none is run."""
    canary = tmp_path / "canary"
    conf = tmp_path / "nginx.conf"
    conf.write_text(NGINX_CONF.format(canary=canary, folder=tmp_path))
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    done = subprocess.run(
        [sys.executable, "-m", "wizard", "diagnose", "--format", "json", "--nginx-conf",
         str(conf), "--url", f"http://127.0.0.1:9/`touch {canary}`;$(touch {canary}).php"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env, check=False)

    report = json.loads(done.stdout)
    assert not canary.exists()
    assert f"app`touch {canary}`" in done.stdout  # shown literally
    assert report["causes"], done.stderr
