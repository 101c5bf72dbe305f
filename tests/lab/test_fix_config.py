"""Config fixes on real nginx and PHP-FPM (the lab harness): each break answers 502, the
fix is planned from real facts (with the arguments the real check's vars give, as the
flow passes them), applied (backup, edit, validation, reload), and the page answers 200.

The lab's nginx and PHP-FPM are started by hand with their own -c / --fpm-config, not by
a service manager; the plans see that in the facts and reload them the way their admin
would, through the server_reload helper (`nginx -s reload -c CONF -p PREFIX`; SIGUSR2 to
the PHP-FPM master its pid file names), so no command is swapped here.
"""

from __future__ import annotations

import os
import pwd
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.lab.harness import Lab, LabError, wait_for
from wizard.checks import REGISTRY, load_all
from wizard.engine.runner import Session
from wizard.fixes import ACTIONS
from wizard.fixes import load_all as load_fixes
from wizard.fixes.apply import apply_fix
from wizard.flow.loader import parse_flow
from wizard.host.facts import Facts
from wizard.outcome import CheckResult

MakeLab = Callable[..., Lab]
pytestmark = pytest.mark.root


def check(name: str, facts: Facts) -> CheckResult:
    load_all()
    return REGISTRY[name].fn(facts)


def plan(lab: Lab, action: str, args: dict[str, str]) -> dict[str, Any]:
    """The plan from the lab's real facts. The tests give PHP-FPM fixes the lab's config
    as `conf`: a lab of a parallel test run may have a pool named www too."""
    load_fixes()
    return ACTIONS[action].plan(args, Facts(lab.options())).to_json()


def apply(lab: Lab, the_plan: dict[str, Any]) -> tuple[Any, list[str]]:
    lines: list[str] = []
    applied = apply_fix(the_plan, Facts(lab.options()), lines.append, ask=None)
    return applied, lines


def status(lab: Lab, path: str) -> int:
    try:
        return lab.request(path, timeout=15)[0]
    except OSError:
        return 0


def old_workers_gone(lab: Lab) -> bool:
    """After a reload nginx's old worker serves on until it quits; the lab runs one."""
    try:
        return len(psutil.Process(lab.nginx_pid or 0).children()) <= 1
    except psutil.Error:
        return False


def answers(lab: Lab, path: str, code: int = 200, timeout: float = 30.0) -> None:
    """Wait until the reloaded servers answer `code` with their new config only."""
    wait_for(lambda: old_workers_gone(lab) and status(lab, path) == code, timeout,
             f"{path} to answer {code} after the reload")


def roles(applied: Any) -> list[str]:
    return [r["role"] for r in applied.commands]


HELPER = [sys.executable, "-I", "-m", "wizard.fixes.server_reload"]


def nginx_reload(lab: Lab) -> list[str]:
    """The reload a hand-started nginx gets: its admin's command, with its own -c / -p."""
    return [*HELPER, "nginx", "--", "/usr/sbin/nginx", "-s", "reload", "-c", lab.nginx_conf,
            "-p", f"{lab.prefix}/"]


def phpfpm_reload(lab: Lab) -> list[str]:
    return [*HELPER, "php-fpm", lab.phpfpm_conf]


def test_request_terminate_timeout_fix_lets_a_slow_script_finish(make_lab: MakeLab) -> None:
    lab = make_lab(request_terminate_timeout="1")
    assert status(lab, "/slow.php?s=3") == 502
    found = check("phpfpm.timeouts", Facts(lab.options()))
    assert found.result == "too_short"

    the_plan = plan(lab, "phpfpm.set_request_terminate_timeout",
                    {"pool": found.vars["pool"], "seconds": str(found.vars["read_timeout"]),
                     "conf": lab.phpfpm_conf})
    assert "-request_terminate_timeout = 1\n+request_terminate_timeout = 60s" \
        in the_plan["diff"]
    assert the_plan["validate"] == [["/usr/sbin/php-fpm8.2", "-t", "-y", lab.phpfpm_conf]]
    applied, lines = apply(lab, the_plan)

    assert applied.succeeded, "\n".join(lines)
    assert roles(applied)[-2:] == ["validate", "command"]
    assert applied.commands[-1]["argv"] == phpfpm_reload(lab)
    assert the_plan["undo"][-1] == phpfpm_reload(lab)  # no pid frozen at plan time
    answers(lab, "/slow.php?s=2")
    assert check("phpfpm.timeouts", Facts(lab.options())).result == "ok"
    backup = Path(applied.backups[0]["backup"])
    assert "request_terminate_timeout = 1\n" in backup.read_text()


def test_listen_acl_fix_lets_nginx_connect_to_the_socket(make_lab: MakeLab) -> None:
    lab = make_lab(listen_owner="root", listen_group="root", listen_mode="0600")
    assert status(lab, "/index.php") == 502
    found = check("upstream.reachable", Facts(lab.options()))
    assert found.result == "permission"

    the_plan = plan(lab, "phpfpm.set_listen_acl",
                    {"pool": lab_pool(lab), "owner": found.vars["worker_user"],
                     "group": found.vars["worker_user"], "mode": "0660",
                     "conf": lab.phpfpm_conf})
    applied, lines = apply(lab, the_plan)

    assert applied.succeeded, "\n".join(lines)
    answers(lab, "/index.php")
    socket = os.stat(str(lab.php_socket))
    assert pwd.getpwuid(socket.st_uid).pw_name == "www-data"
    assert stat.S_IMODE(socket.st_mode) == 0o660
    text = Path(lab.phpfpm_conf).read_text()
    assert "listen.owner = www-data\nlisten.group = www-data\nlisten.mode = 0660\n" in text


def lab_pool(lab: Lab) -> str:
    pools = Facts(lab.options()).get("phpfpm")["pools"]
    return next(p["name"] for p in pools if p["conf"] == lab.phpfpm_conf)


def test_fastcgi_pass_fix_points_nginx_at_the_pool(make_lab: MakeLab) -> None:
    lab = make_lab(fastcgi_pass="unix:{prefix}/other.sock")
    assert status(lab, "/index.php") == 502
    found = check("phpfpm.listen_match", Facts(lab.options()))
    assert found.result == "mismatch"

    the_plan = plan(lab, "nginx.set_fastcgi_pass",
                    {"file": found.vars["nginx_file"], "line": str(found.vars["nginx_line"]),
                     "target": found.vars["pool_listen"]})
    assert f"+            fastcgi_pass unix:{lab.php_socket};" in the_plan["diff"]
    applied, lines = apply(lab, the_plan)

    assert applied.succeeded, "\n".join(lines)
    assert applied.commands[-1]["argv"] == nginx_reload(lab)
    assert the_plan["undo"][-1] == nginx_reload(lab)
    answers(lab, "/index.php")
    assert check("phpfpm.listen_match", Facts(lab.options())).result == "ok"


def test_buffer_fix_lets_a_big_header_through(make_lab: MakeLab) -> None:
    lab = make_lab()
    assert status(lab, "/bigheader.php?n=16000") == 502
    lab.wait_for_log("upstream sent too big header")
    found = check("logs.nginx_errors", Facts(lab.options(since_seconds=600)))
    assert found.result == "upstream_errors"

    the_plan = plan(lab, "nginx.set_buffer_size",
                    {"kind": "fastcgi", "size": "auto", "upstream": str(found.vars["upstream"])})
    assert "+            fastcgi_buffer_size 32k;" in the_plan["diff"]
    assert "+            fastcgi_buffers 8 32k;" in the_plan["diff"]
    applied, lines = apply(lab, the_plan)

    assert applied.succeeded, "\n".join(lines)
    answers(lab, "/bigheader.php?n=16000")
    assert "big" in lab.request("/bigheader.php?n=16000")[1], lab.log_text()[-1500:]


def test_proxy_buffer_fix_in_the_proxying_location(make_lab: MakeLab) -> None:
    # nginx proxies /proxied/ to itself; its PHP location already has room for the
    # header, so only the proxy side is too small.
    lab = make_lab(php_location_extra="fastcgi_buffer_size 64k; fastcgi_buffers 8 64k;",
                   locations="location ^~ /proxied/ { proxy_pass http://127.0.0.1:{port}/; }")
    assert status(lab, "/bigheader.php?n=16000") == 200
    assert status(lab, "/proxied/bigheader.php?n=16000") == 502
    lab.wait_for_log("upstream sent too big header")
    found = check("logs.nginx_errors", Facts(lab.options(since_seconds=600)))

    the_plan = plan(lab, "nginx.set_buffer_size",
                    {"kind": "auto", "size": "auto", "upstream": str(found.vars["upstream"]),
                     "signature": str(found.vars["signature"])})
    assert (f"+location ^~ /proxied/ {{ proxy_pass http://127.0.0.1:{lab.port}/; "
            "proxy_buffer_size 32k; proxy_buffers 8 32k; }") in the_plan["diff"]
    applied, lines = apply(lab, the_plan)

    assert applied.succeeded, "\n".join(lines)
    answers(lab, "/proxied/bigheader.php?n=16000")


def test_an_edit_nginx_rejects_is_rolled_back_and_nginx_keeps_serving(
        make_lab: MakeLab) -> None:
    lab = make_lab()
    before = Path(lab.nginx_conf).read_bytes()
    the_plan = plan(lab, "nginx.set_buffer_size", {"kind": "fastcgi", "size": "16k"})
    # Stand in for a bad edit: the planned text with a value nginx -t rejects.
    edit = the_plan["edits"][0]
    edit["new_text"] = edit["new_text"].replace("fastcgi_buffer_size 16k;",
                                                "fastcgi_buffer_size lots;")
    nginx_pid = lab.nginx_pid

    applied, lines = apply(lab, the_plan)

    assert not applied.succeeded
    assert Path(lab.nginx_conf).read_bytes() == before
    bad_line = next(n for n, text in enumerate(edit["new_text"].splitlines(), start=1)
                    if "lots" in text)
    assert applied.after.endswith('[emerg] "fastcgi_buffer_size" directive invalid value in '
                                  f'{lab.nginx_conf}:{bad_line}')
    assert applied.after.startswith("rolled back: /usr/sbin/nginx -t")
    backup = Path(applied.backups[0]["backup"])
    assert backup.read_bytes() == before
    assert f"Restored {lab.nginx_conf} from {backup}" in lines
    assert "command" not in roles(applied)  # the reload never ran
    assert lab.nginx_pid == nginx_pid and status(lab, "/index.php") == 200


def test_a_file_changed_after_planning_is_refused(make_lab: MakeLab) -> None:
    lab = make_lab(request_terminate_timeout="1")
    the_plan = plan(lab, "phpfpm.set_request_terminate_timeout",
                    {"pool": lab_pool(lab), "seconds": "60", "conf": lab.phpfpm_conf})
    changed = Path(lab.phpfpm_conf).read_text() + "; edited by someone else\n"
    Path(lab.phpfpm_conf).write_text(changed)

    applied, _ = apply(lab, the_plan)

    assert not applied.succeeded
    assert "changed since the plan was made" in applied.after
    assert Path(lab.phpfpm_conf).read_text() == changed
    assert applied.backups == [] and roles(applied) == ["check"]
    assert list(lab.prefix.glob("php-fpm.conf.n502-backup-*")) == []


FLOW = """\
flow: fix-test
start: listen_match
nodes:
  - id: listen_match
    kind: check
    check: phpfpm.listen_match
    title: fastcgi_pass address
    on:
      mismatch:
        text: "{summary}"
        fixes:
          - action: nginx.set_fastcgi_pass
            args: {file: "{nginx_file}", line: "{nginx_line}", target: "%s"}
        next: done
    default: {text: "{summary}", next: done}
  - id: done
    kind: end
    text: done
"""


def test_a_fix_whose_recheck_fails_is_rolled_back_by_the_session(make_lab: MakeLab) -> None:
    lab = make_lab(fastcgi_pass="unix:{prefix}/other.sock")
    before = Path(lab.nginx_conf).read_bytes()
    wrong = f"127.0.0.1:{lab.closed_port}"  # a valid address where no pool listens
    session = Session(parse_flow(FLOW % wrong, "fix-test.yaml"), Facts(lab.options()))
    transcript = session.run()
    step = transcript.steps[0]
    (offer,) = step.fixes
    assert offer.plan, offer.unavailable
    lines: list[str] = []

    applied = session.apply_fix(step, offer, lines.append)

    assert not applied.succeeded
    assert "The change did not help: putting the previous configuration back." in lines
    assert applied.after.endswith(f"rolled back: {lab.nginx_conf} is as before (checked by "
                                  "sha256), and the running server was reloaded with it")
    assert Path(lab.nginx_conf).read_bytes() == before
    assert roles(applied).count("rollback") == 1  # nginx reloaded on the old config
    assert transcript.fixes == [applied]
    try:
        answers(lab, "/index.html")
    except LabError:
        pytest.fail("nginx stopped serving after the rollback")
