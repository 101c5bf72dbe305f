"""Where flows come from: the built-in ones shipped with the package, plus folders of
runbook flows given with --flows (or kept in the system and user flow folders)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from wizard.flow.loader import FlowError, FlowLoadError, load_flow
from wizard.flow.model import Flow

_PACKAGE = Path(__file__).resolve().parent.parent

# Where a flow file was found, in the order the folders are read (later ones win a name).
BUILT_IN, SYSTEM, USER, EXTRA = "built-in", "system", "user", "--flows"
SYSTEM_FLOW_DIR = Path("/etc/nginx-502-wizard/flows")


@dataclass(frozen=True)
class FlowFile:
    """One flow file in the folders the wizard reads, and where it was found."""

    name: str  # what `--flow NAME` picks: the file name without .yaml
    path: Path
    source: str  # BUILT_IN, SYSTEM, USER or EXTRA


def builtin_flow_dir() -> Path:
    """wizard/flows inside an installed wheel; the repo's top-level flows/ in a checkout."""
    installed = _PACKAGE / "flows"
    if any(installed.glob("*.yaml")):
        return installed
    return _PACKAGE.parent / "flows"


def user_flow_dir() -> Path:
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config_home / "nginx-502-wizard" / "flows"


def default_flow_dirs() -> list[Path]:
    return [SYSTEM_FLOW_DIR, user_flow_dir()]


def flow_folders(extra_dirs: list[str] | None = None) -> list[tuple[str, Path]]:
    """(source, folder) in reading order: built-in, system, user, then each --flows."""
    return [(BUILT_IN, builtin_flow_dir()), (SYSTEM, SYSTEM_FLOW_DIR), (USER, user_flow_dir()),
            *((EXTRA, Path(d)) for d in extra_dirs or [])]


def flow_catalogue(extra_dirs: list[str] | None = None) -> list[FlowFile]:
    """Every flow file in reading order; of two files with one name, the later is used."""
    found: list[FlowFile] = []
    for source, folder in flow_folders(extra_dirs):
        if folder.is_dir():
            paths = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
            found.extend(FlowFile(path.stem, path, source) for path in paths)
    return found


def in_use(catalogue: list[FlowFile]) -> dict[str, FlowFile]:
    """The file each name resolves to: the last one read."""
    return {entry.name: entry for entry in catalogue}


def flow_files(extra_dirs: list[str] | None = None) -> list[Path]:
    """Every flow file, built-in first; later folders may override a name."""
    return [entry.path for entry in flow_catalogue(extra_dirs)]


def find_flow(name_or_path: str, extra_dirs: list[str] | None = None) -> Flow:
    """Load a flow by file path, or by name: the file name without .yaml, looked up in
    the flow folders (the last folder that has it wins). Raises FlowLoadError, also for
    a flow that would walk wrong (see lint.walk_errors): it is refused, not run."""
    if os.sep in name_or_path or name_or_path.endswith((".yaml", ".yml")):
        return _runnable(load_flow(name_or_path))
    for d in extra_dirs or []:
        if not Path(d).is_dir():
            raise FlowLoadError([FlowError(d, 1, "--flows folder does not exist")])
    found = in_use(flow_catalogue(extra_dirs)).get(name_or_path)
    if found is None:
        raise FlowLoadError([FlowError(name_or_path, 1, "no flow by that name "
                                       "(see `nginx-502-wizard flows list`)")])
    return _runnable(load_flow(found.path))


def _runnable(flow: Flow) -> Flow:
    from wizard.flow.lint import walk_errors  # lint loads every check and fix

    errors = walk_errors(flow)
    if errors:
        raise FlowLoadError(errors)
    return flow
