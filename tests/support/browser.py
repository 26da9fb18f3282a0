"""Shared Playwright helpers: Debian's Chromium, with or without the unpacked Reply Desk extension.

Never `playwright install`: the tests drive the system's /usr/bin/chromium through `executable_path`.
`launch_chromium(tmpdir, extension)` is the one entry point other test modules import.
"""
from __future__ import annotations

import mimetypes
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.paths import ARTIFACTS, EXTENSION_DIR, FIXTURES
from tests.support.waiting import wait_until

__all__ = ["ARTIFACTS", "EXTENSION_DIR", "FIXTURES", "BrowserSession", "chromium_args", "chromium_path",
           "configure_quietly", "headless_chromium", "launch_chromium", "serve_files", "wait_until"]



def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium"


def chromium_args(extension: bool) -> list[str]:
    """Flags for a quiet, offline, headless Chromium (root needs --no-sandbox)."""
    args = [
        "--no-sandbox",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--disable-features=Translate,MediaRouter,OptimizationHints",
    ]
    if extension:
        args += [f"--disable-extensions-except={EXTENSION_DIR}", f"--load-extension={EXTENSION_DIR}"]
    return args


@dataclass
class BrowserSession:
    """A running Chromium: `context` is a persistent context (extensions need one)."""

    playwright: Any
    context: Any
    extension: bool
    _sw: Any = field(default=None, repr=False)

    def service_worker(self, timeout: float = 30_000) -> Any:
        """The extension's background service worker (waits for it to start)."""
        if self._sw is None:
            workers = [w for w in self.context.service_workers if w.url.startswith("chrome-extension://")]
            self._sw = workers[0] if workers else self.context.wait_for_event("serviceworker", timeout=timeout)
        return self._sw

    @property
    def extension_id(self) -> str:
        return self.service_worker().url.split("/")[2]

    def close(self) -> None:
        try:
            self.context.close()
        finally:
            self.playwright.stop()

    def __enter__(self) -> BrowserSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def launch_chromium(tmpdir: Path, extension: bool, *, viewport: dict[str, int] | None = None) -> BrowserSession:
    """Start headless Debian Chromium with a fresh profile in `tmpdir`, optionally with the unpacked extension."""
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        ctx = pw.chromium.launch_persistent_context(
            str(Path(tmpdir) / "profile"),
            executable_path=chromium_path(),
            headless=True,
            args=chromium_args(extension),
            viewport=viewport or {"width": 1280, "height": 900},
            device_scale_factor=1,
        )
    except Exception:
        pw.stop()
        raise
    return BrowserSession(pw, ctx, extension)


def serve_files(routes: dict[str, Path | str | bytes]) -> Callable[[Any], None]:
    """A Playwright route handler answering from a {path: file or text} table, 404 otherwise."""

    def handler(route: Any) -> None:
        from urllib.parse import urlsplit

        path = urlsplit(route.request.url).path
        body = routes.get(path)
        if body is None:
            route.fulfill(status=404, content_type="text/plain", body="not found")
            return
        if isinstance(body, Path):
            ctype = mimetypes.guess_type(body.name)[0] or "application/octet-stream"
            if body.suffix == ".js":
                ctype = "text/javascript"
            route.fulfill(status=200, content_type=f"{ctype}; charset=utf-8", body=body.read_bytes())
        else:
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=body)

    return handler


@contextmanager
def headless_chromium() -> Iterator[Any]:
    """A plain headless Chromium (no extension) for pages such as the console: one Playwright Browser."""
    from playwright import sync_api as playwright_api

    path = chromium_path()
    if not Path(path).exists():
        raise RuntimeError(f"{path} is missing: `make deps` installs Debian's chromium")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, headless=True,
                                    args=[*chromium_args(extension=False), "--headless", "--disable-gpu"])
        try:
            yield browser
        finally:
            browser.close()


def configure_quietly(session: BrowserSession, server: Any, **extra: Any) -> None:
    """Point the extension at `server` with monitoring off: for tests of what a page shows, not of what it tracks."""
    session.service_worker().evaluate("cfg => chrome.storage.local.set(cfg)", {
        "serverUrl": server.url, "token": server.token, "signature": "^KM", "pack": "default",
        "monitor": {"x": False, "facebook": False, "demo": False}, **extra})
