"""Host facts: the only code that touches the machine (processes, files, commands, sockets)."""
