"""Service fixes: start / restart / reload / enable a unit through this host's service manager."""

from __future__ import annotations

from wizard.fixes.base import FixNotApplicable, FixPlan, fix_action, fix_id
from wizard.host.facts import Facts

_VERB_WORDS = {"start": "Start", "restart": "Restart", "reload": "Reload", "enable": "Enable"}


def service_argv(manager: str, verb: str, service: str) -> list[str]:
    """The command that performs `verb` on `service` with this service manager."""
    if manager == "systemd":
        if verb == "enable":
            return ["systemctl", "enable", "--now", service]
        return ["systemctl", verb, service]
    if manager == "openrc":
        if verb == "enable":
            return ["rc-update", "add", service, "default"]
        return ["rc-service", service, verb]
    if verb == "enable":
        return ["update-rc.d", service, "enable"]
    return ["service", service, verb]


def _plan(verb: str, args: dict[str, str], facts: Facts) -> FixPlan:
    service = args.get("service", "").strip()
    if not service or service.startswith("{"):
        raise FixNotApplicable("the service's name is not known on this host")
    manager = (facts.try_get("system") or {}).get("service_manager", "none")
    undo_verb = {"start": "stop", "enable": "disable"}.get(verb)
    undo = [service_argv(manager, undo_verb, service)] if undo_verb else []
    if verb == "enable" and manager == "sysvinit":
        undo = [["update-rc.d", service, "disable"]]
    return FixPlan(
        id=fix_id(f"service.{verb}", args),
        title=f"{_VERB_WORDS[verb]} {service}",
        commands=[service_argv(manager, verb, service)],
        needs_root=True,
        undo=undo,
        verify=f"{service} is running and the check that found the problem passes",
    )


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
