"""Fixtures of the end-to-end tests."""

from tests.e2e.debian_site import debian_site  # noqa: F401  (a fixture)
