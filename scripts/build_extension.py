"""Build installable zips of the extension: dist/replydesk-chromium.zip and dist/replydesk-firefox.zip.

The unpacked folder (extension/) targets Chromium. Firefox's MV3 runs the background as an event page
(`background.scripts`) rather than a service worker and wants an add-on id (`browser_specific_settings.gecko`), so
its zip carries a rewritten manifest.json; every other file is shared. Both run background.js as an ES module, which
imports the worker's modules (worker/*.js): every file under extension/ goes into both zips, and the build checks
that each relative import of each module names a file that is there. Zips are reproducible: sorted entries and a
fixed timestamp.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "extension"
GECKO_ID = "reply-desk@replydesk.local"
FIXED_TIME = (2024, 1, 1, 0, 0, 0)
SKIP = {".DS_Store", "README.md"}


def firefox_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """The Chromium manifest adapted to Firefox's MV3."""
    out = json.loads(json.dumps(manifest))
    background = out.pop("background", {})
    out["background"] = {"scripts": [background.get("service_worker", "background.js")], "type": "module"}
    out.pop("minimum_chrome_version", None)
    out["browser_specific_settings"] = {"gecko": {
        "id": GECKO_ID,
        # 128: the first Firefox that reads optional_host_permissions (a team server's address is asked for at
        # run time); before it the add-on could never reach a server other than this machine's.
        "strict_min_version": "128.0",
        # Reply Desk sends posts only to the agent's own local server: nothing is collected by the add-on's author.
        "data_collection_permissions": {"required": ["none"]},
    }}
    # Firefox has no chrome.sidePanel: the same queue view is its sidebar.
    side = out.pop("side_panel", None)
    if side:
        out["sidebar_action"] = {"default_panel": side["default_path"], "default_title": "Reply Desk queue",
                                 "open_at_install": False}
    out["permissions"] = [p for p in out.get("permissions", []) if p != "sidePanel"]
    # Firefox shows the options page inside about:addons unless told otherwise; a tab is easier to paste into.
    out.setdefault("options_ui", {})["open_in_tab"] = True
    return out


IMPORT = re.compile(r"""(?:^|[;\s])(?:import|export)\s[^'"]*?\bfrom\s*["']([^"']+)["']"""
                    r"""|\bimport\s*["']([^"']+)["']""", re.M)


def missing_imports(source: Path) -> list[str]:
    """`module -> import` for every relative import of an extension module that names no file in the folder."""
    out = []
    for path in sorted(source.rglob("*.js")):
        for m in IMPORT.finditer(path.read_text(encoding="utf-8")):
            ref = m.group(1) or m.group(2)
            if ref.startswith(".") and not (path.parent / ref).resolve().is_file():
                out.append(f"{path.relative_to(source).as_posix()} -> {ref}")
    return out


def files(source: Path) -> list[Path]:
    return sorted(p for p in source.rglob("*") if p.is_file() and p.name not in SKIP and "__pycache__" not in p.parts)


def write_zip(target: Path, source: Path, manifest: dict[str, Any]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in files(source):
            rel = path.relative_to(source).as_posix()
            data = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode() if rel == "manifest.json" \
                else path.read_bytes()
            info = zipfile.ZipInfo(rel, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    tmp.replace(target)  # atomic: a half-written zip is never left under the real name


def build(out_dir: Path, source: Path = SOURCE) -> list[Path]:
    manifest = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
    broken = missing_imports(source)
    if broken:
        raise SystemExit("extension modules import files that are not there: " + "; ".join(broken))
    chromium = out_dir / "replydesk-chromium.zip"
    firefox = out_dir / "replydesk-firefox.zip"
    write_zip(chromium, source, manifest)
    write_zip(firefox, source, firefox_manifest(manifest))
    return [chromium, firefox]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="folder for the zips (default: dist/)")
    args = parser.parse_args(argv)
    for path in build(args.out):
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
