"""PHP-FPM config fixes: a pool's request_terminate_timeout and its socket's owner, group
and mode. Each edits the pool file at the setting's own line (or adds the setting to the
pool's section), validates with `php-fpmX.Y -t -y CONF`, then reloads or restarts PHP-FPM.

How PHP-FPM is reloaded comes from the facts: a master running a distro config is the
service's (systemctl / service / rc-service); a master started by hand with its own config
(a container, a test) gets SIGUSR2, PHP-FPM's graceful reload, from the server_reload
helper. That finds the master when it runs (through the pid file the config names,
checked to be a master running that config), not by a pid frozen at plan time, so the
plan's undo still reaches it after a restart; and it returns only once the master is back
and its pools accept connections, so the re-check sees the reloaded pool.
"""

from __future__ import annotations

import fnmatch
import grp
import math
import os
import pwd
import re
import stat
from typing import Any

from wizard.fixes.base import FixNotApplicable, FixPlan, fix_action, fix_id
from wizard.fixes.config_edit import Change, finish, undo_note
from wizard.fixes.server_reload import phpfpm_reload_argv
from wizard.fixes.service import manager_for
from wizard.host.commands import which
from wizard.host.facts import Facts
from wizard.host.phpfpm import CONF_GLOBS, parse_seconds, read_ini

_MODE = re.compile(r"^0?[0-7]{3}$")
# Seen in the lab: with process_control_timeout = 0 (the default) a reload ends a running
# request at once (nginx answers 502); with a value, requests get that long to finish.
RELOAD_NOTE = ("PHP-FPM reloads gracefully, but a request still running gets only the "
               "global process_control_timeout (default 0: none) to finish.")


def find_pool(args: dict[str, str], facts: Facts) -> tuple[dict[str, Any], dict[str, Any]]:
    """(pool, phpfpm fact) for args['pool'] (and args['conf'] when two configs share it)."""
    fpm = facts.try_get("phpfpm") or {}
    name = (args.get("pool") or "").strip()
    if not name or name.startswith("{"):
        raise FixNotApplicable("which PHP-FPM pool to change is not known")
    pools = [p for p in fpm.get("pools") or [] if p.get("name") == name
             and (not args.get("conf") or p.get("conf") == args["conf"])]
    if not pools:
        raise FixNotApplicable(f"no PHP-FPM pool named {name!r} was found")
    running = {m.get("conf") for m in fpm.get("masters") or []}
    if len({p.get("conf") for p in pools if p.get("conf") in running}) > 1:
        # php7.4-fpm and php8.2-fpm side by side, each with a [www]: editing the other
        # version's pool would change a site that works and leave this one broken
        raise FixNotApplicable(f"several running PHP-FPM configs have a pool named {name!r} "
                               "and it is not known which one nginx uses")
    pools.sort(key=lambda p: p.get("conf") not in running)  # the running one first
    if not pools[0].get("conf"):
        raise FixNotApplicable(f"the config file of pool {name!r} is not known")
    return pools[0], fpm


def setting_place(pool: dict[str, Any], key: str) -> tuple[str, int] | None:
    """File and line where the pool sets `key` (the last one wins, as in PHP-FPM)."""
    errors: list[str] = []
    found = [(path, line) for section, k, _, path, line in read_ini(pool["conf"], errors)
             if section == pool["name"] and k == key]
    return found[-1] if found else None


def section_end(pool: dict[str, Any]) -> tuple[str, int]:
    """Where a new setting goes: after the pool's last line in the file of its [name]."""
    entries = [(path, line) for section, _, _, path, line in read_ini(pool["conf"], [])
               if section == pool["name"] and path == pool["file"]]
    if not entries:
        raise FixNotApplicable(f"the [{pool['name']}] section was not found in "
                               f"{pool.get('file')}")
    return pool["file"], max(line for _, line in entries)


def set_settings(pool: dict[str, Any], values: dict[str, str]) -> list[Change]:
    """Changes that make the pool's `key = value` lines say `values`."""
    changes: dict[str, Change] = {}

    def change(path: str) -> Change:
        return changes.setdefault(path, Change.of(path))

    for key, value in values.items():
        place = setting_place(pool, key)
        if place:
            path, line = place
            current = change(path).line(line)
            if not re.match(rf"^\s*{re.escape(key)}\s*=", current):
                raise FixNotApplicable(f"{path}:{line} no longer sets {key}; run the "
                                       "diagnosis again")
            change(path).set_line(line, f"{_indent(current)}{key} = {value}")
        else:
            path, line = section_end(pool)
            change(path).add_after(line, [f"{key} = {value}"])
    return list(changes.values())


def _indent(line: str) -> str:
    return line[:len(line) - len(line.lstrip())]


def _config(fpm: dict[str, Any], pool: dict[str, Any]) -> dict[str, Any]:
    return next((c for c in fpm.get("configs") or [] if c.get("conf") == pool["conf"]), {})


def validate_argv(fpm: dict[str, Any], pool: dict[str, Any]) -> list[str]:
    binary = _config(fpm, pool).get("binary") or which("php-fpm")
    if not binary:
        raise FixNotApplicable("no php-fpm program was found to test the changed config with")
    return [binary, "-t", "-y", pool["conf"]]


def master_pid(fpm: dict[str, Any], pool: dict[str, Any]) -> int | None:
    return next((m["pid"] for m in fpm.get("masters") or [] if m.get("conf") == pool["conf"]),
                None)


def hand_started(facts: Facts, fpm: dict[str, Any], pool: dict[str, Any]) -> bool:
    """A running master with a config no distro service uses: signal it directly."""
    manager = (facts.try_get("system") or {}).get("service_manager", "none")
    if master_pid(fpm, pool) is None:
        return False
    return manager == "none" or not any(fnmatch.fnmatch(pool["conf"], g) for g in CONF_GLOBS)


def service_commands(facts: Facts, fpm: dict[str, Any], pool: dict[str, Any],
                     verb: str) -> list[list[str]]:
    """reload / restart of the PHP-FPM that serves this pool (a hand-started one is always
    reloaded: without a service nothing would start it again after a stop)."""
    if hand_started(facts, fpm, pool):
        if not os.path.isabs(pool["conf"]):
            raise FixNotApplicable(f"this PHP-FPM was started with a relative config path "
                                   f"({pool['conf']}), so it cannot be reloaded safely")
        return [phpfpm_reload_argv(pool["conf"])]
    # manager_for says plainly when no service manager is there
    return manager_for(facts).verb(verb, pool.get("service") or fpm.get("service")
                                   or "php-fpm")


def _seconds(text: str) -> int:
    value = parse_seconds(text)
    if value is None or value < 0:
        raise FixNotApplicable(f"not a number of seconds: {text!r}")
    return math.ceil(value)


@fix_action("phpfpm.set_request_terminate_timeout", params=("pool", "seconds"),
            optional=("conf",))
def set_request_terminate_timeout(args: dict[str, str], facts: Facts) -> FixPlan:
    """Let a PHP-FPM pool's requests run as long as nginx waits for them."""
    pool, fpm = find_pool(args, facts)
    seconds = _seconds(args.get("seconds", ""))
    value = f"{seconds}s" if seconds else "0"
    edits, diff, undo = finish(set_settings(pool, {"request_terminate_timeout": value}))
    commands = service_commands(facts, fpm, pool, "reload")
    return FixPlan(
        id=fix_id("phpfpm.set_request_terminate_timeout", args),
        title=f"Set request_terminate_timeout = {value} in pool {pool['name']}",
        commands=commands, needs_root=True, undo=[*undo, *commands], diff=diff,
        edits=edits, validate=[validate_argv(fpm, pool)],
        verify=f"pool {pool['name']} no longer ends requests before nginx stops waiting",
        notes=[RELOAD_NOTE, undo_note(undo)],
    )


def _check_account(owner: str, group: str, mode: str) -> None:
    try:
        pwd.getpwnam(owner)
    except KeyError:
        raise FixNotApplicable(f"there is no user {owner!r} on this host") from None
    try:
        grp.getgrnam(group)
    except KeyError:
        raise FixNotApplicable(f"there is no group {group!r} on this host") from None
    if not _MODE.match(mode):
        raise FixNotApplicable(f"not a file mode: {mode!r} (e.g. 0660)")


def _socket_as_now(socket: str) -> list[list[str]]:
    """chown / chmod back to the live socket's current owner, group and mode."""
    try:
        st = os.stat(socket)
    except OSError:
        return []  # no socket yet: the reload creates it from the restored config
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        owner, group = str(st.st_uid), str(st.st_gid)
    return [["chown", f"{owner}:{group}", socket],
            ["chmod", f"{stat.S_IMODE(st.st_mode):04o}", socket]]


@fix_action("phpfpm.set_listen_acl", params=("pool", "owner", "group", "mode"),
            optional=("conf",))
def set_listen_acl(args: dict[str, str], facts: Facts) -> FixPlan:
    """Make a pool's socket belong to nginx's worker user so nginx may connect to it."""
    pool, fpm = find_pool(args, facts)
    owner, group = args.get("owner", "").strip(), args.get("group", "").strip()
    mode = args.get("mode", "0660").strip()
    _check_account(owner, group, mode)
    mode = mode if len(mode) == 4 else "0" + mode
    socket = pool.get("socket")
    if not socket:
        raise FixNotApplicable(f"pool {pool['name']} listens on TCP ({pool.get('listen')}); "
                               "socket owner and mode do not apply")
    if pool.get("listen_acl_users") or pool.get("listen_acl_groups"):
        raise FixNotApplicable(
            f"pool {pool['name']} sets listen.acl_users / listen.acl_groups, which override "
            f"listen.owner and listen.group: add {owner} there instead")
    edits, diff, undo = finish(set_settings(pool, {"listen.owner": owner,
                                                   "listen.group": group,
                                                   "listen.mode": mode}))
    notes = [undo_note(undo)]
    if hand_started(facts, fpm, pool):
        # A reloaded master keeps its socket (PHP-FPM reuses inherited sockets), so the
        # new owner and mode are also set on the live socket; the config keeps them.
        reload = service_commands(facts, fpm, pool, "reload")
        commands = [*reload, ["chown", f"{owner}:{group}", socket], ["chmod", mode, socket]]
        undo = [*undo, *reload, *_socket_as_now(socket)]
        notes.insert(0, "This PHP-FPM was started by hand, not by a service: it is reloaded "
                        "and its socket's owner and mode are set directly.")
    else:
        commands = service_commands(facts, fpm, pool, "restart")
        undo = [*undo, *commands]
        notes.insert(0, "PHP-FPM restarts (a reload keeps the old socket): requests running "
                        "at that moment are cut off.")
    return FixPlan(
        id=fix_id("phpfpm.set_listen_acl", args),
        title=f"Give pool {pool['name']}'s socket to {owner}:{group}, mode {mode}",
        commands=commands, needs_root=True, undo=undo, diff=diff, edits=edits,
        validate=[validate_argv(fpm, pool)],
        verify=f"nginx's worker user can connect to {socket}", notes=notes,
    )
