"""`flows lint`: everything that makes a flow wrong beyond its shape.

Unknown check, fix or cause names; results a check never returns or forgets to
handle; `next` pointing nowhere; nodes no path reaches; loops with no way out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wizard.causes import CAUSES
from wizard.checks import load_all as load_checks
from wizard.checks.base import IMPLICIT_RESULTS
from wizard.fixes import load_all as load_fixes
from wizard.flow.loader import FlowError
from wizard.flow.model import FixRef, Flow, Node


def _edges(node: Node) -> list[tuple[str | None, int]]:
    """(next node id or None for 'ends here', line) for every way out of a node."""
    if node.kind == "check":
        outs = [*node.on.values(), *([node.default] if node.default else [])]
        return [(o.next, o.line) for o in outs]
    if node.kind == "ask":
        return [(c.next, c.line) for c in node.choices]
    if node.kind == "info":
        return [(node.next, node.line)]
    return [(None, node.line)]


def walk_errors(flow: Flow) -> list[FlowError]:
    """The mistakes that make a walk go wrong, so a flow with them is not run at all: a
    check this version does not have, a `next` to nowhere, steps no path reaches, loops
    with no way out. (Loops with a way out are fine; the engine caps the steps.)"""
    checks, nodes = load_checks(), flow.by_id
    errors = [FlowError(flow.path, node.line, f"unknown check {node.check!r}")
              for node in flow.nodes
              if node.kind == "check" and node.check and node.check not in checks]
    errors += [FlowError(flow.path, line, f"`next: {target}` points to no node")
               for node in flow.nodes for target, line in _edges(node)
               if target is not None and target not in nodes]
    return sorted([*errors, *_graph_errors(flow)], key=lambda e: e.line)


def lint_flow(flow: Flow) -> list[FlowError]:
    checks, actions = load_checks(), load_fixes()
    nodes = flow.by_id
    errors: list[FlowError] = []

    def err(line: int, reason: str) -> None:
        errors.append(FlowError(flow.path, line, reason))

    def fix_refs(refs: list[FixRef]) -> None:
        for ref in refs:
            action = actions.get(ref.action)
            if action is None:
                err(ref.line, f"unknown fix action {ref.action!r}")
                continue
            for arg in ref.args:
                if arg not in action.params and arg not in action.optional:
                    err(ref.line, f"fix {ref.action} takes no argument {arg!r}")
            for param in action.params:
                if param not in ref.args:
                    err(ref.line, f"fix {ref.action} needs argument {param!r}")

    def cause_ref(cause_id: str | None, line: int) -> None:
        if cause_id and cause_id not in CAUSES:
            err(line, f"unknown cause id {cause_id!r}")

    for node in flow.nodes:
        if node.kind == "check" and node.check:
            spec = checks.get(node.check)
            if spec is None:
                err(node.line, f"unknown check {node.check!r}")
            else:
                declared = {**IMPLICIT_RESULTS, **spec.results}
                for result, outcome in node.on.items():
                    if result not in declared:
                        err(outcome.line, f"check {spec.name} never returns {result!r} "
                                          f"(it returns {', '.join(declared)})")
                missing = [r for r in declared if r not in node.on]
                if missing and node.default is None:
                    err(node.line, f"node {node.id!r} handles no outcome for "
                                   f"{', '.join(missing)}; add them or a `default:`")
        for outcome in [*node.on.values(), *([node.default] if node.default else [])]:
            cause_ref(outcome.cause, outcome.line)
            for listed in [*outcome.rules_out, *outcome.explains]:
                cause_ref(listed, outcome.line)
            fix_refs(outcome.fixes)
        for choice in node.choices:
            cause_ref(choice.cause, choice.line)
            fix_refs(choice.fixes)
        cause_ref(node.cause, node.line)
        fix_refs(node.fixes)
        _ask_if_refs(node, nodes, checks, err)
        for target, line in _edges(node):
            if target is not None and target not in nodes:
                err(line, f"`next: {target}` points to no node")

    errors.extend(_graph_errors(flow))
    return sorted(errors, key=lambda e: e.line)


def _ask_if_refs(node: Node, nodes: dict[str, Node], checks: dict[str, Any],
                 err: Callable[[int, str], None]) -> None:
    """`ask_if` names check nodes and results those checks can return."""
    for node_id, results in node.ask_if.items():
        target = nodes.get(node_id)
        if target is None or target.kind != "check":
            err(node.line, f"`ask_if` names {node_id!r}, which is not a check node")
            continue
        spec = checks.get(target.check or "")
        declared = {**IMPLICIT_RESULTS, **spec.results} if spec else {}
        for result in results:
            if spec and result not in declared:
                err(node.line, f"`ask_if`: check {spec.name} never returns {result!r}")


def _graph_errors(flow: Flow) -> list[FlowError]:
    nodes = flow.by_id
    succ = {nid: [t for t, _ in _edges(n) if t in nodes] for nid, n in nodes.items()}
    # A dangling `next` is reported on its own; it is not also called a loop.
    exits = {nid for nid, n in nodes.items() if any(t not in nodes for t, _ in _edges(n))}
    errors: list[FlowError] = []

    reached: set[str] = set()
    todo = [flow.start] if flow.start in nodes else []
    while todo:
        nid = todo.pop()
        if nid not in reached:
            reached.add(nid)
            todo.extend(succ[nid])
    for nid, node in nodes.items():
        if nid not in reached:
            errors.append(FlowError(flow.path, node.line, f"node {nid!r} is unreachable "
                                                          f"from start {flow.start!r}"))

    # Nodes that can reach an exit (walked backwards from the exits, so a long chain costs
    # one pass, not one per node); any reached node outside that set is trapped in a loop.
    preds: dict[str, list[str]] = {nid: [] for nid in nodes}
    for nid, targets in succ.items():
        for target in targets:
            preds[target].append(nid)
    can_exit, todo = set(exits), list(exits)
    while todo:
        for pred in preds[todo.pop()]:
            if pred not in can_exit:
                can_exit.add(pred)
                todo.append(pred)
    for nid in sorted(reached - can_exit, key=lambda n: nodes[n].line):
        errors.append(FlowError(flow.path, nodes[nid].line,
                                f"node {nid!r} never reaches an end: every path from it loops"))
    return errors
