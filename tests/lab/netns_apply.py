"""Plans and applies firewall fixes with the wizard's own code, in the network namespace
it is started in: the lab tests run it as

    ip netns exec NS PYTHON -I tests/lab/netns_apply.py MODE ...

because apply_fix runs its commands (and every guard, listing and helper) with
subprocess in the calling process's namespace: a driver started inside the namespace is
the only way the real code path touches the namespace's firewall and not the host's.

It is run by path with `-I`, exactly like the wizard's own helpers (`python -I -m
wizard.fixes...`): isolated mode keeps the working directory, PYTHONPATH and user
site-packages off sys.path, and (since 3.11, -I implies -P) so is this script's own
folder. `wizard` is imported from the installed package, as in production, which is why
this file imports nothing from `tests` (`-I -m tests.lab.netns_apply` could not find it).

Modes (JSON in, one JSON document out on stdout):
    plan CONF ACTION ARGS_JSON [--append ARGV_JSON]
        the action's plan on this host's facts (nginx.conf CONF), or {"unavailable": why};
        --append makes every firewall back-end add one more command to its change before
        the plan's SSH guard sees it (no real back-end emits a command that closes a port)
    apply < PLAN_JSON
        apply_fix(plan, facts, on_output, ask=None) -> {"applied": AppliedFix, "output"}
    session CONF NODE ACTION
        the flow's own step NODE checked afresh, then Session.apply_fix on its offer of
        ACTION (the fix, then the step's check again) -> {"plan", "applied", "output"}
"""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Any

from wizard.engine.runner import Session
from wizard.fixes import firewall, load_all
from wizard.fixes.apply import apply_fix
from wizard.fixes.base import FixNotApplicable
from wizard.fixes.firewall_backend import Change
from wizard.flow.library import find_flow
from wizard.host.facts import Facts
from wizard.options import Options


def _append_to_every_change(argv: list[str]) -> None:
    """Make each back-end's change end with `argv`, before firewall._plan's SSH guard."""
    for cls in firewall.BACKENDS.values():
        for method in ("allow_port", "timed_disable"):
            original = getattr(cls, method)

            def appended(self: Any, *args: Any, _original: Any = original) -> Change:
                change: Change = _original(self, *args)
                change.add(list(argv))
                return change

            setattr(cls, method, appended)


def plan(conf: str, action: str, args: dict[str, str]) -> dict[str, Any]:
    try:
        return load_all()[action].plan(args, Facts(Options(nginx_conf=conf))).to_json()
    except FixNotApplicable as exc:
        return {"unavailable": str(exc)}


def apply(plan_json: dict[str, Any]) -> dict[str, Any]:
    output: list[str] = []
    applied = apply_fix(plan_json, Facts(Options()), output.append, ask=None)
    return {"applied": dataclasses.asdict(applied), "output": output}


def session(conf: str, node: str, action: str) -> dict[str, Any]:
    walk = Session(find_flow("nginx-502"), Facts(Options(nginx_conf=conf)))
    step = walk.rerun(node)
    offer = next((o for o in step.fixes if o.action == action), None)
    if offer is None or offer.plan is None:
        return {"step": step.to_json(), "unavailable": offer.unavailable if offer else
                f"step {node} offers no {action}"}
    output: list[str] = []
    applied = walk.apply_fix(step, offer, output.append)
    return {"plan": offer.plan, "applied": dataclasses.asdict(applied), "output": output}


def main(argv: list[str]) -> int:
    if len(argv) in (4, 6) and argv[0] == "plan":
        if len(argv) == 6 and argv[4] == "--append":
            _append_to_every_change(json.loads(argv[5]))
        result = plan(argv[1], argv[2], json.loads(argv[3]))
    elif argv == ["apply"]:
        result = apply(json.load(sys.stdin))
    elif len(argv) == 4 and argv[0] == "session":
        result = session(argv[1], argv[2], argv[3])
    else:
        print(__doc__, file=sys.stderr)
        return 64
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
