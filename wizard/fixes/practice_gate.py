"""Practice mode (Options.practice): every fix acts on the practice sandbox only.

The sandbox's nginx and PHP-FPM are started by hand in a temporary folder, so a plan made
for this host's services or firewall would change the wrong thing. In practice:
- service fixes become their sandbox equivalent: starting a server runs the sandbox's own
  start command (guarded by "does its master already run?"), reloading one reloads its
  master through the server_reload helper; other service verbs are refused;
- firewall and SELinux fixes are refused: they would change this machine for everyone;
- any other plan (the config edits) is kept only when every file it edits and every
  command it runs names a path inside the sandbox's folder.
A refusal is a FixNotApplicable with the reason in plain words, shown where the fix was.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

from wizard.fixes.base import FixAction, FixNotApplicable, FixPlan, PlanFn, fix_id
from wizard.fixes.master_running import nginx_guard, phpfpm_guard
from wizard.fixes.server_reload import nginx_reload_argv, phpfpm_reload_argv
from wizard.host.facts import Facts
from wizard.options import Practice

HOST_WIDE = {
    "firewall": "In practice, fixes change the practice sandbox only, never this machine's "
                "firewall: do this one on a real server.",
    "selinux": "In practice, fixes change the practice sandbox only, never this machine's "
               "security policy: do this one on a real server.",
}


def confine_to_sandbox(actions: dict[str, FixAction]) -> None:
    """Wrap every action's planner once, so practice mode plans for the sandbox only."""
    for name, action in actions.items():
        if not getattr(action.plan, "confined", False):
            actions[name] = dataclasses.replace(action, plan=_confined(name, action.plan))


def _confined(name: str, plan: PlanFn) -> PlanFn:
    def planner(args: dict[str, str], facts: Facts) -> FixPlan:
        practice = facts.options.practice
        if practice is None:
            return plan(args, facts)
        family = name.partition(".")[0]
        if family in HOST_WIDE:
            raise FixNotApplicable(HOST_WIDE[family])
        if family == "service":
            return sandbox_service_plan(name, args, practice, facts)
        return inside(plan(args, facts), practice.prefix)

    planner.confined = True  # type: ignore[attr-defined]
    planner.__doc__ = plan.__doc__
    return planner


def _in_folder(text: str, prefix: str) -> bool:
    return f"{prefix}/" in text or text == prefix


def inside(plan: FixPlan, prefix: str) -> FixPlan:
    """The plan, when it edits and runs nothing outside the sandbox's folder."""
    outside = [e.path for e in plan.edits if not os.path.realpath(e.path).startswith(
        os.path.realpath(prefix) + "/")]
    argvs = [*plan.commands, *plan.validate, *plan.undo]
    outside += [" ".join(argv) for argv in argvs
                if not any(_in_folder(arg, prefix) for arg in argv)]
    if outside:
        raise FixNotApplicable("In practice, fixes change the practice sandbox only, and "
                               f"this one would reach outside it ({outside[0]}).")
    return plan


def _server(service: str, practice: Practice) -> str:
    """Which of the sandbox's servers a service name means."""
    kind = "php-fpm" if "fpm" in service else "nginx" if "nginx" in service else ""
    if kind not in practice.starts:
        raise FixNotApplicable(f"In practice, only the sandbox's own servers can be "
                               f"started or reloaded, and it has no {service}.")
    return kind


def sandbox_service_plan(action: str, args: dict[str, str], practice: Practice,
                         facts: Facts) -> FixPlan:
    """service.start / service.reload for the sandbox's nginx or PHP-FPM."""
    service = args.get("service", "")
    kind = _server(service, practice)
    verb = action.partition(".")[2]
    planners: dict[str, Callable[[str, Practice, Facts], FixPlan]] = {
        "start": _start_plan, "reload": _reload_plan}
    if verb not in planners:
        raise FixNotApplicable(f"In practice, the sandbox's {kind} can only be started or "
                               "reloaded: it is not a service of this machine.")
    plan = planners[verb](kind, practice, facts)
    plan.id = fix_id(action, args)
    return plan


def _conf(kind: str, practice: Practice, facts: Facts) -> str:
    conf = practice.fpm_conf if kind == "php-fpm" else facts.options.nginx_conf
    if not conf:
        raise FixNotApplicable(f"the sandbox's {kind} configuration is not known")
    return conf


def _start_plan(kind: str, practice: Practice, facts: Facts) -> FixPlan:
    argv = practice.starts[kind]
    conf = _conf(kind, practice, facts)
    guard = phpfpm_guard(conf) if kind == "php-fpm" else nginx_guard(
        argv[0], conf, practice.prefix + "/")
    name = "PHP-FPM" if kind == "php-fpm" else "nginx"
    return FixPlan(
        id="", title=f"Start the practice sandbox's {name}", commands=[list(argv)],
        needs_root=True, guards=[guard], asks=[f"Does the sandbox's {name} already run?"],
        notes=[f"This starts the sandbox's own {name} with its own configuration, as its "
               "admin would by hand; this machine's services are not touched. It stops "
               "when the practice ends."],
        verify=f"the sandbox's {name} master runs, and the page that failed answers again")


def _reload_plan(kind: str, practice: Practice, facts: Facts) -> FixPlan:
    conf = _conf(kind, practice, facts)
    command = phpfpm_reload_argv(conf) if kind == "php-fpm" else nginx_reload_argv(
        practice.starts["nginx"][0], {"c": conf, "p": practice.prefix + "/"})
    name = "PHP-FPM" if kind == "php-fpm" else "nginx"
    return FixPlan(
        id="", title=f"Reload the practice sandbox's {name}", commands=[command],
        needs_root=True, notes=["A reload cannot be undone; it only re-reads the "
                                "configuration."],
        verify=f"the sandbox's {name} runs its configuration as it is now")

