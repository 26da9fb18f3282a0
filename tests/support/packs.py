"""Pack folders for tests: copies of the shipped packs with their [sla] replaced."""
from __future__ import annotations

import shutil
from pathlib import Path

from server.config import REPO_ROOT

# Fixed targets that ignore intent and severity and run around the clock.
FLAT_SLA = """
[sla]
due_soon_fraction = 0.25
[sla.x]
default_minutes = 60
[sla.facebook]
default_minutes = 120
"""


def write_pack(root: Path, name: str, sla_toml: str) -> Path:
    """A copy of the default pack under `root/name` with its [sla] section replaced."""
    folder = root / name
    shutil.copytree(REPO_ROOT / "prompts" / "default", folder)
    text = (folder / "pack.toml").read_text()
    text = text.replace('name = "default"', f'name = "{name}"', 1)
    start, end = text.index("[sla]"), text.index("[tone]")
    (folder / "pack.toml").write_text(text[:start] + sla_toml.strip() + "\n\n" + text[end:])
    return root


def short_sla_packs(src: Path, dest: Path, x_minutes: float = 10, facebook_minutes: float = 60,
                    due_soon_fraction: float = 0.25) -> Path:
    """A copy of the packs folder whose targets ignore intent and severity, so tests know every deadline."""
    import tomlkit

    shutil.copytree(src, dest, dirs_exist_ok=True)
    for pack_toml in dest.glob("*/pack.toml"):
        doc = tomlkit.parse(pack_toml.read_text())
        sla = doc.setdefault("sla", tomlkit.table())
        sla["due_soon_fraction"] = due_soon_fraction
        sla["x"] = {"default_minutes": x_minutes}
        sla["facebook"] = {"default_minutes": facebook_minutes}
        sla.pop("business_hours", None)  # the clock must run now, whatever the day and hour
        pack_toml.write_text(tomlkit.dumps(doc))
    return dest
