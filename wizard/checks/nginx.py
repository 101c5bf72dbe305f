"""Checks about nginx itself: installed, running, and whether `nginx -t` accepts its config."""

from __future__ import annotations

from typing import Any

from wizard.checks.base import check
from wizard.checks.ports import foreign_holder, runs_this_config
from wizard.host.changes_scope import nginx_masters
from wizard.host.facts import Facts
from wizard.host.processes import named
from wizard.outcome import CIRCUMSTANTIAL, DIRECT, CheckResult, Evidence, Status

SERVICE = "nginx"  # the unit / init script name on Debian, Ubuntu, RHEL, Alpine and Arch


@check("nginx.installed", results={"ok": Status.OK, "missing": Status.PROBLEM},
       facts=("nginx",))
def nginx_installed(facts: Facts) -> CheckResult:
    """Is there an nginx binary or config on this host?"""
    info = facts.get("nginx")
    if not info["installed"]:
        return CheckResult("missing", "no nginx program and no nginx config were found",
                           vars={"service": SERVICE, "conf_path": info.get("conf_path")},
                           confidence=DIRECT,
                           evidence=[Evidence("command", "nginx not found on PATH or in sbin")])
    binary = info.get("binary") or "(no binary found)"
    version = info.get("version") or "unknown version"
    return CheckResult(
        "ok", f"nginx {version} at {binary}, config {info.get('conf_path')}",
        vars={"binary": binary, "version": version, "conf_path": info.get("conf_path"),
              "conf_source": info.get("conf_source")},
        evidence=[Evidence("command", f"{binary} -V: nginx/{version}")])


@check("nginx.running", results={"ok": Status.OK, "stopped": Status.PROBLEM},
       facts=("processes", "nginx", "listening"), causes=("nginx_not_running",))
def nginx_running(facts: Facts) -> CheckResult:
    """Is an nginx master process running?"""
    # psutil may split nginx's rewritten title into words: look at it joined.
    masters = [p for p in named(facts.get("processes"), "nginx")
               if "master process" in " ".join(p.get("cmdline") or [])]
    if not masters:
        return _stopped(facts)
    # Another nginx on the host (a second site, a test instance) does not serve this
    # config: it must not pass for the one that was never started.
    nginx = facts.try_get("nginx") or {}
    if nginx.get("instances") and not runs_this_config(nginx):
        return _stopped(facts, others=masters)
    serving = set(nginx_masters(nginx))
    masters = [p for p in masters if p["pid"] in serving] or masters
    pids = ", ".join(str(p["pid"]) for p in masters)
    return CheckResult("ok", f"nginx master running (pid {pids})",
                       vars={"pid": pids, "service": SERVICE},
                       evidence=[Evidence("process", " ".join(masters[0]["cmdline"]))])


def _stopped(facts: Facts, others: list[dict[str, Any]] | None = None) -> CheckResult:
    """nginx is down. When a later check can name why it cannot start (its config is
    rejected, another program holds its port), "not running" is that cause's symptom, and
    starting nginx is not the fix: it is ranked below that cause (CIRCUMSTANTIAL).
    `others`: masters that run, each with another config than the one diagnosed."""
    evidence = [Evidence("process", "no process named nginx: master")]
    stopped = "no nginx master process is running"
    if others:
        conf = (facts.try_get("nginx") or {}).get("conf_path")
        count = ("another nginx runs with another config" if len(others) == 1 else
                 f"{len(others)} other nginx masters run with other configs")
        stopped = f"no nginx master process runs with {conf} ({count})"
        evidence = [Evidence("process", f"no process named nginx: master runs with {conf}"),
                    Evidence("process", "other nginx masters: " + "; ".join(
                        f"pid {p['pid']}: {_title(p)}" for p in others))]
    why = _why_stopped(facts)
    if why is None:
        return CheckResult("stopped", stopped, vars={"service": SERVICE, "reason": ""},
                           confidence=DIRECT, evidence=evidence)
    return CheckResult("stopped", f"{stopped}; it cannot start: {why}",
                       vars={"service": SERVICE, "reason": why}, confidence=CIRCUMSTANTIAL,
                       evidence=evidence)


def _title(process: dict[str, Any]) -> str:
    return " ".join(process.get("cmdline") or [])


def _why_stopped(facts: Facts) -> str | None:
    """Why a stopped nginx cannot start, when the facts already show it."""
    info = facts.try_get("nginx") or {}
    if (info.get("test") or {}).get("ok") is False:
        return "nginx -t rejects its configuration"
    listening = facts.try_get("listening") or {}
    held = foreign_holder(info, listening.get("tcp") or [], running=False) if info else None
    if held is not None:
        want, sock = held
        return f"port {want.port} is held by {sock.get('process') or 'another process'}"
    return None


@check("nginx.config_valid", results={"ok": Status.OK, "invalid": Status.PROBLEM},
       facts=("nginx",), causes=("nginx_config_invalid",))
def nginx_config_valid(facts: Facts) -> CheckResult:
    """Does `nginx -t` accept the configuration?"""
    info = facts.get("nginx")
    if not info["installed"]:
        return CheckResult("skipped", "nginx is not installed", confidence=DIRECT)
    test: dict[str, Any] = info["test"]
    conf = info.get("conf_path")
    argv = " ".join(test.get("argv") or [])
    if test.get("ok") is True:
        return CheckResult("ok", f"nginx -t accepts {conf}", vars={"conf_path": conf},
                           confidence=DIRECT, evidence=[Evidence("command", argv)])
    if test.get("ok") is None:
        reason = test.get("reason") or "nginx -t could not run"
        return CheckResult("unknown", reason, vars={"conf_path": conf, "reason": reason},
                           confidence=CIRCUMSTANTIAL,
                           evidence=[Evidence("command", f"{argv}\n{test.get('output', '')}"
                                              .strip())])
    return _invalid(test, conf, argv)


def _invalid(test: dict[str, Any], conf: str | None, argv: str) -> CheckResult:
    message = test.get("message") or _last_line(test.get("output") or "") or "test failed"
    file, line = test.get("file"), test.get("line")
    where = f"{file}:{line}" if file else (conf or "the config")
    evidence = [Evidence("command", f"{argv}\n{test.get('output', '')}".strip())]
    if file:
        evidence.append(Evidence("file", where))
    return CheckResult(
        "invalid", f"nginx -t rejects the config: {message} ({where})",
        vars={"conf_path": conf, "file": file or conf, "line": line, "message": message,
              "where": where},
        evidence=evidence, confidence=DIRECT, causes=["nginx_config_invalid"])


def _last_line(text: str) -> str:
    lines = [x for x in text.splitlines() if x.strip()]
    return lines[-1] if lines else ""
