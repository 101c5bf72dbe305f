"""`explain`: turn error-log text into records, each with a signature and causes."""

from __future__ import annotations

import json
from typing import IO, Any


def explain_stream(stream: IO[bytes]) -> list[dict[str, Any]]:
    raise NotImplementedError  # filled in by the error-log classifier


def render_explain(entries: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps({"entries": entries}, indent=2) + "\n"
    return "\n".join(f"{e['line']}: {e['signature']}" for e in entries) + "\n"
