"""Hostile flow files (issue 12): each is refused by `flows lint`, `diagnose --flow` and
`tui --flow` with one clear line, exit 2, within a second; nothing hangs or expands.

Run through the real CLI in a subprocess. The time allowed is 1 s on top of what this
machine needs to start Python at all (`python -c pass`, measured in the same test).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from wizard.flow import loader
from wizard.flow.library import find_flow
from wizard.flow.loader import FlowLoadError, parse_flow

COMMANDS = {"lint": ["flows", "lint"], "diagnose": ["diagnose", "--flow"],
            "tui": ["tui", "--flow"]}
FANOUT = 200  # aliases per level of the anchor bomb: 200**4 values once expanded


def _flow(body: str) -> str:
    return "flow: hostile\nstart: a\nnodes:\n" + body


def unknown_check(tmp: Path) -> Path:
    return _write(tmp, "unknown.yaml", _flow(
        "  - {id: a, kind: check, check: no.such.check, default: {next: b}}\n"
        "  - {id: b, kind: end, text: done}\n"))


def cycle_without_way_out(tmp: Path) -> Path:
    # Without the refusal the engine would walk it 500 times before it stops.
    return _write(tmp, "cycle.yaml", _flow("  - {id: a, kind: info, text: again, next: a}\n"))


def unreachable_node(tmp: Path) -> Path:
    return _write(tmp, "unreachable.yaml", _flow(
        "  - {id: a, kind: end, text: done}\n  - {id: lost, kind: end, text: never shown}\n"))


def long_chain(tmp: Path) -> Path:
    """5,000 steps in a row and one no path reaches: finding which steps can reach an end
    must take one pass, not one per step (25 million checks)."""
    steps = 5000
    return _write(tmp, "chain.yaml", "flow: hostile\nstart: n0\nnodes:\n" + "".join(
        f"  - {{id: n{i}, kind: info, text: t, next: n{i + 1}}}\n" for i in range(steps))
        + f"  - {{id: n{steps}, kind: end, text: done}}\n  - {{id: lost, kind: end, text: t}}\n")


def hundred_megabytes(tmp: Path) -> Path:
    path = tmp.parent / "huge.yaml"  # written once for the three commands
    if not path.exists():
        line = "  # " + "padding " * 12 + "\n"
        with path.open("w") as fh:
            fh.write(_flow(""))
            fh.write(line * (100 * 1024 * 1024 // len(line)))
    return path


def endless_file(tmp: Path) -> Path:
    return Path("/dev/zero")  # no size to stat: only a bounded read stops it


def anchor_bomb(tmp: Path) -> Path:
    """Billion laughs shaped to the model: nodes -> on -> fixes -> args, each level a list
    or mapping of aliases to the level below (6 KB of text, 1.6 billion values)."""
    args = "{k0: &v v" + "".join(f", k{i}: *v" for i in range(1, FANOUT)) + "}"
    fixes = f"[&x {{action: service.start, args: {args}}}" + ", *x" * (FANOUT - 1) + "]"
    on = f"{{r0: &o {{text: t, fixes: {fixes}}}" + "".join(
        f", r{i}: *o" for i in range(1, FANOUT)) + "}"
    return _write(tmp, "bomb.yaml", _flow(
        f"  - &n {{id: a, kind: check, check: nginx.running, on: {on}}}\n"
        + "  - *n\n" * (FANOUT - 1)))


def deep_nesting(tmp: Path) -> Path:
    depth = 10_000
    return _write(tmp, "deep.yaml", _flow("  - " + "[" * depth + "]" * depth + "\n"))


def _write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text)
    return path


CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "unknown check": (unknown_check, "unknown check 'no.such.check'"),
    "cycle": (cycle_without_way_out, "never reaches an end: every path from it loops"),
    "unreachable node": (unreachable_node, "node 'lost' is unreachable from start 'a'"),
    "long chain": (long_chain, "node 'lost' is unreachable from start 'n0'"),
    "100 MB file": (hundred_megabytes, "the file is too large for a flow"),
    "endless file": (endless_file, "the file is too large for a flow"),
    "anchor bomb": (anchor_bomb, "the flow expands to more than"),
    "deep nesting": (deep_nesting, "nest"),
}


def _run(args: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "wizard", *args], capture_output=True,
                          text=True, timeout=60, check=False, env=env)
    return done, time.monotonic() - started


def _startup() -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "pass"], check=True, timeout=60)
    return time.monotonic() - started


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    state = tmp_path / "state"
    return {**os.environ, "XDG_STATE_HOME": str(state), "XDG_CONFIG_HOME": str(state),
            "HOME": str(state)}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("case", list(CASES))
def test_hostile_flow_is_one_line_exit_2_within_a_second(
        case: str, command: str, tmp_path: Path, env: dict[str, str]) -> None:
    make, reason = CASES[case]
    path = make(tmp_path)
    allowed = 1.0 + _startup()
    done, elapsed = _run([*COMMANDS[command], str(path)], env)
    assert done.returncode == 2, (done.stdout, done.stderr)
    # `flows lint` lists what it finds on stdout; the other commands say it on stderr.
    said = done.stdout if command == "lint" else done.stderr
    assert (done.stderr if command == "lint" else done.stdout) == ""
    assert said.count("\n") == 1 and "Traceback" not in said, said
    assert said.startswith(("nginx-502-wizard: ", str(path)))
    assert f"{path}:" in said and reason in said, said
    assert elapsed < allowed, f"{case} took {elapsed:.2f} s (allowed {allowed:.2f} s)"


def test_a_loop_with_a_way_out_still_runs(tmp_path: Path, env: dict[str, str]) -> None:
    """Loops are legal while a path leaves them (the engine caps the steps): only a loop
    with no way out is refused."""
    flow = _write(tmp_path, "retry.yaml", _flow(
        "  - id: a\n    kind: ask\n    question: Try again?\n    default_choice: 'no'\n"
        "    choices:\n      - {key: 'yes', label: 'Yes', next: a}\n"
        "      - {key: 'no', label: 'No', next: b}\n"
        "  - {id: b, kind: end, text: done}\n"))
    lint, _ = _run(["flows", "lint", str(flow)], env)
    assert lint.returncode == 0 and lint.stdout == f"{flow}: ok (2 nodes)\n"
    assert [n.id for n in find_flow(str(flow)).nodes] == ["a", "b"]  # what diagnose and tui run


def test_deep_nesting_without_libyaml_is_one_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pure-Python composer (used where libyaml is missing) recurses once per level:
    a few thousand levels are beyond Python's recursion limit."""
    monkeypatch.setattr(loader, "_YAML_LOADER", yaml.SafeLoader)
    with pytest.raises(FlowLoadError) as info:
        parse_flow(_flow("  - " + "[" * 3000 + "]" * 3000 + "\n"), "deep.yaml")
    assert str(info.value) == "deep.yaml:1: YAML: nested too deep"
