"""The arrows point one way (ARCHITECTURE.md): cli -> tui -> engine -> flow / checks /
fixes -> host, all over a few shared vocabulary modules. A module imports its own layer
or a lower one, never a higher one; and the user interfaces never reach into wizard.host
(the TUI never runs a command or reads /etc itself: the engine hands it facts)."""

from __future__ import annotations

import ast
from pathlib import Path

WIZARD = Path(__file__).resolve().parents[2] / "wizard"

# Lower number = nearer the person. Shared vocabulary (ids, options, outcomes, words for
# log lines, the package's name and version) sits below everything and imports nothing.
LAYER = {
    "__main__": 0, "cli": 1, "cli_sessions": 1, "cli_flows": 1, "tui": 2, "engine": 3,
    "cli_practice": 1, "practice": 1,  # practice drives a sandbox and opens the TUI
    "flow": 4, "checks": 4, "fixes": 4, "explain": 4,
    "host": 5,
    "": 6, "options": 6, "outcome": 6, "causes": 6, "signatures": 6, "log_wrappers": 6,
    "log_needles": 6, "log_reader": 6,
    "redact": 6, "safe_text": 6, "words": 6, "socket_path": 6,
    "compat": 6,  # stand-ins for names newer than Python 3.9
    "gc_pause": 6, "private_file": 6,
}
USER_INTERFACES = {"cli", "cli_sessions", "cli_practice", "cli_flows", "tui"}


def part_of(module: str) -> str:
    """wizard.tui.screens.walk -> 'tui'; wizard -> ''."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def wizard_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of a wizard module, TYPE_CHECKING ones included."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [(node.lineno, n) for n in names if n == "wizard" or n.startswith("wizard.")]
    return found


def module_of(path: Path, root: Path = WIZARD) -> str:
    return ".".join(path.relative_to(root.parent).with_suffix("").parts).removesuffix(
        ".__init__")


def violations(root: Path = WIZARD) -> list[str]:
    wrong: list[str] = []
    for path in sorted(root.rglob("*.py")):
        source = part_of(module_of(path, root))
        for line, target in wizard_imports(path):
            into = part_of(target)
            where = f"{path.relative_to(root.parent)}:{line} imports {target}"
            if LAYER[into] < LAYER[source]:
                wrong.append(f"{where}: {source or 'wizard'} is below {into}")
            elif source in USER_INTERFACES and into == "host":
                wrong.append(f"{where}: the {source} goes through the engine for facts")
    return wrong


def test_every_part_of_the_package_has_a_layer() -> None:
    parts = {part_of(module_of(p)) for p in WIZARD.rglob("*.py")}
    assert parts <= set(LAYER), parts - set(LAYER)


def test_imports_point_one_way() -> None:
    assert violations() == []


def test_wrong_way_imports_are_caught(tmp_path: Path) -> None:
    """The check itself works: the TUI importing the CLI's helpers inside a function (as
    it once did), and the CLI reading host facts itself, are both reported."""
    package = tmp_path / "wizard"
    (package / "tui").mkdir(parents=True)
    (package / "tui" / "app.py").write_text(
        "def run_tui():\n    from wizard.cli import _make_facts\n")
    (package / "cli.py").write_text("from wizard.host.facts import Facts\n")
    assert violations(package) == [
        "wizard/cli.py:1 imports wizard.host.facts: the cli goes through the engine for facts",
        "wizard/tui/app.py:2 imports wizard.cli: tui is below cli",
    ]
