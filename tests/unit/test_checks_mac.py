"""The `mac` fact and the `mac.denials` check, over output recorded on SELinux and AppArmor
hosts (tests/data/selinux/README.md says where each file comes from).

SELinux cannot run here, so stub `getenforce`, `getsebool` and `journalctl` programs on
PATH print the recorded output; the real fact provider runs them through
wizard.host.commands and reads the recorded logs. nginx's error-log window is read by the
real `error_log_events` provider. The end-to-end tests run `python -m wizard diagnose`
over a snapshot assembled from those facts."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import require
from wizard.checks.mac import mac_denials
from wizard.host.errorlog import error_log_events
from wizard.host.facts import Facts
from wizard.host.mac import Sources, label, parse_getsebool, read_mac
from wizard.options import Options
from wizard.outcome import CIRCUMSTANTIAL, DIRECT, STRONG, CheckResult

DATA = Path(__file__).resolve().parent.parent / "data" / "selinux"
ALL_OF_IT = 30 * 365 * 86400.0  # the recorded logs are years old: read every line
Stub = Callable[..., None]


# -- helpers shared with test_fix_selinux.py -------------------------------------------------

def stub_programs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Stub:
    """`stub(name, fixture)`: a program on PATH that prints a recorded file."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", f"{folder}:{os.environ['PATH']}")

    def make(name: str, fixture: str | None = None, code: int = 0) -> None:
        body = f"cat '{DATA / fixture}'\n" if fixture else ""
        program = folder / name
        program.write_text(f"#!/bin/sh\n{body}exit {code}\n")
        program.chmod(0o755)

    return make


@pytest.fixture
def stub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Stub:
    return stub_programs(tmp_path, monkeypatch)


def sources(tmp_path: Path, audit: str | None = None, kern: list[str] | None = None,
            apparmor: bool = False, nginx_label: str | None = None) -> Sources:
    """Readers pointed at recorded files; whatever is not given is absent."""
    kern_log = tmp_path / "kern.log"
    kern_log.write_text("".join((DATA / name).read_text() for name in kern or []))
    enabled = tmp_path / "apparmor_enabled"
    if apparmor:
        enabled.write_text("Y\n")
    proc = tmp_path / "proc"
    if nginx_label:
        (proc / "2741" / "attr" / "apparmor").mkdir(parents=True)
        (proc / "2741" / "attr" / "apparmor" / "current").write_text(nginx_label + "\n")
    return Sources(audit_log=str(DATA / audit) if audit else str(tmp_path / "no-audit.log"),
                   kern_log=str(kern_log), selinux_enforce=str(tmp_path / "no-selinuxfs"),
                   apparmor_enabled=str(enabled), proc=str(proc))


def nginx_fact(error_log: str | None = None, sockets: tuple[str, ...] = ()) -> dict[str, Any]:
    passes = [{"kind": "fastcgi", "target": f"unix:{s}", "socket": s} for s in sockets]
    return {"master_pids": [], "worker_pids": [2741], "prefix": "/", "passes": passes,
            "error_logs": [{"target": str(DATA / error_log)}] if error_log else []}


def log_window(error_log: str | None) -> dict[str, Any]:
    """What the real `error_log_events` provider reads from a recorded nginx error log."""
    facts = Facts.from_snapshot(
        {"format": 1, "facts": {"nginx": nginx_fact(error_log or "none.log"),
                                "phpfpm": {"error_logs": ["/nonexistent/php-fpm.log"]}}},
        Options(since_seconds=ALL_OF_IT))
    value: dict[str, Any] = error_log_events(facts)
    return value


def judge(mac: dict[str, Any], error_log: str | None = None,
          probes: list[dict[str, Any]] | None = None) -> CheckResult:
    return mac_denials(Facts.from_snapshot({"format": 1, "facts": {
        "mac": mac, "error_log_events": log_window(error_log), "upstream_probes": probes or []}}))


def details(result: CheckResult) -> str:
    return "\n".join(ev.detail for ev in result.evidence)


# -- SELinux refusing a TCP upstream -------------------------------------------------------

def test_selinux_refusing_the_tcp_upstream_is_mac_denied(stub: Stub, tmp_path: Path) -> None:
    stub("getenforce", "getenforce_enforcing.txt")
    stub("getsebool", "centos10_getsebool-a_httpd.txt")
    mac = read_mac(nginx_fact(), False, 0.0, sources(tmp_path, audit="centos7-nexus_audit.log"))

    result = judge(mac, "centos7-nexus_nginx-error.log")

    assert (result.result, result.causes, result.confidence) == ("denied", ["mac_denied"], DIRECT)
    assert result.summary.startswith(
        "SELinux refused nginx the connection to port 8081 (127.0.0.1:8081) 1 time")
    assert result.vars["boolean"] == "httpd_can_network_connect"
    assert result.vars["socket"] == ""  # so the socket fix plans nothing here
    assert "semanage port -a -t http_port_t -p tcp 8081" in result.vars["remedy"]
    assert "denied  { name_connect } for  pid=5642 comm=\"nginx\" dest=8081" in details(result)
    assert "connect() to 127.0.0.1:8081 failed (13: Permission denied)" in details(result)
    assert "getsebool: httpd_can_network_connect --> off" in details(result)


def test_a_refusal_in_both_audit_log_and_kernel_log_counts_once(
        stub: Stub, tmp_path: Path) -> None:
    stub("getenforce", "getenforce_enforcing.txt")
    stub("getsebool", "centos10_getsebool-a_httpd.txt")
    src = sources(tmp_path, audit="rhel8-nautobot_audit.log", kern=["rhel8-nautobot_audit.log"])

    mac = read_mac(nginx_fact(), False, 0.0, src)

    assert [log["status"] for log in mac["logs"]] == ["ok", "ok"]  # both were read
    # one refusal (and the SYSCALL record of the same event is none)
    assert [r["dest"] for r in mac["denials"]] == ["8080"]
    assert judge(mac, "rhel8-nautobot_nginx-error.log").summary.startswith(
        "SELinux refused nginx the connection to port 8080 (127.0.0.1:8080) 1 time(s), "
        "last at ")


def test_boolean_off_and_nginx_refused_is_enough_without_the_audit_log(
        stub: Stub, tmp_path: Path) -> None:
    stub("getenforce", "getenforce_enforcing.txt")
    stub("getsebool", "centos10_getsebool-a_httpd.txt")
    mac = read_mac(nginx_fact(), False, 0.0, sources(tmp_path))  # no audit.log at all
    assert mac["denials"] == [] and mac["logs"][0]["status"] == "missing"

    result = judge(mac, "centos7-nexus_nginx-error.log")

    assert (result.result, result.causes, result.confidence) == ("denied", ["mac_denied"], STRONG)
    assert result.vars["what"] == "the connection to port 8081"
    assert "httpd_can_network_connect --> off" in details(result)


def test_refused_by_nginx_yet_no_log_says_why_is_unknown_not_ok(
        stub: Stub, tmp_path: Path) -> None:
    stub("getenforce", "getenforce_enforcing.txt")
    stub("getsebool", code=1)  # no answer: the boolean is not known either
    src = sources(tmp_path)
    os.mkdir(src.audit_log)  # there, but not readable as a log (as without root)
    mac = read_mac(nginx_fact(), False, 0.0, src)
    assert mac["logs"][0]["status"] == "unreadable"

    result = judge(mac, "centos7-nexus_nginx-error.log")

    assert result.result == "unknown"
    assert "run the wizard as root" in result.summary


def test_permissive_selinux_only_logs(stub: Stub, tmp_path: Path) -> None:
    stub("getenforce", "getenforce_permissive.txt")
    stub("getsebool", "centos10_getsebool-a_httpd.txt")
    mac = read_mac(nginx_fact(), False, 0.0, sources(tmp_path, audit="centos10_audit-avc.log"))
    # only nginx's record is kept, not gnome-remote-desktop's
    assert [r["comm"] for r in mac["denials"]] == ["nginx"]

    # even with the boolean off and nginx refused: permissive SELinux blocks nothing
    result = judge(mac, "centos7-nexus_nginx-error.log")

    assert result.result == "ok"
    assert "it only logs what it would refuse and blocks nothing" in result.summary
    assert "1 refusal(s) for nginx were logged" in result.summary


# -- SELinux refusing a unix socket ----------------------------------------------------------

def test_selinux_refusing_the_socket_names_its_folder(stub: Stub, tmp_path: Path) -> None:
    stub("getenforce", "getenforce_enforcing.txt")
    stub("getsebool", "centos10_getsebool-a_httpd.txt")
    nginx = nginx_fact(sockets=("/var/run/shibboleth/shibd.sock",))
    mac = read_mac(nginx, False, 0.0, sources(tmp_path, audit="el6-shibd_audit.log"))
    probe = {"socket": "/var/run/shibboleth/shibd.sock", "worker_can_connect": True}

    result = judge(mac, probes=[probe])

    assert (result.result, result.causes, result.confidence) == ("denied", ["mac_denied"], DIRECT)
    assert result.vars["socket"] == "/var/run/shibboleth/shibd.sock"
    assert result.vars["socket_dir"] == "/var/run/shibboleth"
    assert result.vars["boolean"] == ""
    assert "httpd_var_run_t" in result.vars["remedy"]
    assert 'name="shibd.sock"' in details(result) and "connectto" in details(result)


def test_socket_whose_mode_keeps_nginx_out_stays_socket_permission(
        stub: Stub, tmp_path: Path) -> None:
    """The twin: 13 on a unix socket, SELinux enforcing, but the socket's own mode refuses
    the worker and no audit record names nginx: not SELinux."""
    stub("getenforce", "getenforce_enforcing.txt")
    stub("getsebool", "centos10_getsebool-a_httpd.txt")
    probe = {"socket": "/var/run/php5-fpm.sock", "worker_can_connect": False,
             "connect": "permission"}
    for audit in ("centos10_audit-avc.log", None):  # read, and not readable at all
        mac = read_mac(nginx_fact(), False, 0.0, sources(tmp_path, audit=audit))

        result = judge(mac, "ubuntu-puphpet_nginx-error.log", probes=[probe])

        assert (result.result, result.causes) == ("ok", []), result.summary


# -- AppArmor ----------------------------------------------------------------------------------

def test_apparmor_refusing_the_socket_says_which_profile_and_what_to_add(
        tmp_path: Path) -> None:
    src = sources(tmp_path, kern=["void_dmesg-apparmor.txt",
                                  "HANDTYPED_kern-apparmor-nginx-connect.log"],
                  apparmor=True, nginx_label="/usr/sbin/nginx (enforce)")
    mac = read_mac(nginx_fact(sockets=("/run/php/php8.2-fpm.sock",)), False, 0.0, src)
    assert (mac["apparmor"]["nginx_profile"], mac["apparmor"]["nginx_mode"]) == \
        ("/usr/sbin/nginx", "enforce")
    assert [r["profile"] for r in mac["denials"]] == ["/usr/sbin/nginx"]  # not dhcpcd's

    result = judge(mac, "HANDTYPED_nginx-error_php-socket.log",
                   probes=[{"socket": "/run/php/php8.2-fpm.sock", "worker_can_connect": True}])

    assert (result.result, result.causes, result.confidence) == ("denied", ["mac_denied"], DIRECT)
    assert result.vars["mac"] == "AppArmor"
    assert result.vars["rule"] == "/run/php/php8.2-fpm.sock rw,"
    assert "/usr/sbin/nginx" in result.vars["remedy"]
    assert "does not change AppArmor profiles itself" in result.vars["remedy"]
    # no SELinux fix is planned for an AppArmor refusal
    assert (result.vars["boolean"], result.vars["socket"]) == ("", "")


def test_apparmor_refusals_in_the_journal_that_are_no_connection(
        stub: Stub, tmp_path: Path) -> None:
    stub("journalctl", "debian11-nap_journal-apparmor.txt")
    src = sources(tmp_path, apparmor=True, nginx_label="/usr/sbin/nginx (enforce)")
    mac = read_mac(nginx_fact(), True, 0.0, src)  # systemd: the journal is read
    assert mac["logs"][1]["status"] == "ok"
    assert sorted(r["operation"] for r in mac["denials"]) == ["mknod", "open", "unlink"]

    result = judge(mac)

    # a problem worth showing, but not proof of the 502: nginx's pid file, not its upstream
    assert (result.result, result.confidence) == ("denied", CIRCUMSTANTIAL)
    assert result.vars["what"].startswith("access to /run/nginx.pid")
    assert result.vars["rule"].startswith("/run/nginx.pid ")


# -- neither -----------------------------------------------------------------------------------

def test_this_host_has_neither_so_the_check_is_skipped(tmp_path: Path) -> None:
    require(not os.path.exists("/sys/fs/selinux") and
            not os.path.exists("/sys/module/apparmor/parameters/enabled"),
            "this host runs SELinux or AppArmor")
    mac = read_mac(nginx_fact(), False, 0.0)  # the real readers, on this machine

    assert mac["selinux"]["mode"] is None and mac["apparmor"]["enabled"] is False
    assert mac["logs"] == []  # nothing is read when neither is there
    assert judge(mac, "centos7-nexus_nginx-error.log").result == "skipped"
    # what getsebool prints where SELinux is disabled holds no setting
    assert parse_getsebool((DATA / "getsebool_disabled.txt").read_text()) == {}


def test_a_sockets_label_is_read_from_the_file(stub: Stub, tmp_path: Path) -> None:
    require(os.geteuid() == 0, "setting a security.* attribute needs root")
    path = tmp_path / "www.sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        assert stat.S_ISSOCK(path.stat().st_mode)
        os.setxattr(path, "security.selinux", b"system_u:object_r:var_run_t:s0\x00")
        stub("getenforce", "getenforce_enforcing.txt")
        stub("getsebool", "centos10_getsebool-a_httpd.txt")

        mac = read_mac(nginx_fact(sockets=(str(path),)), False, 0.0, sources(tmp_path))

    assert mac["sockets"] == [{
        "socket": str(path), "context": "system_u:object_r:var_run_t:s0", "reason": None,
        "folder": str(tmp_path), "folder_context": None, "folder_reason": "has no SELinux label"}]
    assert label(str(tmp_path / "gone.sock")) == (None, "does not exist")


# -- end to end: the report ------------------------------------------------------------------

def snapshot(tmp_path: Path, mac: dict[str, Any]) -> Path:
    """The Nautobot RHEL 8 host: its recorded nginx log and `mac` fact, the rest typed by
    hand (tests/data/selinux/README.md)."""
    error_log = str(DATA / "rhel8-nautobot_nginx-error.log")
    facts = json.loads((DATA / "HANDTYPED_rhel8-nautobot_host-facts.json").read_text()
                       .replace('"ERROR_LOG"', json.dumps(error_log)))
    facts["mac"] = mac
    facts["error_log_events"] = log_window("rhel8-nautobot_nginx-error.log")
    path = tmp_path / "rhel8-nautobot.json"
    path.write_text(json.dumps({"format": 1, "facts": facts, "errors": {}}))
    return path


def diagnose(path: Path) -> tuple[int, dict[str, Any]]:
    done = subprocess.run([sys.executable, "-m", "wizard", "diagnose", "--format", "json",
                           "--from-snapshot", str(path)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


@pytest.fixture
def nautobot_mac(stub: Stub, tmp_path: Path) -> Iterator[dict[str, Any]]:
    stub("getenforce", "getenforce_enforcing.txt")
    stub("getsebool", "centos10_getsebool-a_httpd.txt")
    nginx = {"master_pids": [67243], "worker_pids": [67245], "passes": []}
    yield read_mac(nginx, True, 0.0, sources(tmp_path, audit="rhel8-nautobot_audit.log"))


def test_report_leads_with_selinux_and_names_no_firewall(
        nautobot_mac: dict[str, Any], tmp_path: Path) -> None:
    code, report = diagnose(snapshot(tmp_path, nautobot_mac))

    ids = [c["id"] for c in report["causes"]]
    assert code == 1
    assert ids[0] == "mac_denied", ids
    assert "firewall_blocking" not in ids
    first = report["causes"][0]
    assert first["explanation"].startswith(
        "SELinux, the system's security policy, refuses nginx the connection to port 8080 "
        "(127.0.0.1:8080).")
    assert {"source": "file", "detail": str(DATA / "rhel8-nautobot_audit.log") + ": " +
            (DATA / "rhel8-nautobot_audit.log").read_text().splitlines()[0]} in first["evidence"]
    assert [f["commands"] for f in first["fixes"]] == [
        [["setsebool", "-P", "httpd_can_network_connect", "1"]]]
    step = next(s for s in report["steps"] if s["node"] == "mac")
    assert step["status"] == "problem"


def test_without_selinux_or_apparmor_the_refusal_is_not_blamed_on_them(
        tmp_path: Path) -> None:
    """The same refusals on a host with neither (this one): mac_denied is no cause."""
    require(not os.path.exists("/sys/fs/selinux") and
            not os.path.exists("/sys/module/apparmor/parameters/enabled"),
            "this host runs SELinux or AppArmor")
    mac = read_mac({"master_pids": [], "worker_pids": []}, False, 0.0)

    _code, report = diagnose(snapshot(tmp_path, mac))

    assert "mac_denied" not in [c["id"] for c in report["causes"]]
    step = next(s for s in report["steps"] if s["node"] == "mac")
    assert (step["status"], step["summary"]) == (
        "skipped", "neither SELinux nor AppArmor is active on this host")
