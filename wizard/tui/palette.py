"""The wizard's actions in the command palette (ctrl+p), by name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from textual.app import SystemCommand

if TYPE_CHECKING:
    from wizard.tui.app import WizardApp


def palette_commands(app: WizardApp) -> Iterator[SystemCommand]:
    walk = app.walk
    yield SystemCommand("The answer", "The most likely cause and its fix", walk.action_verdict)
    yield SystemCommand("Next step", "Show the next step of the walk", walk.action_next)
    yield SystemCommand("Re-run check", "Run the selected step's check again",
                        walk.action_rerun)
    yield SystemCommand("Fix", "Show the fix for the selected step", walk.action_fix)
    yield SystemCommand("Evidence", "Show or hide the evidence", walk.action_evidence)
    yield SystemCommand("Cancel check", "Stop the running check", walk.action_cancel)
    yield SystemCommand("Summary", "Causes found, fixes made, what is left", app.show_summary)
    yield SystemCommand("Export Markdown", "Write the report as Markdown", app.action_export)
    yield SystemCommand("Commands run", "Every command the wizard ran, with its output",
                        app.action_commands_run)
    yield SystemCommand("Keys", "Every key of the wizard", app.action_help)
