"""The text and Markdown reports are read by people: causes and fixes by their titles,
never an id (cause, fix action, check, node). The JSON keeps every id (CONTRACTS.md)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.plain_words import CAUSE, CHECK, header_check, internal_names, shown, words_flow
from wizard.engine.report import build_report, render
from wizard.engine.runner import Session
from wizard.host.facts import Facts


def diagnosed(recorded: Callable[..., Facts]) -> dict[str, Any]:
    facts = recorded({"system": {"service_manager": "systemd"}, "processes": []})
    session = Session(words_flow(), facts)
    return build_report(session.run(), facts)


def test_text_report_says_causes_and_fixes_in_words(
        test_checks: Callable[..., None], recorded: Callable[..., Facts]) -> None:
    test_checks(CHECK, header_check)
    report = diagnosed(recorded)
    text = render(report, "text")
    assert shown(text, internal_names(report)) == []
    assert "1. The upstream's response header is too big\n" in text
    assert "   - error log: upstream sent too big header\n" in text
    assert "   fix: Start nginx (needs root)\n     $ systemctl start nginx\n" in text


def test_markdown_report_says_causes_and_fixes_in_words(
        test_checks: Callable[..., None], recorded: Callable[..., Facts]) -> None:
    test_checks(CHECK, header_check)
    report = diagnosed(recorded)
    markdown = render(report, "markdown")
    assert shown(markdown, internal_names(report)) == []
    assert "### 1. The upstream's response header is too big\n" in markdown
    assert "Fix: Start nginx\n" in markdown


def test_json_report_keeps_the_ids(
        test_checks: Callable[..., None], recorded: Callable[..., Facts]) -> None:
    test_checks(CHECK, header_check)
    report = json.loads(render(diagnosed(recorded), "json"))
    (cause,) = report["causes"]
    assert cause["id"] == CAUSE
    assert [fix["id"] for fix in cause["fixes"]] == ["service.start:nginx"]
    assert report["steps"][0]["node"] == "header_node"
    assert cause["evidence"] == [{"source": "error_log",
                                  "detail": "upstream sent too big header"}]
