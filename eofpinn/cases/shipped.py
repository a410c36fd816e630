"""The cases shipped with eofpinn: the repository's `cases/*.toml`, also installed as package data.

A wheel carries them as `eofpinn/case_files/*.toml` (setup.py maps the package
`eofpinn.case_files` onto the folder `cases/`, so the files exist once, where users copy them
from); an editable install or a clone reads `cases/` itself. `load_case("quickstart")` and
`eofpinn cases` go through here.
"""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_PACKAGE = Path(__file__).resolve().parents[1]


def shipped_dir() -> Path:
    """Where the shipped case files are: inside the installed package, else the clone's cases/."""
    installed = _PACKAGE / "case_files"
    return installed if installed.is_dir() else _PACKAGE.parent / "cases"


def shipped_cases() -> dict[str, Path]:
    """Shipped case name (the file's stem) → path, sorted by name."""
    return {path.stem: path for path in sorted(shipped_dir().glob("*.toml"))}


def resolve_case(case: str | Path) -> Path:
    """A case file's path: `case` itself, or the shipped case of that name when `case` is a bare
    name (no folder, no suffix) that is not a file here."""
    path = Path(case)
    if path.exists() or path.suffix or len(path.parts) != 1:
        return path
    return shipped_cases().get(path.name, path)


def description(path: Path) -> str:
    """The one-line [case] description of a shipped file ("" when it has none)."""
    with path.open("rb") as handle:
        return str(tomllib.load(handle).get("case", {}).get("description", ""))
