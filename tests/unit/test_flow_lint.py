"""`flows lint` catches what makes a flow wrong, and the built-in flows pass it."""

from __future__ import annotations

import json

from wizard.flow.library import builtin_flow_dir, flow_files
from wizard.flow.lint import lint_flow
from wizard.flow.loader import load_flow, parse_flow
from wizard.flow.schema import flow_schema

HEAD = "flow: t\nstart: a\nnodes:\n"


def lint(body: str) -> list[str]:
    return [str(e) for e in lint_flow(parse_flow(HEAD + body, "f.yaml"))]


def test_builtin_flows_lint_clean() -> None:
    files = flow_files()
    assert files, "no built-in flows found"
    for path in files:
        assert [str(e) for e in lint_flow(load_flow(path))] == []


def test_unknown_check_fix_and_cause() -> None:
    body = """\
  - id: a
    kind: check
    check: nginx.flying
    default: {next: b, cause: martians, fixes: [{action: service.pray, args: {}}]}
  - id: b
    kind: end
    text: done
"""
    assert lint(body) == [
        "f.yaml:4: unknown check 'nginx.flying'",
        "f.yaml:7: unknown cause id 'martians'",
        "f.yaml:7: unknown fix action 'service.pray'",
    ]


def test_results_the_check_never_returns_or_the_node_forgets() -> None:
    body = """\
  - id: a
    kind: check
    check: nginx.running
    on:
      ok: {next: b}
      exploded: {next: b}
  - id: b
    kind: end
    text: done
"""
    errs = lint(body)
    assert "f.yaml:9: check nginx.running never returns 'exploded' (it returns unknown, " \
           "skipped, ok, stopped)" in errs
    assert "f.yaml:4: node 'a' handles no outcome for unknown, skipped, stopped; add them " \
           "or a `default:`" in errs


def test_fix_arguments_are_checked() -> None:
    body = """\
  - id: a
    kind: end
    text: x
    fixes: [{action: service.start, args: {name: nginx}}]
"""
    assert lint(body) == ["f.yaml:7: fix service.start takes no argument 'name'",
                          "f.yaml:7: fix service.start needs argument 'service'"]


def test_dangling_next_unreachable_and_cycle_without_exit() -> None:
    body = """\
  - id: a
    kind: info
    text: start
    next: b
  - id: b
    kind: info
    text: loop
    next: c
  - id: c
    kind: info
    text: loop back
    next: b
  - id: orphan
    kind: info
    text: nobody comes here
    next: nowhere
"""
    assert lint(body) == [
        "f.yaml:4: node 'a' never reaches an end: every path from it loops",
        "f.yaml:8: node 'b' never reaches an end: every path from it loops",
        "f.yaml:12: node 'c' never reaches an end: every path from it loops",
        "f.yaml:16: `next: nowhere` points to no node",
        "f.yaml:16: node 'orphan' is unreachable from start 'a'",
    ]


def test_a_cycle_with_an_exit_is_fine() -> None:
    body = """\
  - id: a
    kind: ask
    question: again?
    default_choice: "no"
    choices:
      - {key: "yes", next: a}
      - {key: "no"}
"""
    assert lint(body) == []


def test_shipped_schema_is_the_generated_one() -> None:
    shipped = json.loads((builtin_flow_dir() / "flow.schema.json").read_text())
    assert shipped == flow_schema(), "run: nginx-502-wizard flows schema > flows/flow.schema.json"
    node = shipped["$defs"]["Node"]
    assert node["properties"]["kind"]["enum"] == ["check", "ask", "info", "end"]
    assert node["additionalProperties"] is False


def test_optional_fix_arguments_are_accepted() -> None:
    body = """\
  - id: a
    kind: end
    text: x
    fixes: [{action: nginx.set_buffer_size, args: {kind: auto, size: auto, signature: s}}]
"""
    assert lint(body) == []
