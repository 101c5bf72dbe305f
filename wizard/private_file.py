"""Writing a file only its owner may read: what the wizard writes for a person (a snapshot,
an exported session, the Markdown report) holds log lines, configuration and command
output from a production host."""

from __future__ import annotations

import os


def write_private(path: str | os.PathLike[str], text: str) -> None:
    """Write text to path, mode 0600 from the first byte (created so, and an existing file
    made so too: open keeps an older file's mode). Raises OSError."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        os.fchmod(fd, 0o600)
        stream.write(text)
