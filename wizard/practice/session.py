"""One practice run's sandbox, from its folder to its removal: built, visited, handed to
the wizard as options, and swept whatever ends the run (see cleanup.py)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

from wizard.fixes.backups import BACKUP_DIR_ENV
from wizard.options import Options
from wizard.practice.cleanup import SandboxCleanup
from wizard.practice.parts import Parts
from wizard.practice.sandbox import Sandbox, make_folder
from wizard.practice.scenarios import Scenario


@dataclass(frozen=True)
class PracticeRun:
    scenario: Scenario
    sandbox: Sandbox
    options: Options  # --nginx-conf and --url set, fixes confined to the sandbox

    @property
    def url(self) -> str:
        return self.scenario.url(self.sandbox)


@contextlib.contextmanager
def practice_run(scenario: Scenario, parts: Parts,
                 base_dir: str | None = None) -> Iterator[PracticeRun]:
    """The scenario's sandbox, broken and visited, for the length of the block."""
    prefix = make_folder(base_dir)
    before = os.environ.get(BACKUP_DIR_ENV)
    with SandboxCleanup(prefix):
        # a config fix keeps its backups inside the sandbox, so they go with it
        os.environ[BACKUP_DIR_ENV] = f"{prefix}/backups"
        try:
            sandbox = Sandbox(prefix, scenario.spec, parts)
            sandbox.build()
            scenario.visitors(sandbox)
            options = Options(nginx_conf=sandbox.nginx_conf, url=scenario.url(sandbox),
                              practice=sandbox.practice())
            yield PracticeRun(scenario, sandbox, options)
        finally:
            if before is None:
                os.environ.pop(BACKUP_DIR_ENV, None)
            else:
                os.environ[BACKUP_DIR_ENV] = before
