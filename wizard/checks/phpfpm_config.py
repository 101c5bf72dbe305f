"""Check `phpfpm.config_valid`: does PHP-FPM accept the configuration of the pool nginx
passes PHP to? A pool file with a syntax error (`[www` without its `]`, a line with no
`=`, `pm.max_children =` with nothing after it) makes PHP-FPM refuse to start, or to
restart: then the mistake, at its file and line, is the cause, and "PHP-FPM is not
running" only its consequence."""

from __future__ import annotations

from typing import Any

from wizard.checks.base import check
from wizard.checks.phpfpm import fastcgi_targets, is_local
from wizard.host.facts import Facts
from wizard.host.phpfpm import pool_for_target
from wizard.outcome import DIRECT, CheckResult, Evidence, Status


def _serving_configs(facts: Facts) -> list[dict[str, Any]] | None:
    """The PHP-FPM configs that may serve nginx's local fastcgi_pass: the one whose pool
    listens there, else every config (a broken pool file may hide the pool itself).
    None when nginx passes nothing to a local PHP-FPM."""
    targets = [t for t in fastcgi_targets(facts) if not t["skip"] and is_local(t)]
    if not targets:
        return None
    fpm = facts.get("phpfpm")
    configs = fpm.get("configs") or []
    for target in targets:
        pool = pool_for_target(fpm.get("pools") or [], target.get("socket"),
                               target.get("host"), target.get("port"))
        if pool is not None:
            return [c for c in configs if c.get("conf") == pool.get("conf")]
    return configs


def _place(problem: dict[str, Any]) -> str:
    line = problem.get("line")
    return f"{problem.get('file')}, line {line}" if line else str(problem.get("file"))


def _evidence(config: dict[str, Any], problems: list[dict[str, Any]]) -> list[Evidence]:
    found = [Evidence("file", f"{p.get('file')}:{p.get('line') or '?'}: {p['text']}")
             for p in problems if p.get("text")]
    test = config.get("test") or {}
    if test.get("output"):
        argv = f"{config.get('binary') or 'php-fpm'} -tt -y {config.get('conf')}"
        found.append(Evidence("command", f"{argv}\n{test['output']}".strip()))
    return found


@check("phpfpm.config_valid",
       results={"ok": Status.OK, "invalid": Status.PROBLEM, "invalid_loaded": Status.WARNING},
       facts=("nginx", "phpfpm"), causes=("php_fpm_config_invalid",))
def phpfpm_config_valid(facts: Facts) -> CheckResult:
    """Does PHP-FPM accept its configuration (php-fpm -t), or which line stops it?"""
    configs = _serving_configs(facts)
    if configs is None:
        return CheckResult("skipped", "nginx passes PHP to no PHP-FPM on this host")
    broken = [c for c in configs if c.get("problems") or (c.get("test") or {}).get("ok")
              is False]
    if not broken:
        tested = [c["conf"] for c in configs if (c.get("test") or {}).get("ok")]
        if not tested:
            return CheckResult("unknown", "PHP-FPM's configuration test could not run: " + (
                "; ".join(str((c.get("test") or {}).get("reason")) for c in configs)
                or "no PHP-FPM config was found"))
        return CheckResult("ok", f"PHP-FPM accepts its configuration ({', '.join(tested)})",
                           vars={"conf": tested[0]})
    config = broken[0]
    problems = config.get("problems") or [{"file": config.get("conf"), "line": None,
                                           "text": None, "said": None,
                                           "words": "php-fpm -t fails"}]
    first = problems[0]
    binary = config.get("binary") or "php-fpm"
    said = f" (PHP-FPM says: {first['said']})" if first.get("said") else ""
    vars_ = {"service": config.get("service"), "conf": config.get("conf"),
             "file": first.get("file"), "line": first.get("line"), "where": _place(first),
             "message": first["words"], "said": first.get("said") or "",
             "count": len(problems),
             "test_command": f"{binary} -t -y {config.get('conf')}"}
    others = f"; {len(problems) - 1} more mistake(s) below it" if len(problems) > 1 else ""
    summary = f"{_place(first)}: {first['words']}{said}{others}"
    if config.get("running"):
        return CheckResult("invalid_loaded", f"PHP-FPM runs, but a restart would fail: "
                                             f"{summary}", vars=vars_,
                           evidence=_evidence(config, problems))
    return CheckResult("invalid", f"PHP-FPM cannot start: {summary}", vars=vars_,
                       evidence=_evidence(config, problems), confidence=DIRECT,
                       causes=["php_fpm_config_invalid"])
