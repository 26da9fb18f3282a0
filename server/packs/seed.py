"""First start: copy the shipped packs (the repository's `prompts/`) into the data folder, where the console edits.

The shipped folder stays the read-only default: a save in the console never rewrites a git checkout. Seeding runs
only when the packs folder does not exist yet, so a lead's edits (and a pack a lead retired) are never overwritten
by a later start; the copy is made beside the target and renamed into place, so a crash leaves no half-copied
folder that would look seeded.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from server.config import Config


def seed_packs(cfg: Config) -> bool:
    """Copy `cfg.seed_packs_from` to `cfg.packs_dir` when the latter is missing; True when it copied."""
    source, target = cfg.seed_packs_from, Path(cfg.packs_dir)
    if source is None or target.exists() or not Path(source).is_dir():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.seeding.{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(source, tmp, ignore=shutil.ignore_patterns(".*", "__pycache__"))
    try:
        os.rename(tmp, target)
    except OSError:  # another process seeded first: theirs stands
        shutil.rmtree(tmp, ignore_errors=True)
        return False
    return True
