"""Check `permissions.docroot`: may the PHP-FPM and nginx users reach the document root
and read the PHP files?"""

from __future__ import annotations

from wizard.checks.base import check
from wizard.host.facts import Facts, FactUnavailable
from wizard.outcome import DIRECT, CheckResult, Evidence, Status

_NEEDS = {"x": "enter (x)", "r": "read (r)"}


@check("permissions.docroot", results={"ok": Status.OK, "unreadable": Status.PROBLEM},
       facts=("docroot_permissions",), causes=("file_permission",))
def permissions_docroot(facts: Facts) -> CheckResult:
    """Can the PHP-FPM pool user and nginx's user traverse to and read the site's files?"""
    try:
        perms = facts.get("docroot_permissions")
    except FactUnavailable as exc:
        return CheckResult("unknown", f"file permissions could not be read: {exc}")
    entries = perms.get("entries") or []
    if not entries:
        return CheckResult("skipped", "no document root (root directive) is known")
    blocked = [e for e in entries if e.get("blocking")]
    if blocked:
        first, block = blocked[0], blocked[0]["blocking"]
        acl = " (it has an ACL, which may still allow it)" if block.get("acl") else ""
        return CheckResult(
            "unreadable",
            f"{first['user']} ({first['role']}) may not {_NEEDS[block['need']]} {block['path']}"
            f" (mode {block['mode']}, owner {block['owner']}){acl}, so it cannot reach"
            f" {first['path']}",
            vars={"path": block["path"], "user": first["user"], "mode": block["mode"],
                  "owner": block["owner"], "target": first["path"], "need": block["need"],
                  "role": first["role"]},
            evidence=[Evidence("file", f"{e['blocking']['path']}: mode {e['blocking']['mode']}"
                                       f" owner {e['blocking']['owner']}; {e['user']} needs"
                                       f" {e['blocking']['need']} to reach {e['path']}")
                      for e in blocked],
            confidence=DIRECT if not block.get("acl") else 1, causes=["file_permission"])
    problems = [e["error"] for e in entries if e.get("error")]
    if problems and len(problems) == len(entries):
        return CheckResult("unknown", problems[0])
    checked = sorted({e["path"] for e in entries if e.get("exists")})
    users = sorted({e["user"] for e in entries if not e.get("error")})
    return CheckResult("ok", f"{', '.join(users)} can reach {', '.join(checked) or 'the roots'}",
                       vars={"paths": ", ".join(checked), "users": ", ".join(users)},
                       evidence=[Evidence("file", p) for p in problems])
