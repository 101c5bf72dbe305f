"""The `@check` decorator and the registry the engine and `flows lint` read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from wizard.host.facts import Facts
from wizard.outcome import CheckResult, Status

CheckFn = Callable[[Facts], CheckResult]

# Every check may also end `unknown` (it could not tell) or `skipped` (does not apply).
IMPLICIT_RESULTS = {"unknown": Status.UNKNOWN, "skipped": Status.SKIPPED}


@dataclass(frozen=True)
class CheckSpec:
    name: str
    fn: CheckFn
    results: dict[str, Status]
    facts: tuple[str, ...]
    causes: tuple[str, ...]
    timeout: float
    doc: str

    def status_of(self, result: str) -> Status:
        all_results = {**IMPLICIT_RESULTS, **self.results}
        if result not in all_results:
            raise ValueError(f"check {self.name} returned undeclared result {result!r}")
        return all_results[result]


REGISTRY: dict[str, CheckSpec] = {}


def check(
    name: str,
    *,
    results: dict[str, Status],
    facts: tuple[str, ...] = (),
    causes: tuple[str, ...] = (),
    timeout: float = 30.0,
) -> Callable[[CheckFn], CheckFn]:
    """Register a check. `results` names every result it returns besides unknown/skipped."""

    def register(fn: CheckFn) -> CheckFn:
        if name in REGISTRY:
            raise ValueError(f"check {name} registered twice")
        REGISTRY[name] = CheckSpec(
            name=name, fn=fn, results=dict(results), facts=facts, causes=causes,
            timeout=timeout, doc=(fn.__doc__ or "").strip(),
        )
        return fn

    return register
