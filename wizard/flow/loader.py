"""Load flow files: YAML bound onto the model, every error as `file:line: reason`."""

from __future__ import annotations

import dataclasses
import functools
import re
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from wizard.compat import UNION_ORIGINS, type_hints
from wizard.flow.model import INTERNAL_FIELDS, Flow, Node

# Limits against hostile files; the built-in flows are about 20 KiB and 800 values.
MAX_FLOW_BYTES = 512 * 1024  # parsing YAML takes about a second per MiB
MAX_FLOW_VALUES = 50_000  # aliases let a small file expand to billions ("billion laughs")
# libyaml is several times faster and refuses nesting beyond 1000 levels by itself.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# The same limit for PyYAML before 6.0.4 (the newest there is for Python 3.9): its libyaml
# composes any depth, slowly (0.6 s for 10,000 levels).
MAX_NESTING = 1000
_BRACKETS = re.compile(r"[][{}]")


@dataclass(frozen=True)
class FlowError:
    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


class FlowLoadError(Exception):
    def __init__(self, errors: list[FlowError]) -> None:
        super().__init__(str(errors[0]) if errors else "invalid flow")
        self.errors = errors


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


@functools.cache
def _hints(cls: Any) -> dict[str, Any]:
    return type_hints(cls)


class _Binder:
    """Turns a composed YAML node tree into model dataclasses, collecting errors."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.errors: list[FlowError] = []
        self.values = 0

    def fail(self, node: yaml.Node, reason: str) -> None:
        self.errors.append(FlowError(self.path, _line(node), reason))

    def bind(self, tp: Any, node: yaml.Node, where: str) -> Any:
        # An alias binds its anchor's value again: counting every value bound stops an
        # anchor bomb before it expands, wherever in the model it hides.
        self.values += 1
        if self.values > MAX_FLOW_VALUES:
            raise FlowLoadError([FlowError(
                self.path, _line(node), f"the flow expands to more than {MAX_FLOW_VALUES} "
                "values (YAML aliases repeating one another?)")])
        origin = typing.get_origin(tp)
        if origin in UNION_ORIGINS:
            options = [a for a in typing.get_args(tp) if a is not type(None)]
            if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
                return None
            return self.bind(options[0], node, where)
        if origin is typing.Literal:
            value = self.bind(str, node, where)
            allowed = typing.get_args(tp)
            if value is not None and value not in allowed:
                self.fail(node, f"{where} must be one of {', '.join(allowed)}, not {value!r}")
            return value
        if origin is list:
            if not isinstance(node, yaml.SequenceNode):
                self.fail(node, f"{where} must be a list")
                return []
            (item_tp,) = typing.get_args(tp)
            return [self.bind(item_tp, item, f"{where}[{i}]") for i, item in enumerate(node.value)]
        if origin is dict:
            if not isinstance(node, yaml.MappingNode):
                self.fail(node, f"{where} must be a mapping")
                return {}
            _, value_tp = typing.get_args(tp)
            result = {}
            for key_node, value_node in node.value:
                key = str(key_node.value)
                result[key] = self.bind(value_tp, value_node, f"{where}.{key}")
            return result
        if dataclasses.is_dataclass(tp):
            return self.bind_dataclass(tp, node, where)
        if tp is str:
            if not isinstance(node, yaml.ScalarNode) or node.tag.endswith(":null"):
                self.fail(node, f"{where} must be text")
                return ""
            return str(node.value).strip()  # folded `>` blocks end with a newline
        raise TypeError(f"unsupported type {tp}")  # a model bug, not a user error

    def bind_dataclass(self, cls: Any, node: yaml.Node, where: str) -> Any:
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"{where} must be a mapping")
            return cls(line=_line(node))
        hints = _hints(cls)
        fields = {f.name for f in dataclasses.fields(cls)} - INTERNAL_FIELDS
        values: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key not in fields:
                known = ", ".join(sorted(fields))
                self.fail(key_node, f"unknown key {key!r} in {where} (known: {known})")
                continue
            if key in values:
                self.fail(key_node, f"key {key!r} given twice in {where}")
            values[key] = self.bind(hints[key], value_node, f"{where}.{key}")
        return cls(**values, line=_line(node))


def _compose(text: str, path: str) -> yaml.Node:
    try:
        if (not _yaml_limits_nesting(_YAML_LOADER) and _may_nest_too_deep(text)
                and _nested_too_deep(text)):
            raise FlowLoadError([FlowError(path, 1, "YAML: nested too deep")])
        node = yaml.compose(text, Loader=_YAML_LOADER)
    except RecursionError:  # the pure-Python composer recurses once per nesting level
        raise FlowLoadError([FlowError(path, 1, "YAML: nested too deep")]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise FlowLoadError([FlowError(path, line, f"YAML: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise FlowLoadError([FlowError(path, 1, f"YAML: {exc}")]) from None
    if node is None:
        raise FlowLoadError([FlowError(path, 1, "the file is empty")])
    return node


@functools.cache
def _yaml_limits_nesting(yaml_loader: type) -> bool:
    """Whether this loader refuses more than MAX_NESTING levels by itself: the pure-Python
    one runs out of recursion, libyaml counts them from PyYAML 6.0.4 on."""
    if yaml_loader is yaml.SafeLoader:
        return True
    levels = MAX_NESTING + 1
    try:
        yaml.compose("[" * levels + "]" * levels, Loader=yaml_loader)
    except (yaml.YAMLError, RecursionError):
        return True
    return False


def _may_nest_too_deep(text: str) -> bool:
    """A cheap bound first (the exact count costs a quarter of composing): a level takes a
    bracket, or an indent or a `- ` / `? ` of its own at most every second level."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(text):
        depth = depth + 1 if bracket in "[{" else max(depth - 1, 0)
        deepest = max(deepest, depth)
    widest = max((len(line) - len(line.lstrip(" -?")) for line in text.splitlines()), default=0)
    return deepest + 2 * widest > MAX_NESTING


def _nested_too_deep(text: str) -> bool:
    """More than MAX_NESTING levels, read from the parser's events (fast, and flat)."""
    depth = 0
    for event in yaml.parse(text, Loader=_YAML_LOADER):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_NESTING:
                return True
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return False


def _structure_errors(flow: Flow) -> list[FlowError]:
    """Rules every flow must meet to be walkable at all (lint adds the rest)."""
    errs: list[FlowError] = []

    def err(line: int, reason: str) -> None:
        errs.append(FlowError(flow.path, line, reason))

    if not flow.flow:
        err(flow.line, "missing `flow:` (the flow's name)")
    if not flow.nodes:
        err(flow.line, "the flow has no nodes")
    seen: dict[str, int] = {}
    for node in flow.nodes:
        if not node.id:
            err(node.line, "node without an `id`")
        elif node.id in seen:
            err(node.line, f"node id {node.id!r} is already used on line {seen[node.id]}")
        else:
            seen[node.id] = node.line
        errs.extend(FlowError(flow.path, line, reason) for line, reason in _node_shape(node))
    if flow.nodes and not flow.start:
        err(flow.line, "missing `start:` (the first node's id)")
    elif flow.start and flow.start not in seen:
        err(flow.line, f"start node {flow.start!r} does not exist")
    return errs


def _node_shape(node: Node) -> list[tuple[int, str]]:
    problems: list[tuple[int, str]] = []
    name = node.id or "?"
    if node.kind == "check":
        if not node.check:
            problems.append((node.line, f"check node {name!r} needs `check:`"))
        if not node.on and node.default is None:
            problems.append((node.line, f"check node {name!r} needs `on:` or `default:`"))
    elif node.check or node.on or node.default is not None:
        problems.append((node.line, f"`check`, `on` and `default` belong to check nodes, "
                                     f"not to {node.kind} node {name!r}"))
    if node.kind == "ask":
        if not node.choices:
            problems.append((node.line, f"ask node {name!r} needs `choices:`"))
        keys = [c.key for c in node.choices]
        for choice in node.choices:
            if not choice.key:
                problems.append((choice.line, "a choice needs a `key`"))
            if keys.count(choice.key) > 1:
                problems.append((choice.line, f"choice key {choice.key!r} is used twice"))
        if node.default_choice and node.default_choice not in keys:
            problems.append((node.line, f"default_choice {node.default_choice!r} is not a choice"))
        if node.ask_if and not node.default_choice:
            problems.append((node.line, f"ask node {name!r} has `ask_if` but no `default_choice` "
                                        "to take when it is not asked"))
    elif node.ask_if:
        problems.append((node.line, f"`ask_if` belongs to ask nodes, not to {name!r}"))
    if node.kind != "ask" and (node.choices or node.default_choice):
        problems.append((node.line, f"`choices` belong to ask nodes, not to {name!r}"))
    if node.kind == "end" and node.next:
        problems.append((node.line, f"end node {name!r} cannot have `next`"))
    if node.kind in ("info", "end") and not node.text:
        problems.append((node.line, f"{node.kind} node {name!r} needs `text:`"))
    return problems


def parse_flow(text: str, path: str = "<flow>") -> Flow:
    binder = _Binder(path)
    flow: Flow = binder.bind_dataclass(Flow, _compose(text, path), "flow")
    flow.path = path
    errors = binder.errors or _structure_errors(flow)
    if errors:
        raise FlowLoadError(sorted(errors, key=lambda e: e.line))
    return flow


def load_flow(path: str | Path) -> Flow:
    p = Path(path)
    too_large = FlowLoadError([FlowError(str(p), 1, f"the file is too large for a flow "
                                                   f"(more than {MAX_FLOW_BYTES // 1024} KiB)")])
    try:
        if p.stat().st_size > MAX_FLOW_BYTES:
            raise too_large
        with p.open("rb") as fh:  # bounded: /dev/zero or a pipe has no size to stat
            raw = fh.read(MAX_FLOW_BYTES + 1)
    except OSError as exc:
        raise FlowLoadError([FlowError(str(p), 1, f"cannot read: {exc.strerror}")]) from None
    if len(raw) > MAX_FLOW_BYTES:
        raise too_large
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FlowLoadError([FlowError(str(p), 1, "not UTF-8 text")]) from None
    return parse_flow(text, str(p))
