"""nginx-502-wizard: find and fix the cause of an nginx 502 Bad Gateway."""

__version__ = "0.1.0"
TOOL_NAME = "nginx-502-wizard"
