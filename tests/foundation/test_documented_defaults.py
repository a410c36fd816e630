"""docs/case-files.md shows every [pinn] key with its default in one TOML block: it must be the
code's default (PINNSettings), key by key, so that the reference page cannot drift."""

import re
import tomllib
from pathlib import Path

from eofpinn.cases.pinn_settings import PINNSettings

DOC = Path(__file__).resolve().parents[2] / "docs" / "case-files.md"


def _documented_pinn_block() -> dict:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## [pinn]"):]
    return tomllib.loads(re.search(r"```toml\n(.*?)```", section, re.S).group(1))["pinn"]


def _differences(documented: dict, settings, prefix: str = "") -> list[str]:
    found = []
    for key, value in documented.items():
        if isinstance(value, dict):
            found += _differences(value, getattr(settings, key), prefix + key + ".")
            continue
        if not hasattr(settings, key):  # an optimiser's or balancer's own option, resolved by its registry
            continue
        default = getattr(settings, key)
        if default is None:  # "absent: the optimiser's default", documented in the comment
            continue
        default = list(default) if isinstance(default, tuple) else default
        if default != value:
            found.append(f"{prefix}{key}: documented {value!r}, code {default!r}")
    return found


def test_documented_pinn_defaults_are_the_code_defaults():
    documented = _documented_pinn_block()
    assert len(documented) >= 8  # the block was found and parsed, not an empty match
    assert _differences(documented, PINNSettings()) == []


def test_a_drifted_default_is_caught():
    documented = _documented_pinn_block()
    documented["steps"] = PINNSettings().steps + 1
    assert _differences(documented, PINNSettings()) == [f"steps: documented {PINNSettings().steps + 1}, code {PINNSettings().steps}"]
