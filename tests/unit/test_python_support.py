"""The code runs on Python 3.9 (issue 13), checked on whatever Python runs the tests.

nox runs the tests on 3.9 and 3.13 too, but only CI and those who run nox see that; this
catches a newer construct on the default Python, at the line that uses it. Each rule is
a thing that once broke on 3.9 or would: syntax (the 3.9 grammar), standard-library
names added later, `X | Y` evaluated at run time, and calls that read less before 3.11.
wizard/compat.py, the one place with version checks, is exempt from the name rules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMPAT = ROOT / "wizard" / "compat.py"
FUTURE = "annotations"

# (module, name) added after 3.9 -> what to use instead
NEWER_NAMES = {
    ("typing", "ParamSpec"): "wizard.compat.ParamSpec",
    ("types", "UnionType"): "wizard.compat.UNION_ORIGINS",
    ("enum", "StrEnum"): "wizard.compat.StrEnum",
    ("datetime", "UTC"): "wizard.compat.UTC",
    ("typing", "get_type_hints"): "wizard.compat.type_hints (reads `X | Y` on 3.9)",
    **{("typing", n): "a plain annotation" for n in (
        "TypeAlias", "Concatenate", "TypeGuard", "Self", "LiteralString", "Never",
        "assert_never", "reveal_type", "Required", "NotRequired", "Unpack", "TypeVarTuple",
        "dataclass_transform", "override")},
    **{("types", n): "type(None) and friends" for n in (
        "NoneType", "EllipsisType", "NotImplementedType")},
    **{(m, n): "code that 3.9 has" for m, n in (
        ("enum", "ReprEnum"), ("enum", "verify"), ("enum", "member"), ("enum", "nonmember"),
        ("itertools", "pairwise"), ("itertools", "batched"), ("asyncio", "TaskGroup"),
        ("asyncio", "timeout"), ("asyncio", "Runner"), ("contextlib", "chdir"),
        ("contextlib", "aclosing"), ("inspect", "get_annotations"), ("dataclasses", "KW_ONLY"),
        ("hashlib", "file_digest"), ("sys", "orig_argv"), ("sys", "stdlib_module_names"),
        ("re", "NOFLAG"), ("logging", "getLevelNamesMapping"))},
}
NEWER_MODULES = {"tomllib": "tomli before 3.11 (tests/practice/test_cli.py shows how)"}
NEWER_BUILTINS = {"aiter", "anext", "ExceptionGroup", "BaseExceptionGroup", "EncodingWarning"}
NEWER_KEYWORDS = {  # call name -> keywords it takes only from 3.10 on
    "zip": {"strict"}, "dataclass": {"slots", "kw_only", "match_args"}, "field": {"kw_only"},
    "bisect": {"key"}, "bisect_left": {"key"}, "bisect_right": {"key"}, "insort": {"key"},
    "write_text": {"newline"}, "read_text": {"newline"},  # Path: 3.10 and 3.13
}
BUILTIN_TYPES = {"str", "int", "float", "bytes", "bool", "list", "tuple", "dict", "set",
                 "frozenset", "type", "object"}


def python_files() -> list[Path]:
    return sorted([*(ROOT / "wizard").rglob("*.py"), *(ROOT / "tests").rglob("*.py"),
                   ROOT / "noxfile.py"])


def _classlike(node: ast.AST) -> bool:
    """A class or type in a `|`, not a flag: `str`, `None`, `Screen`, `list[int]`, `A | B`."""
    if isinstance(node, ast.Constant):
        return node.value is None
    name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")
    if isinstance(node, (ast.Name, ast.Attribute)):
        return name in BUILTIN_TYPES or (name[:1].isupper() and not name.isupper())
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _classlike(node.left) and _classlike(node.right)
    return isinstance(node, ast.Subscript)


def _annotations(tree: ast.AST) -> set[int]:
    """ids of every node inside an annotation."""
    found: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            found += [arg.annotation for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs,
                                                  a.vararg, a.kwarg] if arg and arg.annotation]
            found += [node.returns] if node.returns else []
        elif isinstance(node, ast.AnnAssign):
            found.append(node.annotation)
    return {id(sub) for annotation in found for sub in ast.walk(annotation)}


def _version_guarded(tree: ast.AST) -> set[int]:
    """ids of every node under `if sys.version_info >= ...:` (the newer Python's branch)."""
    return {id(sub) for node in ast.walk(tree) if isinstance(node, ast.If)
            and "version_info" in ast.unparse(node.test)
            for statement in node.body for sub in ast.walk(statement)}


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def newer_than_39(source: str, path: str, exempt: bool = False,
                  product: bool = True) -> Iterator[str]:
    """`path:line: what` for each construct of `source` that Python 3.9 lacks. `product`:
    code the wizard runs, where datetime.fromisoformat reads what a host wrote."""
    try:
        tree = ast.parse(source, path, feature_version=(3, 9))
    except SyntaxError as exc:
        yield f"{path}:{exc.lineno}: syntax newer than 3.9 ({exc.msg})"
        return
    future = any(isinstance(n, ast.ImportFrom) and n.module == "__future__"
                 and any(a.name == FUTURE for a in n.names) for n in tree.body)
    in_annotation = _annotations(tree)
    guarded = _version_guarded(tree)
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        for what in _newer_node(node, future, id(node) in in_annotation, exempt, product):
            yield f"{path}:{getattr(node, 'lineno', 0)}: {what}"


def _newer_node(node: ast.AST, future: bool, annotation: bool, exempt: bool,
                product: bool) -> Iterator[str]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr) and _classlike(node):
        if not (annotation and future):
            yield (f"`{ast.unparse(node)}` is evaluated at run time: Optional/Union, "
                   "a tuple for isinstance, or `from __future__ import annotations`")
    elif isinstance(node, ast.Call):
        used = {k.arg for k in node.keywords} & NEWER_KEYWORDS.get(_call_name(node), set())
        yield from (f"{_call_name(node)}({k}=) is newer than 3.9" + (
            ": wizard.compat.zip_strict" if k == "strict" else "") for k in sorted(used))
        if (product and not exempt and _call_name(node) == "fromisoformat"
                and not isinstance(node.func, ast.Name)):
            yield "datetime.fromisoformat reads less before 3.11: wizard.compat.fromisoformat"
    elif isinstance(node, (ast.Import, ast.ImportFrom)) and not exempt:
        yield from _newer_import(node)
    elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and not exempt:
        if (node.value.id, node.attr) in NEWER_NAMES:
            yield f"{node.value.id}.{node.attr}: {NEWER_NAMES[node.value.id, node.attr]}"
    elif isinstance(node, ast.Name) and node.id in NEWER_BUILTINS:
        yield f"{node.id} is 3.10+"
    elif isinstance(node, ast.ExceptHandler) and not exempt and _is_name(node.type,
                                                                        "TimeoutError"):
        yield "a socket's timeout is no TimeoutError before 3.10: wizard.compat.SOCKET_TIMEOUTS"


def _is_name(node: ast.AST | None, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _newer_import(node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (f"import {a.name}: {NEWER_MODULES[a.name]}" for a in node.names
                    if a.name in NEWER_MODULES)
        return
    for alias in node.names:
        if (node.module, alias.name) in NEWER_NAMES:
            yield f"from {node.module} import {alias.name}: " \
                  f"{NEWER_NAMES[str(node.module), alias.name]}"


def test_every_file_uses_only_what_python_39_has() -> None:
    found = [line for path in python_files()
             for line in newer_than_39(path.read_text(encoding="utf-8"),
                                       str(path.relative_to(ROOT)), exempt=path == COMPAT,
                                       product=path.is_relative_to(ROOT / "wizard"))]
    assert found == [], "\n".join(found)


def test_the_rules_catch_what_broke_on_39() -> None:
    """The check itself works: each construct that failed on 3.9 while this was made."""
    source = (
        "from enum import StrEnum\nimport datetime, tomllib\n"
        "from typing import ParamSpec\n"
        "Alias = dict[str, tuple[int, str | None]]\n"
        "class Screen(ModalScreen[str | None]): ...\n"
        "def f(x: int | None) -> None:\n"
        "    isinstance(x, list | tuple)\n"
        "    zip(a, b, strict=True)\n"
        "    datetime.datetime.fromisoformat('2024-01-01T00:00:00Z')\n"
        "    datetime.UTC\n"
        "    try: pass\n"
        "    except TimeoutError: pass\n"
        "    flags = os.O_WRONLY | os.O_CREAT\n"  # not a type: fine
        "match x:\n    case 1: pass\n")
    assert len(list(newer_than_39(source, "f.py"))) == 1  # the grammar stops at `match`
    found = list(newer_than_39(source.split("match")[0], "f.py"))
    lines = sorted(int(f.split(":")[1]) for f in found)
    assert lines == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12], "\n".join(found)
