"""Placeholder until the Textual app lands (issue 4)."""

from __future__ import annotations

import argparse

from wizard.options import Options


def run_tui(options: Options, args: argparse.Namespace) -> int:
    raise NotImplementedError
