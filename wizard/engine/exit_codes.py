"""Exit codes of `diagnose` (CONTRACTS.md), in a module of their own so the command line
can name them without importing the report and everything it reads."""

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3
