"""Where flows come from: the built-in ones shipped with the package, plus folders of
runbook flows given with --flows (or kept in the system and user flow folders)."""

from __future__ import annotations

import os
from pathlib import Path

from wizard.flow.loader import FlowError, FlowLoadError, load_flow
from wizard.flow.model import Flow

_PACKAGE = Path(__file__).resolve().parent.parent


def builtin_flow_dir() -> Path:
    """wizard/flows inside an installed wheel; the repo's top-level flows/ in a checkout."""
    installed = _PACKAGE / "flows"
    if any(installed.glob("*.yaml")):
        return installed
    return _PACKAGE.parent / "flows"


def default_flow_dirs() -> list[Path]:
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return [Path("/etc/nginx-502-wizard/flows"), config_home / "nginx-502-wizard" / "flows"]


def flow_files(extra_dirs: list[str] | None = None) -> list[Path]:
    """Every flow file, built-in first; later folders may override a name."""
    dirs = [builtin_flow_dir(), *default_flow_dirs(), *(Path(d) for d in extra_dirs or [])]
    files: list[Path] = []
    for folder in dirs:
        if folder.is_dir():
            files.extend(sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]))
    return files


def find_flow(name_or_path: str, extra_dirs: list[str] | None = None) -> Flow:
    """Load a flow by file path or by its `flow:` name. Raises FlowLoadError."""
    if os.sep in name_or_path or name_or_path.endswith((".yaml", ".yml")):
        return load_flow(name_or_path)
    for d in extra_dirs or []:
        if not Path(d).is_dir():
            raise FlowLoadError([FlowError(d, 1, "--flows folder does not exist")])
    found: Flow | None = None
    for path in flow_files(extra_dirs):
        if path.stem == name_or_path:
            found = load_flow(path)  # later folders win
    if found is None:
        raise FlowLoadError([FlowError(name_or_path, 1, "no flow by that name "
                                       "(see `nginx-502-wizard flows list`)")])
    return found
