"""The few names newer than Python 3.9 that the code uses, with a 3.9 stand-in for each.

The wizard runs on every CPython from 3.9 on (Debian 11 and RHEL 9 ship 3.9). Version
checks live here only; every other module imports the name from this one.
tests/unit/test_python_support.py fails when code uses a newer name directly.
"""

from __future__ import annotations

import ast
import re
import socket
import sys
import typing
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from enum import Enum
from itertools import zip_longest
from typing import Any, TypeVar, overload

if sys.version_info >= (3, 10):
    import types
    from typing import ParamSpec
else:
    from typing_extensions import ParamSpec

__all__ = ["SOCKET_TIMEOUTS", "UNION_ORIGINS", "UTC", "ParamSpec", "StrEnum", "fromisoformat",
           "type_hints", "zip_strict"]

# datetime.UTC (3.11) is this very object.
UTC = timezone.utc

# What a socket raises when its timeout passes: socket.timeout, an OSError that became
# another name for TimeoutError only in 3.10. Catch both, or 3.9 takes it for another error.
SOCKET_TIMEOUTS: tuple[type[OSError], ...] = (TimeoutError, socket.timeout)

# typing.get_origin of `X | Y`: types.UnionType from 3.10 on, typing.Union for Union[X, Y].
UNION_ORIGINS: tuple[Any, ...]
if sys.version_info >= (3, 10):
    UNION_ORIGINS = (typing.Union, types.UnionType)
else:
    UNION_ORIGINS = (typing.Union,)

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:

    class StrEnum(str, Enum):
        """enum.StrEnum (3.11): members are strings, and str() and format() give the value."""

        def __str__(self) -> str:
            return str(self.value)

        def __format__(self, spec: str) -> str:
            return format(str(self.value), spec)


_A = TypeVar("_A")
_B = TypeVar("_B")
_C = TypeVar("_C")


@overload
def zip_strict(a: Iterable[_A], b: Iterable[_B], /) -> Iterator[tuple[_A, _B]]: ...
@overload
def zip_strict(a: Iterable[_A], b: Iterable[_B], c: Iterable[_C], /
               ) -> Iterator[tuple[_A, _B, _C]]: ...
def zip_strict(*iterables: Iterable[Any]) -> Iterator[tuple[Any, ...]]:
    """zip(..., strict=True) (3.10): ValueError when one iterable ends before the others."""
    missing = object()
    for items in zip_longest(*iterables, fillvalue=missing):
        if any(item is missing for item in items):
            raise ValueError("zip_strict: the iterables have different lengths")
        yield items


# What datetime.fromisoformat reads from 3.11 on but not before: "Z", "+0200", and a
# fraction of seconds other than 3 or 6 digits.
_ISO_ZONE = re.compile(r"(?:Z|([+-]\d\d):?(\d\d))$")
_ISO_FRACTION = re.compile(r"(\d\d:\d\d:\d\d)[.,](\d+)")


def fromisoformat(text: str) -> datetime:
    """datetime.fromisoformat as 3.11 reads it, for the ISO 8601 times logs write."""
    if sys.version_info >= (3, 11):
        return datetime.fromisoformat(text)
    text = _ISO_ZONE.sub(lambda m: f"{m[1]}:{m[2]}" if m[1] else "+00:00", text)
    text = _ISO_FRACTION.sub(lambda m: f"{m[1]}.{m[2][:6].ljust(6, '0')}", text)
    return datetime.fromisoformat(text)


class _PipeToUnion(ast.NodeTransformer):
    """`X | Y` in an annotation becomes `Union[X, Y]`, which Python 3.9 can evaluate."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if not isinstance(node.op, ast.BitOr):
            return node
        union = ast.Name(id="__compat_Union__", ctx=ast.Load())
        pair = ast.Tuple(elts=[node.left, node.right], ctx=ast.Load())
        return ast.copy_location(ast.Subscript(value=union, slice=pair, ctx=ast.Load()), node)


def _evaluate(annotation: Any, namespace: dict[str, Any]) -> Any:
    if not isinstance(annotation, str):
        return annotation
    tree = _PipeToUnion().visit(ast.parse(annotation, mode="eval"))
    code = compile(ast.fix_missing_locations(tree), "<annotation>", "eval")
    # The same evaluation typing.get_type_hints does, on the class's own annotations.
    value = eval(code, namespace)
    return type(None) if value is None else value


def type_hints(cls: type) -> dict[str, Any]:
    """typing.get_type_hints(cls), also where its annotations say `X | Y` on Python 3.9."""
    if sys.version_info >= (3, 10):
        return typing.get_type_hints(cls)
    hints: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        # Names resolve in the class's module, as typing.get_type_hints resolves them.
        module = sys.modules.get(klass.__module__)
        namespace = {**(vars(module) if module else {}), "__compat_Union__": typing.Union}
        for name, annotation in vars(klass).get("__annotations__", {}).items():
            hints[name] = _evaluate(annotation, namespace)
    return hints
