"""The flow loader reports every mistake as file:line: reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.flow.loader import FlowLoadError, load_flow, parse_flow

GOOD = """\
flow: t
start: a
nodes:
  - id: a
    kind: check
    check: nginx.running
    on:
      ok: {text: "fine {pid}", next: b}
    default: {next: b}
  - id: b
    kind: end
    text: done
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(FlowLoadError) as info:
        parse_flow(text, "f.yaml")
    return [str(e) for e in info.value.errors]


def test_good_flow_binds_to_the_model() -> None:
    flow = parse_flow(GOOD, "f.yaml")
    assert flow.start == "a"
    assert flow.node("a").on["ok"].next == "b"
    assert flow.node("a").on["ok"].line == 8
    assert flow.node("b").kind == "end"


def test_yaml_syntax_error_names_the_line() -> None:
    assert errors_of("flow: t\nnodes:\n  - id: [unclosed\n") [0].startswith("f.yaml:4: YAML")


def test_unknown_key_names_its_line_and_the_known_keys() -> None:
    errs = errors_of(GOOD.replace("    kind: end\n", "    kind: end\n    colour: red\n"))
    assert errs == [
        "f.yaml:12: unknown key 'colour' in flow.nodes[1] (known: ask_if, cause, check, choices, "
        "default, default_choice, fixes, id, kind, next, on, question, text, title)"
    ]


def test_wrong_kind_is_rejected_with_the_allowed_ones() -> None:
    errs = errors_of(GOOD.replace("kind: end", "kind: finish"))
    assert errs == ["f.yaml:11: flow.nodes[1].kind must be one of check, ask, info, end, "
                    "not 'finish'"]


def test_wrong_types_are_reported() -> None:
    errs = errors_of(GOOD.replace("nodes:\n", "nodes: 3\n", 1).split("  - id: a")[0])
    assert errs == ["f.yaml:3: flow.nodes must be a list"]


def test_duplicate_ids_and_missing_start() -> None:
    text = GOOD.replace("id: b", "id: a").replace("start: a", "start: zz")
    errs = errors_of(text)
    assert "f.yaml:10: node id 'a' is already used on line 4" in errs
    assert "f.yaml:1: start node 'zz' does not exist" in errs


def test_kind_specific_fields() -> None:
    text = GOOD + "  - id: q\n    kind: ask\n    question: why\n"
    assert "f.yaml:13: ask node 'q' needs `choices:`" in errors_of(text)
    text = GOOD + "  - id: i\n    kind: info\n    choices: [{key: x}]\n"
    errs = errors_of(text)
    assert "f.yaml:13: `choices` belong to ask nodes, not to 'i'" in errs
    assert "f.yaml:13: info node 'i' needs `text:`" in errs


def test_empty_binary_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00\x01garbage")
    for path, reason in [(empty, "the file is empty"), (binary, "not UTF-8 text"),
                         (tmp_path / "nope.yaml", "cannot read: No such file or directory")]:
        with pytest.raises(FlowLoadError) as info:
            load_flow(path)
        assert str(info.value) == f"{path}:1: {reason}"


def test_a_list_at_the_top_is_not_a_flow() -> None:
    assert errors_of("- a\n- b\n") == ["f.yaml:1: flow must be a mapping"]
