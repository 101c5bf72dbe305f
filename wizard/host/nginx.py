"""Fact `nginx`: where nginx is, whether it runs, what its config says and whether
`nginx -t` accepts it. Shape documented in notes/NGINX_FACT.md; every key is always present.

The crossplane parse is trusted only when `nginx -t` passes (or cannot run and crossplane
saw no error): crossplane misses some errors nginx rejects and leaves a file empty on
others, so when `nginx -t` fails its message is the finding.
"""

from __future__ import annotations

import threading
from typing import Any

from wizard.gc_pause import gc_paused
from wizard.host.distro_layouts import layout_named
from wizard.host.facts import Facts, fact
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


@fact("nginx_found", part_of="nginx")
def nginx_found_facts(facts: Facts) -> dict[str, Any]:
    """Which nginx and which config: what both halves of the nginx fact start from
    (`nginx -V` runs once for them)."""
    processes = facts.try_get("processes", []) or []
    masters, workers = masters_and_workers(processes)
    binary = find_binary(masters)
    build = build_info(binary)
    choice = choose_conf(facts.options.nginx_conf, masters, build)
    return {"masters": masters, "workers": workers, "binary": binary, "build": build,
            "choice": choice}


@fact("nginx_config", part_of="nginx")
def nginx_config_facts(facts: Facts) -> dict[str, Any]:
    """The nginx fact without its config test, as soon as the config is read. On a config
    of thousands of files `nginx -t` takes as long again; the facts that read only the
    config and nginx's processes (see config_part) go on meanwhile."""
    found = facts.get("nginx_found")
    system = facts.try_get("system", {}) or {}
    masters, workers, build, choice = (found["masters"], found["workers"], found["build"],
                                       found["choice"])
    with gc_paused():
        parsed, summary = _read_config(choice.conf_path, choice.prefix, build.error_log_path)
    layout = layout_named(system.get("family"))
    user, user_source = worker_user(summary.pop("configured_user"), masters, workers, build,
                                    layout.nginx_user if layout else None)
    return {
        "installed": found["binary"] is not None or bool(parsed.files),
        "binary": found["binary"],
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
        "test": None,  # the nginx fact's
        "parse_ok": None,  # the nginx fact's
        "parse_errors": parsed.errors,
        "conf_found": bool(parsed.files),
        **summary,
    }


@fact("nginx")
def nginx_facts(facts: Facts) -> dict[str, Any]:
    found = facts.get("nginx_found")
    choice = found["choice"]
    system = facts.try_get("system", {}) or {}
    # The config is read in another thread meanwhile (the nginx_config fact, which other
    # facts may have asked for already); the test stays in this thread so the session's
    # command log records it under this fact.
    reading = threading.Thread(target=facts.try_get, args=("nginx_config",),
                               name="nginx-config", daemon=True)
    reading.start()
    test = test_config(found["binary"], choice.conf_path,
                       choice.prefix if choice.source != "default" else None,
                       bool(system.get("is_root", False)))
    config = dict(facts.get("nginx_config"))
    config["test"] = test
    config["parse_ok"] = parse_trusted(test, config.pop("conf_found"), config["parse_errors"])
    return config


def _read_config(conf_path: str, prefix: str | None, compiled_error_log: str | None
                 ) -> tuple[ParsedConfig, dict[str, Any]]:
    parsed = parse_config(conf_path)
    return parsed, summarize(parsed, prefix, compiled_error_log)


def parse_trusted(test: dict[str, Any], files_found: bool,
                  errors: list[dict[str, Any]]) -> bool:
    if not files_found:
        return False
    if test["ok"] is True:
        return True
    return test["ok"] is None and not errors
