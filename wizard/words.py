"""Titles put inside a sentence."""

from __future__ import annotations


def lower_first(text: str) -> str:
    """'Start nginx' -> 'start nginx', 'The upstream ...' -> 'the upstream ...', but
    'PHP-FPM ...' and 'SELinux ...' stay as written."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text
