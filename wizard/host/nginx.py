"""Fact `nginx`: where nginx is, whether it runs, what its config says and whether
`nginx -t` accepts it. Shape documented in notes/NGINX_FACT.md; every key is always present.

The crossplane parse is trusted only when `nginx -t` passes (or cannot run and crossplane
saw no error): crossplane misses some errors nginx rejects and leaves a file empty on
others, so when `nginx -t` fails its message is the finding.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from wizard.host.distro_layouts import layout_named
from wizard.host.facts import Facts, fact
from wizard.host.gc_pause import gc_paused
from wizard.host.nginx_config import ParsedConfig, parse_config, summarize
from wizard.host.nginx_discover import (
    BuildInfo,
    build_info,
    choose_conf,
    find_binary,
    master_args,
    masters_and_workers,
    test_config,
)


def worker_user(configured: str | None, masters: list[dict[str, Any]],
                workers: list[dict[str, Any]], build: BuildInfo,
                packaged_user: str | None = None) -> tuple[str | None, str]:
    """Who nginx's workers run as, and where that came from.

    The `user` directive counts only when the master runs as root; a master started by
    another user keeps that user for its workers (nginx ignores the directive then)."""
    running_users = [w.get("username") for w in workers if w.get("username")]
    master_root = any(m.get("username") == "root" for m in masters)
    if running_users and masters and not master_root:
        return running_users[0], "running workers"
    if configured:
        return configured, "user directive"
    if running_users:
        return running_users[0], "running workers"
    # nginx -V names --user only when the build set it; a distro's package always does
    # (Arch: http, RHEL and Alpine: nginx), so its packaged user beats nginx's own nobody.
    return build.user or packaged_user or "nobody", "compiled default"


def instances(masters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"pid": m["pid"], "username": m.get("username"), "started": m.get("create_time"),
             "cmdline": " ".join(m.get("cmdline") or []), **master_args(m)} for m in masters]


@fact("nginx")
def nginx_facts(facts: Facts) -> dict[str, Any]:
    processes = facts.try_get("processes", []) or []
    system = facts.try_get("system", {}) or {}
    masters, workers = masters_and_workers(processes)
    binary = find_binary(masters)
    build = build_info(binary)
    choice = choose_conf(facts.options.nginx_conf, masters, build)
    # nginx -t runs in its own process meanwhile: on a config of thousands of files the
    # two take about as long, and the machine has a core for each; the summary is made
    # in that time too. The test stays in this thread so the session's command log
    # records it.
    with gc_paused(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="nginx-parse"
                                         ) as pool:
        reading = pool.submit(_read_config, choice.conf_path, choice.prefix,
                              build.error_log_path)
        test = test_config(binary, choice.conf_path, choice.prefix
                           if choice.source != "default" else None,
                           bool(system.get("is_root", False)))
        parsed, summary = reading.result()
    conf_found = bool(parsed.files)
    layout = layout_named(system.get("family"))
    user, user_source = worker_user(summary.pop("configured_user"), masters, workers, build,
                                    layout.nginx_user if layout else None)
    return {
        "installed": binary is not None or conf_found,
        "binary": binary,
        "version": build.version,
        "running": bool(masters),
        "master_pids": [m["pid"] for m in masters],
        "worker_user": user,
        "worker_user_source": user_source,
        "worker_pids": [w["pid"] for w in workers],
        "conf_path": choice.conf_path,
        "prefix": choice.prefix,
        "conf_source": choice.source,
        "instances": instances(masters),
        "build": {"prefix": build.prefix, "conf_path": build.conf_path,
                  "error_log_path": build.error_log_path, "user": build.user},
        "test": test,
        "parse_ok": parse_trusted(test, parsed),
        "parse_errors": parsed.errors,
        **summary,
    }


def _read_config(conf_path: str, prefix: str | None, compiled_error_log: str | None
                 ) -> tuple[ParsedConfig, dict[str, Any]]:
    parsed = parse_config(conf_path)
    return parsed, summarize(parsed, prefix, compiled_error_log)


def parse_trusted(test: dict[str, Any], parsed: ParsedConfig) -> bool:
    if not parsed.files:
        return False
    if test["ok"] is True:
        return True
    return test["ok"] is None and not parsed.errors
