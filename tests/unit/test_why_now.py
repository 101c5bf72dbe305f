"""What changed before it broke (issue 9, item 6): the parsers of each source over recorded
or typed text (tests/data/why_now/README.md says which is which and where each format
comes from), the `changes.recent` check over recorded facts, the report's section, and the
step on the TUI at 80x24."""

from __future__ import annotations

import calendar
import gzip
import json
import os
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.plain_words import internal_names, shown
from tests.tui.states import drive
from wizard.checks.why_now import explains, recent_changes
from wizard.engine.placeholders import fill, unresolved
from wizard.engine.report import build_report, render
from wizard.engine.runner import Session
from wizard.flow.library import builtin_flow_dir
from wizard.flow.loader import load_flow
from wizard.flow.model import Flow, Node, Outcome
from wizard.host import changes
from wizard.host.changes_config import file_changes
from wizard.host.changes_deploy import entries_for, modified_times
from wizard.host.changes_disk import shortage
from wizard.host.changes_kernel import kernel_line_time, oom_entries
from wizard.host.changes_package_logs import (
    apk_time,
    apt_time,
    dpkg_time,
    parse_apk,
    parse_apt_history,
    parse_dnf,
    parse_dpkg,
    parse_pacman,
    parse_yum,
    parse_zypp,
)
from wizard.host.changes_packages import summarise, transactions, without_duplicates
from wizard.host.changes_scope import nginx_masters, phpfpm_confs
from wizard.host.changes_services import log_changes, parse_journal
from wizard.host.changes_tail import tail_since
from wizard.host.changes_window import Window, window_for
from wizard.host.errorlog import event
from wizard.host.facts import Facts
from wizard.outcome import CheckResult, Evidence, Status
from wizard.tui.app import WizardApp

DATA = Path(__file__).resolve().parents[1] / "data" / "why_now"
HOUR = 3600.0


def screen_text(app: WizardApp) -> str:
    """What the terminal shows, as plain lines (as tests/tui read it)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def lines(name: str) -> list[str]:
    return (DATA / name).read_text(encoding="utf-8").splitlines()


def local(stamp: str) -> float:
    """'2026-11-30 09:21:40' in this machine's time zone, as the logs write it."""
    return time.mktime(time.strptime(stamp, "%Y-%m-%d %H:%M:%S"))


def entry_of(changes_: list[Any]) -> dict[str, Any]:
    (group,) = transactions(without_duplicates(changes_))
    return summarise(group)


# --- package logs -------------------------------------------------------------------------

def test_recorded_dpkg_install_is_one_transaction_naming_nginx_and_php_fpm() -> None:
    found = parse_dpkg(lines("dpkg.log"), "/var/log/dpkg.log")
    tzdata, install = transactions(found)
    assert [(c.action, c.name, c.old, c.new) for c in tzdata] == [
        ("upgrade", "tzdata", "2025b-0+deb12u1", "2025b-0+deb12u2")]
    entry = summarise(install)
    assert entry["epoch"] == local("2026-11-29 23:39:12")
    assert entry["what"].startswith("php8.2-fpm installed, nginx-common installed, "
                                    "nginx installed, php-common installed, and ")
    assert entry["what"].endswith(" other packages changed")
    assert entry["details"]["roles"][:2] == ["php_fpm", "nginx"]
    assert entry["source"] == "/var/log/dpkg.log"


def test_recorded_apt_history_skips_the_block_older_than_the_window() -> None:
    found = parse_apt_history(lines("apt-history.log"), "/var/log/apt/history.log")
    assert "linux-libc-dev" not in {c.name for c in found}  # the cut block above
    nginx = next(c for c in found if c.name == "nginx")
    assert (nginx.action, nginx.new, nginx.epoch) == (
        "install", "1.22.1-9+deb12u11", local("2026-11-29 23:39:12"))
    upgraded = next(c for c in found if c.name == "libsystemd0")
    assert (upgraded.action, upgraded.old, upgraded.new) == (
        "upgrade", "252.38-1~deb12u1", "252.39-1~deb12u2")


def test_dpkg_and_apt_telling_the_same_install_count_it_once() -> None:
    dpkg = [c for c in parse_dpkg(lines("dpkg.log"), "/var/log/dpkg.log")
            if c.epoch > local("2026-11-01 00:00:00")]
    apt = [c for c in parse_apt_history(lines("apt-history.log"), "/var/log/apt/history.log")
           if c.epoch > local("2026-11-01 00:00:00")]
    merged = without_duplicates(dpkg + apt)
    assert [c.name for c in merged].count("nginx") == 1
    assert summarise(transactions(merged)[0])["what"] == summarise(transactions(dpkg)[0])["what"]


def test_php_8_1_replaced_by_8_2_is_said_as_one_replacement() -> None:
    entry = entry_of(parse_dpkg(lines("dpkg-php-replaced.log"), "/var/log/dpkg.log"))
    assert entry["what"] == ("php8.1-fpm replaced by php8.2-fpm, php8.1-common replaced by "
                             "php8.2-common, libssl3 upgraded from 3.0.2-0ubuntu1.15 to "
                             "3.0.2-0ubuntu1.18, and 1 other package changed")
    assert entry["details"]["replaced"][0] == ["php8.1-fpm", "php8.2-fpm"]
    assert explains(entry)[:2] == ["php_fpm_down", "upstream_address_mismatch"]
    assert "upstream_tls" in explains(entry)


def test_dnf_joins_upgrade_and_upgraded_and_names_the_erased_php_fpm() -> None:
    entry = entry_of(parse_dnf(lines("dnf.rpm.log"), "/var/log/dnf.rpm.log"))
    packages = {p["name"]: p for p in entry["details"]["packages"]}
    assert (packages["nginx"]["old"], packages["nginx"]["new"]) == (
        "1:1.20.1-10.el9", "1:1.20.1-14.el9")
    assert packages["php-fpm"]["action"] == "remove"  # erased after its new version came
    assert "bash-completion" not in packages and entry["details"]["others"] == 1
    assert entry["epoch"] == datetime.fromisoformat("2026-11-30T09:21:41+00:00").timestamp()


def test_yum_takes_the_year_that_is_not_in_the_future() -> None:
    found = parse_yum(lines("yum.log"), "/var/log/yum.log")
    assert [(c.action, c.name) for c in found] == [
        ("upgrade", "nginx-filesystem"), ("upgrade", "nginx"), ("remove", "php-fpm"),
        ("install", "rh-php73-php-fpm")]
    assert all(c.epoch <= time.time() + 86400 for c in found)


def test_pacman_both_stamp_formats_and_a_php_fpm_replacement() -> None:
    found = parse_pacman(lines("pacman.log"), "/var/log/pacman.log")
    assert ("nano", "install") in {(c.name, c.action) for c in found}  # the old stamp
    recent = [c for c in found if c.name != "nano"]
    entry = entry_of(recent)
    assert entry["what"] == ("php-legacy-fpm replaced by php-fpm, nginx upgraded from "
                             "1.26.2-2 to 1.26.3-1, openssl upgraded from 3.4.0-1 to 3.4.1-1, "
                             "and 1 other package changed")


def test_zypper_history_padded_remove_and_install() -> None:
    found = parse_zypp(lines("zypp-history"), "/var/log/zypp/history")
    assert [(c.action, c.name) for c in found] == [
        ("remove", "php7-fpm"), ("install", "php8-fpm"), ("install", "nginx")]
    assert entry_of(found)["what"] == "php7-fpm replaced by php8-fpm, nginx installed"


def test_apk_log_stamps_in_utc_and_ignores_lines_before_the_first_run() -> None:
    found = parse_apk(lines("apk.log"), "/var/log/apk.log")
    assert [(c.action, c.name) for c in found] == [
        ("upgrade", "php82-fpm"), ("remove", "php81-fpm"), ("install", "php83-fpm")]
    assert found[0].epoch == calendar.timegm((2026, 11, 30, 9, 21, 40, 0, 0, 0))
    assert entry_of(found)["what"].startswith("php81-fpm replaced by php83-fpm, php82-fpm "
                                              "upgraded from 8.2.25-r0 to 8.2.26-r0")


def test_line_stamps_of_each_log() -> None:
    assert dpkg_time("2026-11-29 23:39:12 startup archives unpack") == local(
        "2026-11-29 23:39:12")
    assert apt_time("Start-Date: 2026-11-29  23:39:12") == local("2026-11-29 23:39:12")
    assert apt_time("Install: x:amd64 (1)") is None
    assert apk_time("(1/3) Upgrading php82-fpm (8.2.25-r0 -> 8.2.26-r0)") is None


# --- reading from the end -----------------------------------------------------------------

def test_tail_reads_back_into_rotations_only_as_far_as_the_window(tmp_path: Path) -> None:
    log = tmp_path / "dpkg.log"
    old = "2026-11-28 08:00:00 upgrade a:amd64 1 2\n"
    mid = "2026-11-29 08:00:00 upgrade b:amd64 1 2\n"
    new = "2026-11-30 08:00:00 upgrade c:amd64 1 2\n"
    log.write_text(new)
    (tmp_path / "dpkg.log.1").write_text(mid)
    with gzip.open(tmp_path / "dpkg.log.2.gz", "wt") as fh:
        fh.write(old)
    recent = tail_since(str(log), local("2026-11-30 00:00:00"), dpkg_time)
    # the window may reach back past the file's first line: the rotation just before it
    # says where it ends; the older one is not opened
    assert recent.lines == [new.strip()] and recent.read == [str(log), f"{log}.1"]
    everything = tail_since(str(log), local("2026-11-01 00:00:00"), dpkg_time)
    assert everything.lines == [old.strip(), mid.strip(), new.strip()]
    assert everything.read == [str(log), f"{log}.1", f"{log}.2.gz"]
    missing = tail_since(str(tmp_path / "nothing.log"), 0.0, dpkg_time)
    assert (missing.readable, missing.note) == (False, "not present")


def test_tail_is_bounded_in_bytes(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    log.write_text("2026-11-30 08:00:00 upgrade c:amd64 1 2\n" * 20000)
    tail = tail_since(str(log), 0.0, dpkg_time, max_bytes=64 * 1024)
    assert 0 < len(tail.lines) < 20000 and tail.note == "read only the newest 64 KB"


# --- kernel, services, configs, disk, deploy ---------------------------------------------

def test_oom_kills_in_a_syslog_and_an_iso_kern_log_counted_once_per_process() -> None:
    text = "\n".join(lines("kern.log"))
    window = Window(start=local("2026-11-30 09:00:00"), now=local("2026-11-30 10:00:00"),
                    first_failure=None)
    found = oom_entries(text, "/var/log/kern.log", window)
    assert [(e["details"]["pid"], e["subject"]) for e in found] == [
        (4242, "php-fpm"), (4310, "php-fpm")]
    assert found[0]["what"] == "the kernel's OOM killer killed php-fpm8.2 (4242)"
    assert found[0]["epoch"] == kernel_line_time(lines("kern.log")[0],
                                                 local("2026-11-30 10:00:00"))
    assert explains(found[0]) == ["upstream_crash", "resource_exhaustion"]


def test_journal_unit_lines_become_reload_stop_failure_crash_and_start() -> None:
    found = parse_journal("\n".join(lines("journal-units.txt")), "nginx", "nginx")
    assert [(e["kind"], e["what"]) for e in found] == [
        ("service_reload", "nginx reloaded"), ("service_stop", "nginx stopped"),
        ("service_failed", "nginx failed to start"),
        ("crash", "nginx died from a signal (9/KILL)"), ("service_start", "nginx started")]
    assert explains(found[2]) == ["nginx_not_running", "nginx_config_invalid"]
    assert explains(found[3]) == ["nginx_not_running", "resource_exhaustion"]


def test_php_fpm_stop_lines_recorded_from_php_fpm_are_one_stop() -> None:
    log = "/var/log/php8.2-fpm.log"
    events = [event(log, "php-fpm", text, None) for text in lines("php-fpm-stop.log")]
    stamp = local("2026-11-30 02:17:03")
    window = Window(start=stamp - HOUR, now=stamp + 60, first_failure=None)
    (stop,) = log_changes(events, window)
    assert (stop["kind"], stop["what"], stop["source"], stop["epoch"]) == (
        "service_stop", "PHP-FPM stopped", log, stamp)
    assert explains(stop) == ["php_fpm_down"]


def test_config_changed_after_the_master_started_is_pending(tmp_path: Path) -> None:
    now = time.time()
    started = now - 600
    pending, used, old = (tmp_path / n for n in ("pending.conf", "used.conf", "old.conf"))
    for path, when in ((pending, now - 60), (used, now - 900), (old, now - 30 * HOUR)):
        path.write_text("x")
        os.utime(path, (when, when))
    window = Window(start=now - 6 * HOUR, now=now, first_failure=None)
    found = file_changes("nginx", "nginx", [str(pending), str(used), str(old)], started,
                         window, test_ok=False, addresses={str(pending)})
    assert [(e["kind"], e["source"]) for e in found] == [
        ("config_pending", str(pending)), ("config", str(used))]
    assert "was changed after nginx started at" in found[0]["what"]
    assert found[0]["what"].endswith("a reload or restart of nginx would fail")
    # the file with the fastcgi_pass line can point nginx elsewhere; any file nginx -t
    # rejects fails the next reload
    assert explains(found[0]) == ["nginx_config_invalid", "upstream_address_mismatch"]
    assert explains(found[1]) == ["nginx_config_invalid"]
    # a file written within a second of the start is not taken for a later change
    pending_too = file_changes("nginx", "nginx", [str(pending)], now - 60.5, window, None)
    assert pending_too[0]["kind"] == "config"


def test_disk_shortage_thresholds() -> None:
    gib = 1024 ** 3
    assert shortage({"path": "/var", "total": 100 * gib, "free": 1 * gib}) == \
        "/var is nearly full: 1.0 GB free of 100.0 GB"
    assert shortage({"path": "/", "total": 2 * gib, "free": 50 * 1024 ** 2}) is not None
    assert shortage({"path": "/", "total": 100 * gib, "free": 10 * gib}) is None
    assert "inodes" in str(shortage({"path": "/tmp", "total": gib, "free": gib,
                                     "inodes_total": 1000, "inodes_free": 3}))


def test_deploy_counts_files_changed_in_the_window_and_skips_caches(tmp_path: Path) -> None:
    now = time.time()
    root = tmp_path / "shop"
    (root / "src").mkdir(parents=True)
    (root / "var" / "cache").mkdir(parents=True)
    for n in range(3):
        (root / "src" / f"{n}.php").write_text("<?php")
    (root / "var" / "cache" / "c.php").write_text("x")  # rewritten all day: not a deploy
    (root / "index.php").write_text("<?php")
    os.utime(root / "index.php", (now - 30 * HOUR, now - 30 * HOUR))
    (root / "link.php").symlink_to("/etc/passwd")
    window = Window(start=now - 6 * HOUR, now=now, first_failure=None)
    times, cut_short = modified_times(str(root), window)
    (entry,) = entries_for(str(root), times, cut_short)
    assert entry["what"].startswith(f"3 files under {root} changed ")
    assert explains(entry) == ["script_not_found", "file_permission", "upstream_crash"]


def test_only_the_servers_of_the_diagnosed_site_count() -> None:
    """Another nginx or PHP-FPM on the host (another site, a test) has its own history."""
    nginx = {"conf_path": "/srv/a/nginx.conf", "build": {"conf_path": "/etc/nginx/nginx.conf"},
             "master_pids": [10, 20, 30],
             "instances": [{"pid": 10, "c": "/srv/a/nginx.conf"},
                           {"pid": 20, "c": "nginx.conf", "p": "/srv/a/"},
                           {"pid": 30}],  # no -c: the compiled-in /etc/nginx/nginx.conf
             "passes": [{"kind": "fastcgi", "socket": "/run/php/a.sock"}]}
    assert nginx_masters(nginx) == [10, 20]
    phpfpm = {"configs": [{"conf": "/etc/a/php-fpm.conf"}, {"conf": "/etc/b/php-fpm.conf"}],
              "pools": [{"conf": "/etc/a/php-fpm.conf", "socket": "/run/php/a.sock"},
                        {"conf": "/etc/b/php-fpm.conf", "socket": "/run/php/b.sock"}]}
    assert phpfpm_confs(nginx, phpfpm) == {"/etc/a/php-fpm.conf"}
    elsewhere = {**nginx, "passes": [{"kind": "fastcgi", "socket": "/run/php/c.sock"}]}
    assert phpfpm_confs(elsewhere, phpfpm) == {"/etc/a/php-fpm.conf", "/etc/b/php-fpm.conf"}


def test_window_starts_a_lead_before_the_first_failure_bounded_by_since() -> None:
    now = 1_800_000_000.0
    nginx_failure = {"kind": "nginx", "causes": ["php_fpm_down"], "epoch": now - 600}
    notice = {"kind": "php-fpm", "causes": ["php_fpm_down"], "epoch": now - 900}
    window = window_for([notice, nginx_failure], since_seconds=HOUR, now=now)
    assert (window.first_failure, window.start) == (now - 600, now - 600 - 6 * HOUR)
    quiet = window_for([], since_seconds=HOUR, now=now)
    assert (quiet.first_failure, quiet.start) == (None, now - 6 * HOUR)


def test_a_source_that_fails_is_a_note_not_an_error(monkeypatch: pytest.MonkeyPatch,
                                                    recorded: Callable[..., Facts]) -> None:
    def broken(facts: Facts, window: Window) -> tuple[list[dict[str, Any]], list[str]]:
        raise PermissionError("[Errno 13] Permission denied: '/var/log/dpkg.log'")

    monkeypatch.setattr(changes, "SOURCES", (("package logs", broken),))
    window = Window(start=0.0, now=1.0, first_failure=None)
    result = changes.gather(recorded({}), window)
    assert result["entries"] == []
    assert result["notes"] == ["package logs: could not be read (PermissionError: [Errno 13] "
                               "Permission denied: '/var/log/dpkg.log')"]


# --- the check over recorded facts ------------------------------------------------------

NOW = 1_800_000_000.0
FAILURE = NOW - 240


def change(ago: float, kind: str, what: str, subject: str | None = None,
           source: str = "/var/log/dpkg.log", **details: Any) -> dict[str, Any]:
    return {"epoch": NOW - ago, "source": source, "kind": kind, "what": what,
            "subject": subject, "details": details}


REPLACED = change(40 * 60, "package", "php8.1-fpm replaced by php8.2-fpm", "php_fpm",
                  roles=["php_fpm"], replaced=[["php8.1-fpm", "php8.2-fpm"]])
DEPLOY = change(30 * 60, "deploy", "42 files under /var/www/shop changed 10:01-10:03",
                "site", source="/var/www/shop")
STARTED = change(6 * 60, "service_start", "nginx's master process (812) started", "nginx",
                 source="process start time")
AFTER = change(60, "service_stop", "PHP-FPM stopped", "php-fpm",
               source="/var/log/php8.2-fpm.log")


def changes_fact(*entries: dict[str, Any], failure: float | None = FAILURE,
                 notes: list[str] | None = None) -> dict[str, Any]:
    return {"now": NOW, "window": {"start": NOW - 7 * HOUR, "now": NOW,
                                   "first_failure": failure, "lead_seconds": 6 * HOUR},
            "entries": list(entries), "notes": notes or []}


def test_check_names_the_most_telling_change_and_lists_all_oldest_first(
        recorded: Callable[..., Facts]) -> None:
    result = recent_changes(recorded({"changes": changes_fact(STARTED, AFTER, DEPLOY,
                                                              REPLACED)}))
    assert result.result == "changed"
    assert result.summary == ("php8.1-fpm replaced by php8.2-fpm (40 minutes ago, 36 minutes "
                              "before the first failure); 3 other changes listed")
    assert result.causes == []  # it explains causes; it never names one
    listed = result.vars["change_entries"]
    assert [e["what"] for e in listed] == [REPLACED["what"], DEPLOY["what"], STARTED["what"],
                                           AFTER["what"]]
    assert listed[0]["explains"] == ["php_fpm_down", "upstream_address_mismatch"]
    assert listed[2]["explains"] == []  # a start is context
    assert [e["after_failure"] for e in listed] == [False, False, False, True]
    assert listed[0]["ago"] == "40 minutes ago" and listed[0]["time"].startswith("2027-01-15")
    assert result.vars["change_list"].splitlines()[-1].endswith(
        "PHP-FPM stopped (1 minute ago, after the first failure)")
    assert [ev.source for ev in result.evidence] == ["file", "file", "process", "file"]


def test_nothing_telling_changed_is_ok_and_says_so(recorded: Callable[..., Facts]) -> None:
    result = recent_changes(recorded({"changes": changes_fact(STARTED)}))
    assert result.result == "none"
    assert result.summary == ("nothing changed in the 6 hours before the first failure at "
                              f"{time.strftime('%H:%M', time.localtime(FAILURE))} that "
                              "usually causes a 502 (1 other change listed)")
    empty = recent_changes(recorded({"changes": changes_fact(failure=None)}))
    assert (empty.result, empty.vars["change_anchor"]) == ("none", "now")


def test_a_full_disk_is_a_state_measured_now_not_an_event_after_the_failure(
        recorded: Callable[..., Facts]) -> None:
    full = change(0, "disk_full", "/var is nearly full: 80.0 MB free of 20.0 GB", "disk",
                  source="statvfs")
    result = recent_changes(recorded({"changes": changes_fact(STARTED, full)}))
    assert result.summary == ("/var is nearly full: 80.0 MB free of 20.0 GB (measured now); "
                              "1 other change listed")
    (entry,) = [e for e in result.vars["change_entries"] if e["kind"] == "disk_full"]
    assert entry["after_failure"] is False and entry["explains"] == ["resource_exhaustion"]
    assert result.evidence[-1] == Evidence("probe", f"{entry['time'][11:16]} {full['what']} "
                                                    "(statvfs)")


def test_a_stop_followed_by_a_start_is_not_the_most_telling(
        recorded: Callable[..., Facts]) -> None:
    stop = change(50 * 60, "service_stop", "PHP-FPM stopped", "php-fpm")
    start = change(49 * 60, "service_start", "PHP-FPM's master process (9) started", "php-fpm")
    result = recent_changes(recorded({"changes": changes_fact(stop, start, DEPLOY)}))
    assert result.summary.startswith(DEPLOY["what"])


def test_the_flow_texts_of_every_result_fill_every_placeholder(
        recorded: Callable[..., Facts]) -> None:
    node = load_flow(builtin_flow_dir() / "nginx-502.yaml").node("why_now")
    unread = ["/var/log/kern.log: needs root to read"]
    for fact in (changes_fact(REPLACED, AFTER), changes_fact(STARTED),
                 changes_fact(notes=unread)):
        result = recent_changes(recorded({"changes": fact}))
        outcome = node.on[result.result]
        text = fill(outcome.text, {**result.vars, "summary": result.summary})
        assert unresolved(text) == [], text
        assert ("Not read: /var/log/kern.log: needs root to read." in text) == (fact["notes"]
                                                                                == unread)
        assert outcome.cause is None and outcome.next == "done"


def test_why_now_is_the_last_check_and_adds_no_cause() -> None:
    flow = load_flow(builtin_flow_dir() / "nginx-502.yaml")
    node = flow.node("why_now")
    assert node.check == "changes.recent"
    leading_to_done = [n.id for n in flow.nodes if n.kind in ("check", "ask")
                       and "done" in [o.next for o in [*n.on.values(), n.default] if o]
                       + [c.next for c in n.choices]]
    assert leading_to_done == ["why_now"]
    assert all(o.cause is None for o in [*node.on.values(), node.default] if o)


# --- the report's section -----------------------------------------------------------------

def php_down_check(facts: Facts) -> CheckResult:
    return CheckResult("bad", "PHP-FPM is not running",
                       evidence=[Evidence("process", "no php-fpm master process")])


def report_over(recorded: Callable[..., Facts], fact: dict[str, Any]) -> dict[str, Any]:
    why_now = load_flow(builtin_flow_dir() / "nginx-502.yaml").node("why_now")
    flow = Flow(flow="why-now-test", title="why now", start="fpm", nodes=[
        Node(id="fpm", kind="check", check="test.fpm_down", title="PHP-FPM", on={
            "bad": Outcome(text="PHP-FPM is not running.", cause="php_fpm_down",
                           next="why_now"),
            "ok": Outcome(next="why_now")}),
        why_now,
        Node(id="done", kind="end", title="Done", text="That is all."),
    ])
    facts = recorded({"changes": fact, "system": {"service_manager": "systemd"}})
    return build_report(Session(flow, facts).run(), facts)


def test_report_ties_a_change_to_a_present_cause_and_not_to_an_absent_one(
        test_checks: Callable[..., None], recorded: Callable[..., Facts]) -> None:
    test_checks("test.fpm_down", php_down_check)
    report = report_over(recorded, changes_fact(AFTER, REPLACED, DEPLOY))
    assert [c["id"] for c in report["causes"]] == ["php_fpm_down"]
    data = json.loads(render(report, "json"))["changes"]
    assert [sorted(c) for c in data] == [["explains", "source", "time", "what"]] * 3
    assert [c["what"] for c in data] == [REPLACED["what"], DEPLOY["what"], AFTER["what"]]
    # the replacement can explain PHP-FPM down (found) and a wrong address (not found)
    assert data[0]["explains"] == ["php_fpm_down"]
    assert data[1]["explains"] == []  # a deploy explains none of the causes found
    assert data[0]["source"] == "/var/log/dpkg.log"


def test_report_text_and_markdown_say_what_changed_in_words(
        test_checks: Callable[..., None], recorded: Callable[..., Facts]) -> None:
    test_checks("test.fpm_down", php_down_check)
    report = report_over(recorded, changes_fact(REPLACED, DEPLOY))
    text = render(report, "text")
    section = text[text.index("What changed before it broke:"):]
    shown_at = time.strftime("%Y-%m-%d %H:%M", time.localtime(REPLACED["epoch"]))
    assert f"  {shown_at}  php8.1-fpm replaced by php8.2-fpm (/var/log/dpkg.log)\n" in section
    assert "-> likely why: PHP-FPM is not running\n" in section
    assert section.count("likely why") == 1
    assert shown(text, internal_names(report)) == []
    markdown = render(report, "markdown")
    assert "## What changed before it broke" in markdown
    assert "**-> likely why: PHP-FPM is not running**" in markdown
    assert shown(markdown, internal_names(report)) == []


def test_report_with_nothing_changed_has_no_section(
        test_checks: Callable[..., None], recorded: Callable[..., Facts]) -> None:
    test_checks("test.fpm_down", php_down_check)
    report = report_over(recorded, changes_fact())
    assert report["changes"] == []
    assert "What changed before it broke" not in render(report, "text")


# --- the TUI ------------------------------------------------------------------------------

def tui_flow() -> Flow:
    flow = load_flow(builtin_flow_dir() / "nginx-502.yaml")
    return Flow(flow="why-now-tui", title="why now", start="why_now",
                nodes=[flow.node("why_now"), flow.node("done")])


@pytest.mark.parametrize("fact", [changes_fact(REPLACED, DEPLOY, STARTED, AFTER),
                                  changes_fact(STARTED)], ids=["changed", "none"])
async def test_the_step_fits_an_80x24_terminal(fact: dict[str, Any], tmp_path: Path,
                                               recorded: Callable[..., Facts]) -> None:
    facts = recorded({"changes": fact, "system": {"service_manager": "systemd"},
                      "processes": []})
    app = WizardApp(tui_flow(), facts, transcript_path=tmp_path / "t.json",
                    from_snapshot=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await drive(pilot, ["enter", "enter", "k"])  # past the answer first
        step = app.session.transcript.steps[0]
        assert step.status in (Status.WARNING, Status.OK)
        text = screen_text(app)
        assert "What changed" in text
        words = " ".join(text.split())
        first_line = step.text.splitlines()[0]
        for word in first_line.split()[:8]:
            assert word in words, (word, text)
        assert max(len(line) for line in text.splitlines()) <= 80
