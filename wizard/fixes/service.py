"""Service fixes: start / restart / reload / enable a service through this host's service
manager (systemd, sysvinit `service` or OpenRC, as the `system` fact detected it)."""

from __future__ import annotations

import fnmatch

from wizard.fixes.base import FixNotApplicable, FixPlan, fix_action, fix_id
from wizard.fixes.master_running import nginx_guard, phpfpm_guard
from wizard.fixes.service_backend import ServiceManager, valid_service_name
from wizard.fixes.service_openrc import OpenRC
from wizard.fixes.service_systemd import Systemd
from wizard.fixes.service_sysvinit import SysVInit
from wizard.host.facts import Facts
from wizard.host.phpfpm import CONF_GLOBS

MANAGERS: dict[str, type[ServiceManager]] = {
    "systemd": Systemd, "sysvinit": SysVInit, "openrc": OpenRC}
_TITLES = {"start": "Start", "restart": "Restart", "reload": "Reload", "enable": "Enable"}


def manager_for(facts: Facts) -> ServiceManager:
    """The back-end for the service manager the `system` fact detected."""
    name = (facts.try_get("system") or {}).get("service_manager") or "none"
    if name not in MANAGERS:
        raise FixNotApplicable("no service manager was found on this host (systemd, "
                               "`service` or OpenRC), so the service cannot be managed")
    return MANAGERS[name]()


def _service(args: dict[str, str]) -> str:
    service = args.get("service", "").strip()
    if not service or service.startswith("{"):
        raise FixNotApplicable("the service's name is not known on this host")
    if not valid_service_name(service):
        raise FixNotApplicable(f"{service!r} is not a service name this wizard will pass "
                               "to the service manager")
    return service


def plan_verb(verb: str, service: str, manager: ServiceManager,
              runs: list[str] | None = None) -> FixPlan:
    """The plan for `verb` on `service`: commands, their guards, undo and how to tell.
    `runs`: a command that tells better than the manager whether it runs (its master)."""
    commands = manager.verb(verb, service)
    guards: list[list[str] | None] = [None] * len(commands)
    asks: list[str | None] = [None] * len(commands)
    running = f"Is {service} already running?"
    undo: list[list[str]] = []
    notes: list[str] = []
    # the manager's "does it really run?" (OpenRC: its daemon, not its "started" mark),
    # unless the server's own master can be asked
    status = runs or manager.running_argv(service)
    if verb == "start":
        commands = manager.start_steps(service)  # OpenRC: zap, then start
        guards, asks = [status] * len(commands), [running] * len(commands)
        undo = manager.verb("stop", service)
        notes.append(f"Skipped if {service} already runs (its master, named by the pid "
                     "file its config sets, is alive)." if runs else
                     f"Skipped if {service} already runs (`{' '.join(status)}` exits 0).")
    elif verb == "enable":
        guards = [manager.enabled_argv(service)] * len(commands)
        start = manager.start_steps(service)
        boot: list[str | None] = [f"Does {service} already start at boot?"]
        asks = boot * len(commands) + [running] * len(start)
        commands, guards = commands + start, guards + [status] * len(start)
        undo = manager.verb("disable", service)
        stop = " ".join(manager.verb("stop", service)[0])
        notes.append(f"It is also started now unless it already runs; undo only stops it "
                     f"starting at boot (stop it with `{stop}`).")
    else:
        if verb == "restart":
            steps = manager.restart_steps(service)
            commands = [command for command, _, _ in steps]
            guards = [guard for _, guard, _ in steps]
            asks = [ask or None for _, _, ask in steps]
        notes.append(f"A {verb} cannot be undone; it does not change what runs at boot.")
    return FixPlan(
        id="", title=f"{_TITLES[verb]} {service}", commands=commands, needs_root=True,
        undo=undo, guards=guards, asks=asks, notes=notes,
        verify=(f"{service}'s master process runs" if runs else
                manager.describe_status(service))
        + ", and the request that failed answers again (or the check that found the "
          "problem passes)",
    )


def master_guard(service: str, facts: Facts) -> list[str] | None:
    """For nginx and PHP-FPM services: ask whether the master of their config runs (see
    master_running.py for why the service's own status is not enough)."""
    fpm = facts.try_get("phpfpm") or {}
    # the config the service starts: a distro one (a hand-started master's config is not
    # what `service php8.2-fpm start` would run)
    conf = next((c["conf"] for c in fpm.get("configs") or [] if c.get("service") == service
                 and any(fnmatch.fnmatch(str(c.get("conf")), g) for g in CONF_GLOBS)), None)
    if conf:
        return phpfpm_guard(conf)
    nginx = facts.try_get("nginx") or {}
    binary, conf = str(nginx.get("binary") or ""), str(nginx.get("conf_path") or "")
    if service == "nginx" and binary.startswith("/") and conf.startswith("/"):
        return nginx_guard(binary, conf, nginx.get("prefix"))
    return None


def _plan(verb: str, args: dict[str, str], facts: Facts) -> FixPlan:
    service = _service(args)
    runs = master_guard(service, facts) if verb in ("start", "enable") else None
    plan = plan_verb(verb, service, manager_for(facts), runs)
    plan.id = fix_id(f"service.{verb}", args)
    return plan


@fix_action("service.start", params=("service",))
def start(args: dict[str, str], facts: Facts) -> FixPlan:
    """Start a stopped service."""
    return _plan("start", args, facts)


@fix_action("service.restart", params=("service",))
def restart(args: dict[str, str], facts: Facts) -> FixPlan:
    """Restart a service (stop, then start)."""
    return _plan("restart", args, facts)


@fix_action("service.reload", params=("service",))
def reload(args: dict[str, str], facts: Facts) -> FixPlan:
    """Reload a service's configuration without dropping connections."""
    return _plan("reload", args, facts)


@fix_action("service.enable", params=("service",))
def enable(args: dict[str, str], facts: Facts) -> FixPlan:
    """Start a service now and at every boot."""
    return _plan("enable", args, facts)
