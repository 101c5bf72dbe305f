"""The command line as scripts use it: exit codes, one-line errors, the JSON contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.cli import main

CAUSE_IDS = {
    "nginx_not_running", "nginx_config_invalid", "port_conflict", "php_fpm_down",
    "upstream_address_mismatch", "upstream_down", "socket_permission", "php_fpm_timeout",
    "upstream_timeout", "upstream_crash", "upstream_closed", "header_too_big", "upstream_tls",
    "upstream_dns", "invalid_response", "php_fpm_saturated", "resource_exhaustion",
    "firewall_blocking", "server_name_mismatch", "dns_resolution", "file_permission",
    "script_not_found", "mac_denied",
}


def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wizard", *args], input=stdin,
                          capture_output=True, text=True, timeout=120, check=False)


def assert_contract_shape(report: dict) -> None:  # type: ignore[type-arg]
    assert report["tool"]["name"] == "nginx-502-wizard"
    assert set(report["host"]) >= {"distro", "distro_version", "family", "service_manager",
                                   "firewall"}
    assert report["host"]["service_manager"] in {"systemd", "sysvinit", "openrc", "none"}
    assert report["host"]["firewall"] in {"ufw", "firewalld", "nftables", "iptables", "none"}
    for item in report["causes"]:
        assert item["id"] in CAUSE_IDS
        assert item["title"] and item["explanation"]
        for ev in item["evidence"]:
            assert ev["source"] in {"error_log", "command", "file", "probe", "process"}
        for fix in item["fixes"]:
            assert set(fix) == {"id", "title", "needs_root", "commands"}
            assert all(isinstance(a, list) and all(isinstance(x, str) for x in a)
                       for a in fix["commands"])
    for step in report["steps"]:
        assert set(step) >= {"node", "title", "status", "summary"}  # the contract may grow
        assert set(step["causes"]) <= CAUSE_IDS
    for item in report["history"]:
        assert set(item) == {"source", "detail", "why"} and item["why"]
        assert step["status"] in {"ok", "problem", "warning", "unknown", "skipped"}


def test_diagnose_json_on_this_host_has_the_contract_shape(tmp_path: Path) -> None:
    snap = tmp_path / "facts.json"
    done = cli("diagnose", "--format", "json", "--save-snapshot", str(snap))
    assert done.returncode in (0, 1), done.stderr
    report = json.loads(done.stdout)
    assert report["flow"] == "nginx-502"
    assert_contract_shape(report)
    # Replaying the saved facts gives the same diagnosis without touching the host.
    replay = cli("diagnose", "--format", "json", "--from-snapshot", str(snap))
    assert replay.returncode == done.returncode
    replayed = json.loads(replay.stdout)
    assert Path(report.pop("transcript")).is_file()
    assert Path(replayed.pop("transcript")).is_file()
    assert replayed == report


def test_diagnose_on_a_host_without_nginx_says_so(tmp_path: Path) -> None:
    snap = {"format": 1, "facts": {"processes": [], "system": {}, "firewall": {}},
            "errors": {"nginx": "nginx is not installed (no nginx program or nginx.conf)"}}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(snap))
    done = cli("diagnose", "--format", "json", "--from-snapshot", str(path))
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert_contract_shape(report)
    text = json.dumps(report).lower()
    assert "not installed" in text or "not running" in text


@pytest.mark.parametrize("args, message", [
    (["diagnose", "--since", "soon"], "not a duration: 'soon'"),
    (["diagnose", "--answer", "oops"], "expected NODE=CHOICE"),
    (["diagnose", "--format", "yaml"], "invalid choice: 'yaml'"),
    (["diagnose", "--flow", "no-such-flow"], "no flow by that name"),
    (["diagnose", "--from-snapshot", "/nonexistent/s.json"], "cannot read snapshot"),
    (["diagnose", "--flows", "/nonexistent/dir"], "--flows folder does not exist"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_usage_is_one_line_and_exit_2(args: list[str], message: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_broken_flow_file_is_one_line_with_file_and_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("flow: x\nstart: a\nnodes:\n  - id: a\n    kind: teleport\n")
    assert main(["diagnose", "--flow", str(bad)]) == 2
    assert capsys.readouterr().err == (
        f"nginx-502-wizard: {bad}:5: flow.nodes[0].kind must be one of check, ask, info, "
        "end, not 'teleport'\n")


def test_snapshot_that_is_not_a_snapshot(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.json"
    junk.write_bytes(b"\x00\x01 not json")
    assert main(["diagnose", "--from-snapshot", str(junk)]) == 2
    assert "is not a facts snapshot" in capsys.readouterr().err


def test_flows_list_and_lint(tmp_path: Path) -> None:
    listed = cli("flows", "list")
    assert listed.returncode == 0 and "nginx-502" in listed.stdout
    assert cli("flows", "lint").returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("flow: x\nstart: a\nnodes:\n  - id: a\n    kind: info\n    text: t\n"
                   "    next: b\n")
    done = cli("flows", "lint", str(bad))
    assert done.returncode == 2
    assert done.stdout == f"{bad}:4: `next: b` points to no node\n"


def test_runbook_flow_from_a_folder_with_an_answer(tmp_path: Path) -> None:
    (tmp_path / "runbook.yaml").write_text(
        "flow: runbook\nstart: q\nnodes:\n"
        "  - id: q\n    kind: ask\n    title: Deploy?\n    question: Deployed today?\n"
        "    default_choice: 'no'\n    choices:\n"
        "      - {key: 'yes', label: 'Yes', cause: upstream_crash, text: 'Roll back.'}\n"
        "      - {key: 'no', label: 'No'}\n")
    done = cli("diagnose", "--flows", str(tmp_path), "--flow", "runbook",
               "--answer", "q=yes", "--format", "json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["causes"][0]["id"] == "upstream_crash"
    assert report["causes"][0]["explanation"] == "Roll back."
    assert cli("diagnose", "--flows", str(tmp_path), "--flow", "runbook").returncode == 0


def test_markdown_and_text_formats() -> None:
    md = cli("diagnose", "--format", "markdown")
    assert md.stdout.startswith("# 502 diagnosis (nginx-502)")
    text = cli("diagnose")
    assert "Steps:" in text.stdout


def test_version_and_module_entry_point() -> None:
    done = cli("--version")
    assert done.returncode == 0 and done.stdout.startswith("nginx-502-wizard ")
    env = {**os.environ, "NO_COLOR": "1"}
    assert subprocess.run([sys.executable, "-m", "wizard", "flows", "list"], env=env,
                          capture_output=True, timeout=60, check=False).returncode == 0


def stopped_nginx_snapshot(tmp_path: Path) -> Path:
    """Facts of a host whose nginx is stopped, with systemd: `service.start:nginx` is offered."""
    snap = tmp_path / "s.json"
    snap.write_text(json.dumps({"format": 1, "facts": {
        "processes": [], "system": {"service_manager": "systemd"}, "firewall": {}}}))
    return snap


def test_fix_from_a_snapshot_prints_the_plan_and_says_it_cannot_run_here(
        tmp_path: Path) -> None:
    snap = stopped_nginx_snapshot(tmp_path)
    transcript = tmp_path / "t.json"
    done = cli("diagnose", "--from-snapshot", str(snap), "--fix", "service.start:nginx",
               "--transcript", str(transcript))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Planned from the snapshot {snap}, not from this host: "
                                  "it cannot be applied here.\nFix: Start nginx\n")
    assert "  $ systemctl start nginx\n" in done.stdout
    assert done.stdout.endswith("Nothing was run. To apply it, run the diagnosis on the host "
                                "itself, without --from-snapshot.\n")
    assert "--yes" not in done.stdout  # it does not invite running it here
    saved = json.loads(transcript.read_text())
    assert saved["transcript"]["fixes"] == []
    assert saved["report"]["causes"][0]["id"] == "nginx_not_running"
    wrong = cli("diagnose", "--from-snapshot", str(snap), "--fix", "service.start:apache")
    assert wrong.returncode == 2
    assert "no fix 'service.start:apache' was offered" in wrong.stderr


def test_fix_with_yes_from_a_snapshot_is_refused_before_anything_runs(
        tmp_path: Path) -> None:
    """The plan names what the snapshot's host had: running it here could change the
    wrong service, port or file. One line on stderr, exit 2, no plan, no transcript."""
    snap = stopped_nginx_snapshot(tmp_path)
    transcript = tmp_path / "t.json"
    done = cli("diagnose", "--from-snapshot", str(snap), "--fix", "service.start:nginx",
               "--yes", "--transcript", str(transcript))
    assert done.returncode == 2
    assert done.stderr == ("nginx-502-wizard: cannot run a fix planned from a snapshot: its "
                           "commands were made from recorded facts, not this host (leave "
                           "out --yes to see the plan)\n")
    assert done.stdout == ""
    assert not transcript.exists()


def test_help_says_what_fix_does_with_a_snapshot() -> None:
    done = cli("diagnose", "--help")
    text = " ".join(done.stdout.split())  # argparse wraps lines where it likes
    assert "fixes are then planned and shown, never run" in text
    assert "With --from-snapshot the plan is printed only" in text
    assert "--yes is refused (exit 2)" in text


def test_text_and_markdown_reports_name_no_ids(tmp_path: Path) -> None:
    snap = stopped_nginx_snapshot(tmp_path)
    report = json.loads(cli("diagnose", "--from-snapshot", str(snap), "--format",
                            "json").stdout)
    # Cause and fix ids (and the fix's action). Node ids of this flow are plain words
    # ("ports"), and check ids are covered by tests/unit/test_report_words.py.
    ids = [c["id"] for c in report["causes"]] + [
        f["id"] for c in report["causes"] for f in c["fixes"]] + ["service.start"]
    assert "nginx_not_running" in ids and "service.start:nginx" in ids  # JSON keeps them
    for fmt in ("text", "markdown"):
        out = cli("diagnose", "--from-snapshot", str(snap), "--format", fmt).stdout
        assert "nginx is not running" in out and "Start nginx" in out
        assert [name for name in ids if name in out] == [], fmt


def test_options_without_a_subcommand_mean_the_tui() -> None:
    from wizard.cli import _default_to_tui

    assert _default_to_tui([]) == ["tui"]
    assert _default_to_tui(["--url", "http://x/"]) == ["tui", "--url", "http://x/"]
    assert _default_to_tui(["--version"]) == ["--version"]
    assert _default_to_tui(["diagnose"]) == ["diagnose"]
