"""`make extension`'s builder: installable zips for Chromium and Firefox, and a manifest that holds together."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

from scripts.build_extension import build, firefox_manifest, missing_imports
from tests.support.paths import EXTENSION_DIR

MANIFEST = json.loads((EXTENSION_DIR / "manifest.json").read_text(encoding="utf-8"))


def test_manifest_references_existing_files() -> None:
    refs = [MANIFEST["background"]["service_worker"], MANIFEST["action"]["default_popup"],
            MANIFEST["options_ui"]["page"], *MANIFEST["icons"].values()]
    for script in MANIFEST["content_scripts"]:
        refs += script["js"]
    for ref in refs:
        assert (EXTENSION_DIR / ref).is_file(), ref


def test_manifest_talks_to_loopback_only_and_matches_the_real_sites() -> None:
    assert MANIFEST["manifest_version"] == 3
    assert set(MANIFEST["host_permissions"]) == {"http://127.0.0.1/*", "http://localhost/*"}
    matches = MANIFEST["content_scripts"][0]["matches"]
    assert {"https://x.com/*", "https://twitter.com/*", "https://www.facebook.com/*",
            "https://web.facebook.com/*"} <= set(matches)
    assert all(m.startswith("https://") or "/demo" in m for m in matches)
    assert MANIFEST["permissions"] == ["storage", "clipboardWrite", "sidePanel"]  # sidePanel: the queue view


def test_zips_for_both_browsers(tmp_path: Path) -> None:
    chromium, firefox = build(tmp_path)
    with zipfile.ZipFile(chromium) as zc, zipfile.ZipFile(firefox) as zf:
        assert sorted(zc.namelist()) == sorted(zf.namelist())
        assert "manifest.json" in zc.namelist() and "sites/x.js" in zc.namelist()
        # background.js is a short entry; the worker's modules and the adapters' registry ship beside it.
        assert {"background.js", "worker/messages.js", "worker/socket.js", "sites/index.js"} <= set(zc.namelist())
        assert "README.md" not in zc.namelist()
        chrome_m = json.loads(zc.read("manifest.json"))
        fox_m = json.loads(zf.read("manifest.json"))
    assert chrome_m["background"] == {"service_worker": "background.js", "type": "module"}
    assert fox_m["background"] == {"scripts": ["background.js"], "type": "module"}
    assert fox_m["browser_specific_settings"]["gecko"]["id"].endswith("@replydesk.local")
    assert "minimum_chrome_version" not in fox_m
    assert fox_m == firefox_manifest(MANIFEST)
    # Reproducible: building again gives the same bytes.
    again = build(tmp_path / "again")
    assert again[0].read_bytes() == chromium.read_bytes() and again[1].read_bytes() == firefox.read_bytes()


def test_every_module_import_names_a_file_that_ships(tmp_path: Path) -> None:
    assert missing_imports(EXTENSION_DIR) == []
    broken = tmp_path / "ext"
    broken.mkdir()
    (broken / "background.js").write_text('import { x } from "./worker/gone.js";\n', encoding="utf-8")
    assert missing_imports(broken) == ["background.js -> ./worker/gone.js"]
