"""From a cause in the report to the fixes that can be run for it.

The report lists each cause's fixes by plan id; the walk's steps hold the offers with
their plans. A fix is run from the step that offered it, so its proof re-checks that
step (Session.apply_fix).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wizard.engine.transcript import FixOffer, Step


@dataclass(frozen=True)
class CauseFixes:
    """The fixes offered for one cause: the step index that offered each, and its offer."""

    title: str
    offers: list[tuple[int, FixOffer]]


def cause_fixes(cause: dict[str, Any], steps: list[Step]) -> CauseFixes:
    """The runnable offers for a report cause, in the report's order of its fixes."""
    wanted = [fix["id"] for fix in cause.get("fixes") or []]
    found: dict[str, tuple[int, FixOffer]] = {}
    for index, step in enumerate(steps):
        for offer in step.fixes:
            plan_id = str((offer.plan or {}).get("id"))
            if plan_id in wanted and plan_id not in found:
                found[plan_id] = (index, offer)
    return CauseFixes(str(cause.get("title") or ""),
                      [found[plan_id] for plan_id in wanted if plan_id in found])
