"""Facts `docroot_permissions`: can the PHP-FPM pool users and nginx's worker user reach
the document roots (x on every parent folder) and read the PHP files (r)?

Computed from stat() and the users' uid and groups, the way the kernel decides for plain
mode bits; we never switch users. POSIX ACLs can grant more: an entry notes when a path
in the way carries one.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from typing import Any

from wizard.host.facts import Facts, fact
from wizard.host.nginx_part import config_part

INDEX_FILES = ("index.php",)


def identity(user: str) -> dict[str, Any] | None:
    """uid and all group ids of a user name (None when the user does not exist)."""
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return None
    gids = {entry.pw_gid} | {g.gr_gid for g in grp.getgrall() if user in g.gr_mem}
    return {"user": user, "uid": entry.pw_uid, "gids": sorted(gids)}


def _owner(st: os.stat_result) -> str:
    try:
        user = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        user = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return f"{user}:{group}"


def allowed(st: os.stat_result, who: dict[str, Any], need: str) -> bool:
    """Mode-bit decision for need 'r' or 'x': owner bits, else group bits, else other."""
    if who["uid"] == 0:
        # root passes every read/traverse check on folders; execute on files needs any x bit
        return True
    shift = 6 if st.st_uid == who["uid"] else 3 if st.st_gid in who["gids"] else 0
    bit = stat.S_IROTH if need == "r" else stat.S_IXOTH
    return bool(st.st_mode & (bit << shift))


def _has_acl(path: str) -> bool:
    try:
        return "system.posix_acl_access" in os.listxattr(path)
    except OSError:
        return False


def first_block(path: str, who: dict[str, Any], read_file: bool) -> dict[str, Any] | None:
    """The first path on the way to `path` that `who` may not pass, or None."""
    parts = os.path.abspath(path).split(os.sep)
    chain = ["/"] + [os.sep.join(parts[:i + 1]) for i in range(1, len(parts)) if parts[i]]
    for i, current in enumerate(chain):
        st = os.stat(current)
        last = i == len(chain) - 1
        need = "r" if last and read_file and not stat.S_ISDIR(st.st_mode) else "x"
        if not allowed(st, who, need):
            return {"path": current, "need": need, "mode": f"{stat.S_IMODE(st.st_mode):04o}",
                    "owner": _owner(st), "acl": _has_acl(current)}
    return None


def _roots(nginx: dict[str, Any]) -> list[dict[str, Any]]:
    prefix = nginx.get("prefix") or "/usr/share/nginx"
    found: dict[str, dict[str, Any]] = {}

    def add(root: str | None, kind: str, where: dict[str, Any]) -> None:
        if not root or "$" in root:
            return  # a root built from variables is only known per request
        root = root if root.startswith("/") else os.path.join(prefix, root)
        if root not in found:  # 20,000 locations share a few roots: build each entry once
            found[root] = {"root": root, "kind": kind, "file": where.get("file"),
                           "line": where.get("line")}

    for server in nginx.get("servers") or []:
        add(server.get("root"), "server root", server)
    for p in nginx.get("passes") or []:
        add(p.get("root"), "location root", p)
    return list(found.values())


def _users(facts: Facts, nginx: dict[str, Any]) -> list[tuple[str, str]]:
    """(user, role) pairs: PHP-FPM pool users (nginx's user when unknown) and nginx's."""
    worker = nginx.get("worker_user")
    pools = (facts.try_get("phpfpm") or {}).get("pools") or []
    users = [(str(p["user"]), f"php-fpm pool {p.get('name')}") for p in pools if p.get("user")]
    if not users and worker:
        users = [(worker, "php-fpm (pool user unknown; nginx's user assumed)")]
    if worker:
        users.append((worker, "nginx worker"))
    return list(dict.fromkeys(users))


def check_paths(roots: list[dict[str, Any]], users: list[tuple[str, str]]
                ) -> list[dict[str, Any]]:
    entries = []
    for root in roots:
        targets = [(root["root"], False, root["kind"])]
        targets += [(os.path.join(root["root"], name), True, name) for name in INDEX_FILES
                    if os.path.isfile(os.path.join(root["root"], name))]
        for path, is_file, kind in targets:
            for user, role in users:
                if is_file and role == "nginx worker":
                    continue  # nginx hands PHP files to PHP-FPM; it only needs to reach them
                entry: dict[str, Any] = {"path": path, "kind": kind, "user": user, "role": role,
                                         "file": root["file"], "line": root["line"],
                                         "exists": True, "blocking": None, "error": None}
                who = identity(user)
                if who is None:
                    entry["error"] = f"there is no user {user} on this machine"
                else:
                    try:
                        entry["blocking"] = first_block(path, who, is_file)
                    except FileNotFoundError:
                        entry["exists"] = False
                    except OSError as exc:
                        entry["error"] = f"{path}: {exc.strerror}"
                entries.append(entry)
    return entries


@fact("docroot_permissions")
def docroot_permission_facts(facts: Facts) -> dict[str, Any]:
    nginx = config_part(facts) or {}
    roots, users = _roots(nginx), _users(facts, nginx)
    return {"roots": roots, "users": [{"user": u, "role": r} for u, r in users],
            "entries": check_paths(roots, users)}
