"""Facts `phpfpm`: PHP-FPM binaries, running masters, pools (where they listen, as whom,
their limits) and the PHP `max_execution_time` of the FPM SAPI.

Pool settings come from two sources, merged:
- our own reading of the ini files (php-fpm.conf, its `include=` globs, `[pool]` sections,
  `$pool` substitution): this gives file and line for every pool, and works without root;
- `php-fpmX.Y -tt -y CONF` (PHP-FPM's own test, which prints the effective settings with
  defaults and units resolved): trusted over our reading when it succeeds. As non-root it
  usually fails (it opens the error log), which is why the ini reading is always done.
  It runs (with `-i`) only for a PHP-FPM that runs or that nginx passes requests to
  (tests_matter): for any other, the ini files say all the diagnosis uses.
"""

from __future__ import annotations

import contextlib
import contextvars
import glob
import os
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psutil

from wizard.host.commands import run, which
from wizard.host.distro_layouts import (
    FPM_BINARY_GLOBS,
    FPM_CONF_GLOBS,
    fpm_binary_wanted,
    fpm_service,
)
from wizard.host.facts import Facts, fact
from wizard.host.nginx_part import config_part, read_cleanly
from wizard.host.phpfpm_quiet_test import quiet_config
from wizard.host.processes import named
from wizard.socket_path import canonical_socket

# Where each distro family keeps php-fpm.conf and the binary: wizard/host/distro_layouts.py
CONF_GLOBS = FPM_CONF_GLOBS
BINARY_GLOBS = FPM_BINARY_GLOBS
# PHP-FPM resolves relative paths against its prefix, /usr for distro builds.
DEFAULT_PREFIX = "/usr"
MAX_INI_BYTES = 1024 * 1024
MAX_INCLUDE_DEPTH = 8
UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_SECONDS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)
_MASTER = re.compile(r"master process \((.*)\)")
_WORKER = re.compile(r"php-fpm: pool (\S+)")
_TEST_LINE = re.compile(r"^\[[^\]]*\] NOTICE: \t?(.*)$")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_INI_BOOL = {"on": "1", "yes": "1", "true": "1", "off": "", "no": "", "false": "", "none": ""}

IniEntry = tuple[str, str, str, str, int]  # section, key, value, file, line


# -- small parsers -------------------------------------------------------------------------

def parse_seconds(value: Any) -> float | None:
    """'30s' -> 30, '5m' -> 300, '0' -> 0 (PHP-FPM's time units); None when not a time."""
    if value is None:
        return None
    m = _SECONDS.match(str(value))
    return float(m.group(1)) * UNIT_SECONDS[m.group(2).lower()] if m else None


def parse_int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def parse_listen(value: str | None, prefix: str | None = None) -> dict[str, Any]:
    """'/run/php/x.sock' | '127.0.0.1:9000' | '[::1]:9000' | '9000' -> socket/host/port.
    A bare port means every address ('*'), as PHP-FPM binds it."""
    empty: dict[str, Any] = {"socket": None, "host": None, "port": None}
    if not value:
        return empty
    value = value.strip()
    if value.isascii() and value.isdigit():  # isdigit() alone takes '²', which int() refuses
        return {"socket": None, "host": "*", "port": int(value)}
    m = re.match(r"^\[?([^\[\]/]*?)\]?:([0-9]+)$", value)
    if m and "/" not in value:
        return {"socket": None, "host": m.group(1) or "*", "port": int(m.group(2))}
    path = value if value.startswith("/") else os.path.join(prefix or DEFAULT_PREFIX, value)
    return {**empty, "socket": path}


def _ini_value(raw: str) -> str:
    """The value of an ini line: quotes removed, `;` comments cut, ${ENV} expanded."""
    raw = raw.strip()
    if raw[:1] in ('"', "'"):
        end = raw.find(raw[0], 1)
        value = raw[1:end] if end > 0 else raw[1:]
    else:
        value = raw.split(";", 1)[0].strip()
        value = _INI_BOOL.get(value.lower(), value)
    return _ENV.sub(lambda m: os.environ.get(m.group(1), m.group(0)), value)


def read_text(path: str) -> str:
    """A config file's text; OSError / ValueError carry a plain reason."""
    if os.path.getsize(path) > MAX_INI_BYTES:
        raise ValueError(f"{path} is larger than {MAX_INI_BYTES // 1024} KiB")
    with open(path, "rb") as fh:
        data = fh.read(MAX_INI_BYTES)
    if b"\0" in data:
        raise ValueError(f"{path} is a binary file, not a PHP-FPM config")
    return data.decode("utf-8", errors="replace")


def read_ini(path: str, errors: list[str], section: str = "global",
             prefix: str = DEFAULT_PREFIX, depth: int = 0) -> list[IniEntry]:
    """Every `key = value` of an FPM config with its section, file and line; follows
    `include=` globs (sorted, as glob(3) returns them). Problems go to `errors`."""
    try:
        text = read_text(path)
    except (OSError, ValueError) as exc:
        errors.append(str(exc) if isinstance(exc, ValueError) else f"cannot read {path}: "
                      f"{exc.strerror}")
        return []
    entries: list[IniEntry] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped[0] in ";#":
            continue
        if stripped.startswith("[") and "]" in stripped:
            section = stripped[1:stripped.index("]")].strip()
            entries.append((section, "", "", path, number))  # marks where a section starts
            continue
        key, sep, raw = stripped.partition("=")
        if not sep:
            continue
        key, value = key.strip(), _ini_value(raw)
        if key == "include":
            if depth >= MAX_INCLUDE_DEPTH:
                errors.append(f"{path}:{number}: includes nested too deep")
                continue
            pattern = value if value.startswith("/") else os.path.join(prefix, value)
            for included in sorted(glob.glob(pattern)):
                sub = read_ini(included, errors, section, prefix, depth + 1)
                entries.extend(sub)
                section = next((e[0] for e in reversed(sub)), section)
            continue
        entries.append((section, key, value, path, number))
    return entries


def parse_fpm_config(conf: str, errors: list[str] | None = None) -> dict[str, Any]:
    """{'global': {key: value}, 'pools': {name: {'file', 'line', 'values': {key: value}}}}
    from the ini files, `$pool` replaced by the pool name (as PHP-FPM does)."""
    errors = errors if errors is not None else []
    result: dict[str, Any] = {"global": {}, "pools": {}}
    for section, key, value, path, line in read_ini(conf, errors):
        if section == "global":
            if key:
                result["global"][key] = value
            continue
        pool = result["pools"].setdefault(section, {"file": path, "line": line, "values": {}})
        if key:
            pool["values"][key] = value.replace("$pool", section)
    return result


def parse_test_output(text: str) -> dict[str, dict[str, str | None]]:
    """The effective settings printed by `php-fpm -tt`, per section ('global' and pools)."""
    sections: dict[str, dict[str, str | None]] = {}
    current: dict[str, str | None] | None = None
    for line in text.splitlines():
        m = _TEST_LINE.match(line)
        if not m:
            continue
        body = m.group(1).strip()
        if body.startswith("[") and body.endswith("]"):
            current = sections.setdefault(body[1:-1], {})
        elif current is not None and " = " in body:
            key, _, value = body.partition(" = ")
            current[key.strip()] = None if value.strip() == "undefined" else value.strip()
    return sections


def parse_php_ini(paths: list[str]) -> dict[str, str]:
    """Plain `key = value` settings of php.ini files, later files winning."""
    values: dict[str, str] = {}
    for path in paths:
        for _, key, value, _, _ in read_ini(path, [], section="PHP", depth=MAX_INCLUDE_DEPTH):
            if key:
                values[key] = value
    return values


# -- naming ---------------------------------------------------------------------------------

def service_name(conf: str | None, binary: str | None) -> str:
    """The init service of this PHP-FPM: Debian/Ubuntu phpX.Y-fpm, Alpine php-fpmXY,
    Remi phpXY-php-fpm, otherwise (RHEL, Arch, openSUSE, source builds) php-fpm."""
    return fpm_service(conf, os.path.basename(binary or ""))


def binary_for(conf: str, binaries: list[str], exe: str | None = None) -> str | None:
    """The php-fpm binary that belongs to a config (the master's own exe when known)."""
    if exe:
        return exe
    wanted, path_part = fpm_binary_wanted(conf)
    if path_part:
        return next((b for b in binaries if path_part in b), None)
    for binary in binaries:
        if os.path.basename(binary) == (wanted or "php-fpm"):
            return binary
    return None if wanted else (which("php-fpm") or (binaries[0] if binaries else None))


# -- matching (pure; also used by checks) ----------------------------------------------------

LOOPBACK = {"127.0.0.1", "localhost", "::1", "ip6-localhost"}


def listens_at(pool: dict[str, Any], socket: str | None, host: str | None,
               port: int | None) -> bool:
    """Does this pool accept what nginx connects to (unix socket or host:port)?"""
    if socket or pool.get("socket"):
        theirs = pool.get("socket")
        return bool(socket and theirs and canonical_socket(socket) == canonical_socket(theirs))
    if port is None or pool.get("port") != port:
        return False
    pool_host = pool.get("host") or "*"
    if pool_host in ("*", "0.0.0.0", "::", "[::]"):
        return True
    return pool_host == host or (pool_host in LOOPBACK and host in LOOPBACK)


def pool_for_target(pools: list[dict[str, Any]], socket: str | None, host: str | None,
                    port: int | None) -> dict[str, Any] | None:
    return next((p for p in pools if listens_at(p, socket, host, port)), None)


# -- gathering --------------------------------------------------------------------------------

def _masters(processes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    masters = []
    for proc in named(processes, "php-fpm", "php"):
        title = " ".join(part for part in proc.get("cmdline") or [] if part)
        m = _MASTER.search(title)
        if m:
            masters.append({"pid": proc["pid"], "conf": m.group(1), "user": proc.get("username"),
                            "started": proc.get("create_time")})
    return masters


def _workers(processes: list[dict[str, Any]]) -> dict[tuple[Any, str], list[int]]:
    """Worker pids by (master pid, pool name): two masters may both have a pool 'www'."""
    by_pool: dict[tuple[Any, str], list[int]] = {}
    for proc in named(processes, "php-fpm", "php"):
        m = _WORKER.search(" ".join(part for part in proc.get("cmdline") or [] if part))
        if m:
            by_pool.setdefault((proc.get("ppid"), m.group(1)), []).append(proc["pid"])
    return by_pool


def _rss(pids: list[int]) -> int | None:
    sizes = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            sizes.append(psutil.Process(pid).memory_info().rss)
    return sum(sizes) // len(sizes) if sizes else None


def _exe(pid: int) -> str | None:
    try:
        return psutil.Process(pid).exe() or None
    except psutil.Error:
        return None


def _binaries() -> list[str]:
    found: dict[str, str] = {}  # real path -> first name; /sbin is often a link to /usr/sbin
    for pattern in BINARY_GLOBS:
        for path in sorted(glob.glob(pattern)):
            if os.access(path, os.X_OK) and not os.path.isdir(path):
                found.setdefault(os.path.realpath(path), path)
    return list(found.values())


def _default_confs() -> list[str]:
    found: list[str] = []
    for pattern in CONF_GLOBS:
        for path in sorted(glob.glob(pattern), reverse=True):  # newest version first
            if os.path.isfile(path) and path not in found:
                found.append(path)
    return found


def _php_ini_paths(conf: str) -> list[str]:
    """php.ini of the FPM SAPI next to its config, then its conf.d scan folder."""
    folder = os.path.dirname(conf)
    for ini in (os.path.join(folder, "php.ini"), "/etc/php.ini", "/usr/local/etc/php/php.ini"):
        if os.path.isfile(ini):
            scan = os.path.join(os.path.dirname(ini), "conf.d")
            extra = sorted(glob.glob(os.path.join(scan, "*.ini")))
            return [ini, *extra]
    return []


def _max_execution_time(binary: str | None, conf: str) -> float | None:
    # `php-fpm -i` prints the FPM SAPI's php.ini values (the CLI's would say 0).
    if binary:
        result = run([binary, "-i"], timeout=10)
        m = re.search(r"^max_execution_time => (\S+)", result.stdout, re.MULTILINE)
        if m:
            return parse_seconds(m.group(1))
    value = parse_php_ini(_php_ini_paths(conf)).get("max_execution_time")
    return parse_seconds(value) if value is not None else None


# PHP-FPM's own runs (`-tt`, `-i`) each start PHP: tens of milliseconds that every fact
# reading PHP-FPM's pools or logs waits for. They tell about a PHP-FPM that runs or that
# nginx passes requests to; for one that does neither, the ini files say what matters.
NOT_TESTED = "not run: no PHP-FPM runs and nginx passes nothing to FastCGI"


def tests_matter(facts: Facts, masters: list[dict[str, Any]]) -> bool:
    """Whether PHP-FPM's own runs are worth their time: it runs, a practice sandbox has
    one, or nginx's config passes anything to FastCGI (or could not be read to tell).
    Reads nginx's config when no PHP-FPM runs (not its test: it need not wait for that);
    the nginx fact must never read this one."""
    if masters or facts.options.practice:
        return True
    nginx = config_part(facts)
    if not nginx or not (nginx.get("parse_ok") or read_cleanly(nginx)):
        return True
    return any(p.get("kind") == "fastcgi" for p in nginx.get("passes") or [])


def _test(binary: str | None, conf: str, names_its_log: bool = False) -> dict[str, Any]:
    """`php-fpm -tt`; `names_its_log`: the config sets error_log, so the test may read
    it through a wrapper that leaves that log alone (phpfpm_quiet_test.py)."""
    if not binary:
        return {"ok": None, "output": "", "reason": "no php-fpm binary found for this config"}
    with quiet_config(conf, names_its_log) as tested:
        result = run([binary, "-tt", "-y", tested], timeout=15)
    text = result.output.replace(tested, conf)  # its messages name the config, not ours
    if result.error:
        return {"ok": None, "output": text, "reason": result.error}
    # Keep what a person needs (warnings, errors, the verdict), not the settings dump.
    output = "\n".join(line for line in text.splitlines()
                       if not _TEST_LINE.match(line) or "test is" in line)[-4000:]
    if result.returncode != 0 and "Permission denied" in output and os.geteuid() != 0:
        return {"ok": None, "output": output, "reason": "the PHP-FPM test needs root"}
    return {"ok": result.returncode == 0, "output": output, "reason": None,
            "full": text, "quiet": tested != conf}


def _bracketed(values: dict[str, Any], *names: str) -> dict[str, Any]:
    """{'error_log': v} from keys like 'php_admin_value[error_log]'."""
    found = {}
    for key, value in values.items():
        for name in names:
            if key.startswith(name + "[") and key.endswith("]"):
                found[key[len(name) + 1:-1]] = value
    return found


def _pool_record(name: str, raw: dict[str, Any], effective: dict[str, str | None] | None,
                 conf: str, service: str) -> dict[str, Any]:
    values: dict[str, Any] = dict(raw["values"])
    if effective:  # PHP-FPM's own view wins; keep ini-only keys such as php_value[...]
        values.update({k: v for k, v in effective.items()})

    def get(key: str) -> Any:
        return values.get(key)

    admin = _bracketed(values, "php_admin_value", "php_admin_flag")
    plain = _bracketed(values, "php_value", "php_flag")
    # An admin value cannot be overridden by the script; a php_value can, but is the default.
    pool_met = admin.get("max_execution_time", plain.get("max_execution_time"))
    listen = get("listen")
    return {
        "name": name, "file": raw["file"], "line": raw["line"], "conf": conf,
        "service": service, "listen": listen,
        **parse_listen(listen, get("prefix")),
        "listen_owner": get("listen.owner"), "listen_group": get("listen.group"),
        # PHP-FPM's default socket mode since 5.5.12 (0666 before): group and owner only.
        "listen_mode": get("listen.mode") or "0660",
        "listen_acl_users": get("listen.acl_users"), "listen_acl_groups": get("listen.acl_groups"),
        "user": get("user"), "group": get("group"), "pm": get("pm"),
        "pm_max_children": parse_int(get("pm.max_children")),
        "request_terminate_timeout": parse_seconds(get("request_terminate_timeout")) or 0.0,
        "slowlog": get("slowlog"),
        "request_slowlog_timeout": parse_seconds(get("request_slowlog_timeout")) or 0.0,
        "error_log": admin.get("error_log") or plain.get("error_log"),
        "chroot": get("chroot"),
        "php_admin_values": admin, "php_values": plain,
        "max_execution_time": parse_seconds(pool_met) if pool_met is not None else None,
    }


def _config_facts(conf: str, binary: str | None, workers: dict[str, list[int]],
                  errors: list[str], tested: bool = True,
                  ) -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
    """Pools, test result and logs of one PHP-FPM config; `workers` by pool name.
    `tested` False (tests_matter): `-tt` runs only to learn where a config that names no
    error_log logs (PHP-FPM's default, which its output resolves)."""
    service = service_name(conf, binary)
    parsed = parse_fpm_config(conf, errors)
    names_its_log = "error_log" in parsed["global"]
    test: dict[str, Any] = _test(binary, conf, names_its_log) \
        if tested or not names_its_log else {"ok": None, "output": "", "reason": NOT_TESTED}
    full = test.pop("full", "")
    effective = parse_test_output(full) if test["ok"] else {}
    if test.pop("quiet", False):  # the wrapper's error_log; the config's own is parsed
        (effective.get("global") or {}).pop("error_log", None)
    names = list(parsed["pools"]) + [n for n in effective if n not in parsed["pools"]
                                      and n != "global"]
    pools = []
    for name in names:
        raw = parsed["pools"].get(name, {"file": conf, "line": None, "values": {}})
        pool = _pool_record(name, raw, effective.get(name), conf, service)
        pool["workers"] = len(workers.get(name, []))
        pool["worker_rss_avg"] = _rss(workers.get(name, []))
        pools.append(pool)
    global_values = {**parsed["global"], **(effective.get("global") or {})}
    logs = [global_values.get("error_log")] + [p["error_log"] for p in pools]
    prefix = DEFAULT_PREFIX
    error_logs = [log if log.startswith("/") or log.startswith("syslog") else
                  os.path.join(prefix, log) for log in logs if log]
    # Imported here: phpfpm_syntax reads the ini files with this module's reader.
    from wizard.host.phpfpm_syntax import config_problems

    info = {"conf": conf, "binary": binary, "service": service, "test": test,
            "pid_file": global_values.get("pid"),
            "problems": config_problems(conf, read_ini(conf, []), test)}
    return info, pools, error_logs


@fact("phpfpm")
def phpfpm_facts(facts: Facts) -> dict[str, Any]:
    processes = facts.try_get("processes", []) or []
    binaries = _binaries()
    masters = _masters(processes)
    workers = _workers(processes)
    confs: list[str] = []
    for master in masters:  # a relative -y path is relative to the master's start folder
        if master["conf"] and master["conf"] not in confs:
            confs.append(master["conf"])
    practice = facts.options.practice  # a practice sandbox's PHP-FPM, running or not
    if practice and practice.fpm_conf and practice.fpm_conf not in confs:
        confs.append(practice.fpm_conf)
    # The distro's configs too, running or not: a stopped php8.2-fpm beside a running
    # master of another config is still the pool nginx's fastcgi_pass names.
    confs += [conf for conf in _default_confs() if conf not in confs]
    exes = {m["conf"]: _exe(m["pid"]) for m in masters}
    tested = bool(confs) and tests_matter(facts, masters)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="phpfpm-i") as pool:
        # `php-fpm -i` (the primary config's max_execution_time) runs while `-tt` does;
        # untested, php.ini says it.
        met = pool.submit(contextvars.copy_context().run, _max_execution_time,
                          binary_for(confs[0], binaries, exes.get(confs[0])) if tested
                          else None, confs[0]) if confs else None
        found = _configs_facts(confs, binaries, exes, masters, workers, tested)
    configs, pools, error_logs, errors = found
    primary = configs[0] if configs else None
    memory = psutil.virtual_memory()
    return {
        "installed": bool(binaries or confs or masters),
        "binaries": binaries,
        "service": primary["service"] if primary else service_name(
            None, binaries[-1] if binaries else None),
        "masters": [{"pid": m["pid"], "conf": m["conf"], "user": m["user"],
                     "started": m["started"]} for m in masters],
        "running": bool(masters),
        "conf_path": primary["conf"] if primary else None,
        "configs": configs,
        "error_logs": error_logs,
        "pools": pools,
        "max_execution_time": met.result() if met is not None else None,
        "test": primary["test"] if primary else {"ok": None, "output": "", "reason":
                                                 "no PHP-FPM config found"},
        "memory": {"total": memory.total, "available": memory.available},
        "errors": errors,
    }


def _configs_facts(confs: list[str], binaries: list[str], exes: dict[str, str | None],
                   masters: list[dict[str, Any]], workers: dict[tuple[int, str], list[int]],
                   tested: bool = True,
                   ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str], list[str]]:
    """(configs, pools, error logs, errors) of every PHP-FPM config found."""
    errors: list[str] = []
    configs: list[dict[str, Any]] = []
    pools: list[dict[str, Any]] = []
    error_logs: list[str] = []
    for conf in confs:
        pids = {m["pid"] for m in masters if m["conf"] == conf}
        own: dict[str, list[int]] = {}
        for (ppid, name), worker_pids in workers.items():
            if ppid in pids:
                own.setdefault(name, []).extend(worker_pids)
        info, conf_pools, logs = _config_facts(
            conf, binary_for(conf, binaries, exes.get(conf)), own, errors, tested)
        info["running"] = any(m["conf"] == conf for m in masters)
        configs.append(info)
        pools.extend(conf_pools)
        error_logs.extend(log for log in logs if log not in error_logs)
    return configs, pools, error_logs, errors
