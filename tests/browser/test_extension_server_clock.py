"""The extension shows the server's clock and the server's pack, picks its site adapter from sites/index.js, and a
closed panel leaves no listener behind. Real headless Chromium with the unpacked extension, a real server whose
default pack is not "default" (skyway), and the real pages at their real URLs (Playwright routes answer locally).
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from server.app import create_app
from server.suggest import service as suggest_service
from tests.support.browser import EXTENSION_DIR, FIXTURES, BrowserSession, launch_chromium, serve_files, wait_until
from tests.support.live import LiveServer, make_config

pytestmark = pytest.mark.browser

DEFAULT_PACK = "skyway"  # the server's default here: the extension must not assume a pack named "default"


class Recorder:
    """What the extension sent: every /api request (method, path, JSON body), every suggest request body (REST or
    /ws, as the server parsed it) and every suggest answer the server gave (with its deadline and target)."""

    def __init__(self) -> None:
        self.http: list[tuple[str, str, Any]] = []
        self.suggest_bodies: list[dict[str, Any]] = []
        self.answers: list[dict[str, Any]] = []

    def clear(self) -> None:
        self.http.clear()
        self.suggest_bodies.clear()
        self.answers.clear()

    def answer_for(self, text_start: str) -> dict[str, Any] | None:
        return next((a for p, a in reversed(self.answers) if p["text"].startswith(text_start)), None)

    def body_for(self, text_start: str) -> dict[str, Any] | None:
        return next((b for b in reversed(self.suggest_bodies) if b["post"]["text"].startswith(text_start)), None)


def recording_middleware(wsgi_app: Any, rec: Recorder) -> Any:
    import io

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/api/"):
            body = None
            if environ.get("REQUEST_METHOD") == "POST":
                raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
                environ["wsgi.input"] = io.BytesIO(raw)
                try:
                    body = json.loads(raw or b"null")
                except ValueError:
                    body = raw
            rec.http.append((environ["REQUEST_METHOD"], path, body))
        return wsgi_app(environ, start_response)

    return app


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, recorder: Recorder) -> Iterator[LiveServer]:
    app = create_app(make_config(tmp_path_factory.mktemp("clock-server") / "data", default_pack=DEFAULT_PACK))
    app.wsgi_app = recording_middleware(app.wsgi_app, recorder)
    svc = app.extensions["replydesk"]
    # After the queue's own hook, which adds deadline / target_minutes / queue_item to the answer.
    svc.after_suggest.append(lambda post, pack, answer: recorder.answers.append((post, json.loads(json.dumps(answer)))))
    parse = suggest_service.parse_request

    def recording_parse(body: dict[str, Any], *args: Any, **kw: Any) -> Any:
        recorder.suggest_bodies.append(json.loads(json.dumps(body)))
        return parse(body, *args, **kw)

    suggest_service.parse_request = recording_parse  # REST and /ws both parse through it
    srv = LiveServer(app).start()
    yield srv
    srv.stop()
    suggest_service.parse_request = parse


@pytest.fixture(scope="module")
def browser(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserSession]:
    with launch_chromium(tmp_path_factory.mktemp("clock-browser"), extension=True) as session:
        settings(session, server)
        yield session


def settings(browser: BrowserSession, server: LiveServer, **extra: Any) -> None:
    """Point the extension at the server, paired, with no pack chosen unless `pack=` is given."""
    cfg = {"serverUrl": server.url, "token": server.token, "signature": "^KM", "pack": "", **extra}
    browser.service_worker().evaluate("cfg => chrome.storage.local.set(cfg)", cfg)
    time.sleep(0.3)  # the worker and content scripts reload their settings on storage.onChanged


def open_page(browser: BrowserSession, url: str, html: str | Path | None = None) -> Any:
    page = browser.context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    if html is not None:
        body = html.read_text(encoding="utf-8") if isinstance(html, Path) else html
        handler = serve_files({urlsplit(url).path: body})
        page.route("https://x.com/**", handler)
        page.route("https://www.facebook.com/**", handler)
    page.goto(url)
    page.wait_for_selector("html[data-replydesk=ready]", timeout=20_000)
    return page


def suggest(page: Any, post: Any) -> Any:
    post.get_by_role("button", name="Suggest reply").click()
    panel = page.locator("replydesk-panel")
    reply = panel.get_by_role("textbox", name="Reply")
    wait_until(lambda: reply.input_value().strip() and reply.get_attribute("readonly") is None, timeout=30,
               what="the suggested reply to stream in")
    return panel


def shown_seconds_left(text: str) -> tuple[float, float]:
    """The panel's countdown ("1h 59m left", "12:04 left", "Overdue 3h 02m", "1d 2h left") as signed seconds,
    with the precision that format has."""
    overdue = text.startswith("Overdue")
    if m := re.search(r"(\d+)d (\d+)h", text):
        secs, precision = int(m[1]) * 86400 + int(m[2]) * 3600, 3600.0
    elif m := re.search(r"(\d+)h (\d+)m", text):
        secs, precision = int(m[1]) * 3600 + int(m[2]) * 60, 60.0
    elif m := re.search(r"(\d+):(\d\d)", text):
        secs, precision = int(m[1]) * 60 + int(m[2]), 1.0
    else:
        raise AssertionError(f"no countdown in {text!r}")
    return (-secs if overdue else secs), precision


def assert_clock_is_the_servers(panel: Any, answer: dict[str, Any]) -> None:
    clock = panel.locator(".clock")
    wait_until(lambda: clock.get_attribute("data-deadline"), what="the panel's clock")
    assert clock.get_attribute("data-deadline") == answer["deadline"]
    assert clock.get_attribute("data-target-minutes") == str(answer["target_minutes"])
    assert f"target {answer['target_minutes']} min" in clock.get_attribute("title") \
        or f"target {answer['target_minutes'] // 60} h" in clock.get_attribute("title")
    shown, precision = shown_seconds_left(panel.locator(".clock-text").inner_text())
    expected = (datetime.fromisoformat(answer["deadline"].replace("Z", "+00:00")) - datetime.now(UTC)).total_seconds()
    assert abs(shown - expected) <= precision + 5, (shown, expected)


def inline_tweet(handle: str, name: str, text: str, minutes_ago: int = 5, status: str | None = None) -> str:
    """One tweet in X's markup; without a `status` id it has no permalink, so the queue cannot track it."""
    at = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")
    time_el = f'<time datetime="{at}">{minutes_ago}m</time>'
    if status:
        time_el = f'<a href="/{handle}/status/{status}">{time_el}</a>'
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Home / X</title></head><body><main>
<div data-testid="cellInnerDiv"><article data-testid="tweet" role="article" tabindex="0" style="width:560px">
  <div data-testid="User-Name"><a href="/{handle}"><span>{name}</span></a>
    <div dir="ltr"><span>@{handle}</span></div></div>
  {time_el}
  <div data-testid="tweetText" lang="en"><span>{text}</span></div>
  <div role="group"><button data-testid="reply" type="button">Reply</button>
    <button data-testid="like" type="button">Like</button></div>
</article></div></main></body></html>"""


# ---------------------------------------------------------------- (a) the server's clock and the server's pack

PRAISE = "Huge thanks to @AcmeShop, the replacement mixer arrived"  # sarahbakes on the demo page: a praise post


def test_demo_praise_post_shows_the_servers_target_and_sends_no_pack(browser: BrowserSession, server: LiveServer,
                                                                     recorder: Recorder) -> None:
    recorder.clear()
    page = open_page(browser, f"{server.url}/demo")
    sarah = page.locator('[data-testid="cellInnerDiv"]', has_text="@sarahbakes").locator("article")
    sarah.evaluate("el => el.scrollIntoView({block: 'center'})")
    panel = suggest(page, sarah)
    answer = wait_until(lambda: recorder.answer_for(PRAISE), what="the server's suggest answer")
    # The server's side of it: its default pack, its praise target (skyway gives X praise 120 min, not 30).
    assert answer["pack"]["name"] == DEFAULT_PACK
    assert answer["analysis"]["intent"] == "praise"
    assert answer["target_minutes"] == 120 and answer["deadline"] and answer["queue_item"]
    assert_clock_is_the_servers(panel, answer)
    # No pack was chosen: the worker named none (the server used its default), in suggest and in the tone checks.
    assert "pack" not in recorder.body_for(PRAISE)
    panel.get_by_role("textbox", name="Reply").fill("Thank you so much for the kind words.")
    wait_until(lambda: any(p == "/api/tone" for _, p, _ in recorder.http), what="a tone check")
    assert all("pack" not in (b or {}) for m, p, b in recorder.http if m == "POST"), recorder.http
    # The pack the extension loaded for the page is the server's default, never one it assumed.
    asked = [p for m, p, _ in recorder.http if p.startswith("/api/packs/")]
    assert f"/api/packs/{DEFAULT_PACK}" in asked and "/api/packs/default" not in asked, asked
    assert DEFAULT_PACK in panel.locator(".engine").inner_text()
    assert page.errors == []
    page.close()


UNTRACKED = "Thank you @SkywayAir, the crew on my flight to Lisbon were wonderful"


def test_untracked_post_shows_the_answers_deadline(browser: BrowserSession, server: LiveServer,
                                                   recorder: Recorder) -> None:
    recorder.clear()
    page = open_page(browser, "https://x.com/home", inline_tweet("happy_flyer", "Hannah Flyer", UNTRACKED + "!"))
    panel = suggest(page, page.locator("article"))
    answer = wait_until(lambda: recorder.answer_for(UNTRACKED), what="the server's suggest answer")
    assert "queue_item" not in answer and answer["deadline"] and answer["target_minutes"]
    assert answer["pack"]["name"] == DEFAULT_PACK
    assert_clock_is_the_servers(panel, answer)
    assert "pack" not in recorder.body_for(UNTRACKED)
    page.close()


def test_a_pack_chosen_in_the_options_wins(browser: BrowserSession, server: LiveServer, recorder: Recorder) -> None:
    settings(browser, server, pack="default")
    try:
        recorder.clear()
        page = open_page(browser, "https://x.com/home", inline_tweet("glad_gus", "Gus Glad", UNTRACKED + " again!"))
        panel = suggest(page, page.locator("article"))
        answer = wait_until(lambda: recorder.answer_for(UNTRACKED), what="the server's suggest answer")
        assert recorder.body_for(UNTRACKED)["pack"] == "default"
        assert answer["pack"]["name"] == "default"
        assert_clock_is_the_servers(panel, answer)
        assert "default" in panel.locator(".engine").inner_text()
        page.close()
    finally:
        settings(browser, server)


# ---------------------------------------------------------------- (b) the adapters registry

INDEX = EXTENSION_DIR / "sites" / "index.js"


def test_content_script_picks_the_adapter_by_the_page(browser: BrowserSession, server: LiveServer) -> None:
    pages = [
        ("https://x.com/TestUser123/status/1981398750557065646", FIXTURES / "x" / "x-tweet-sample.html", "x", "x"),
        ("https://www.facebook.com/", FIXTURES / "facebook" / "timeline.html", "facebook", "facebook"),
        (f"{server.url}/demo", None, "demo", "x facebook"),
    ]
    for url, fixture, site, adapters in pages:
        page = open_page(browser, url, fixture)
        html = page.locator("html")
        assert (html.get_attribute("data-replydesk-site"), html.get_attribute("data-replydesk-adapters")) \
            == (site, adapters), url
        # The chosen adapter found the page's posts: each got its control.
        wait_until(lambda p=page: p.locator("replydesk-control").count() > 0, what=f"controls on {url}")
        page.close()


def test_the_registry_lists_every_adapter_with_the_whole_interface(browser: BrowserSession) -> None:
    source = INDEX.read_text(encoding="utf-8")
    typedef = source[source.index("@typedef {object} SiteAdapter"):]
    typedef = typedef[:typedef.index("*/")]
    members = re.findall(r"@property \{.*?\} (\[?\w+\]?)", typedef)
    required = [m for m in members if not m.startswith("[")]
    assert {"matches", "findPosts", "readPost", "replyBox", "openReply", "sendButton"} <= set(required)
    # The content script reaches the sites only through the registry.
    for script in (EXTENSION_DIR / "content").glob("*.js"):
        text = script.read_text(encoding="utf-8")
        assert not re.search(r"""from\s+["']\.\./sites/(?!index\.js)""", text), script.name
    adapter_files = sorted(p.name for p in (EXTENSION_DIR / "sites").glob("*.js")
                           if "export function matches" in p.read_text(encoding="utf-8"))
    page = browser.context.new_page()
    routes: dict[str, Path | str] = {f"/__rd/{p.relative_to(EXTENSION_DIR)}": p
                                     for p in (EXTENSION_DIR / "sites").glob("*.js")}
    routes["/home"] = "<!doctype html><title>x</title>"
    page.route("https://x.com/**", serve_files(routes))
    page.goto("https://x.com/home")
    got = page.evaluate("""async ([files, required]) => {
      const reg = await import('/__rd/sites/index.js');
      const mods = await Promise.all(files.map((f) => import('/__rd/sites/' + f)));
      const where = (u) => {
        const p = reg.sitePage(new URL(u));
        return p && [p.site, p.adapters.map((a) => a.platform)];
      };
      return {
        registered: mods.map((m) => reg.ADAPTERS.includes(m)),
        missing: reg.ADAPTERS.map((a) => required.filter((k) => !(k in a)
          || (k !== 'platform' && k !== 'ORIGIN' && typeof a[k] !== 'function'))),
        pages: ['https://x.com/a/status/1', 'https://twitter.com/search?q=a', 'https://www.facebook.com/AcmeShop',
                'https://web.facebook.com/x', 'http://127.0.0.1:8765/demo', 'https://example.com/'].map(where),
      };
    }""", [adapter_files, required])
    page.close()
    assert adapter_files == ["facebook.js", "x.js"] and all(got["registered"]), got  # each site file is registered
    assert got["missing"] == [[], []], got
    assert got["pages"] == [["x", ["x"]], ["x", ["x"]], ["facebook", ["facebook"]], ["facebook", ["facebook"]],
                            ["demo", ["x", "facebook"]], None]


# ---------------------------------------------------------------- (c) a closed panel keeps no listener

# Page-world probes into the panel's open shadow root: each pokes something one of the panel's listeners handles
# and reports whether the handler ran (the count changed, the toast showed, the card moved on a resize).
PROBE = """
async (root) => {
  const ta = root.querySelector('textarea');
  const count = root.querySelector('.count');
  const toast = root.querySelector('.toast');
  const host = root.host;
  const ran = [];
  const before = count.textContent;
  ta.value = 'x'.repeat(7 + Math.floor(Math.random() * 50));
  ta.dispatchEvent(new Event('input', {bubbles: true}));
  if (count.textContent !== before) ran.push('input');
  toast.classList.remove('show');
  root.querySelector('.copy').click();
  host.style.left = '-4321px';
  window.dispatchEvent(new Event('resize'));
  await new Promise((r) => setTimeout(r, 400));
  if (toast.classList.contains('show')) ran.push('copy');
  if (host.style.left !== '-4321px') ran.push('resize');
  return ran;
}
"""


def test_closing_a_panel_removes_its_listeners(browser: BrowserSession, server: LiveServer) -> None:
    page = open_page(browser, "https://x.com/home", inline_tweet("close_me", "Cleo Close",
                                                           "@SkywayAir where is my bag?",
                                                           status="1999000000000000777"))
    panel = suggest(page, page.locator("article"))
    page.evaluate("() => { window.__panelRoot = document.querySelector('replydesk-panel').shadowRoot; }")
    # Open, the panel handles all three.
    assert page.evaluate(f"({PROBE})(window.__panelRoot)") == ["input", "copy", "resize"]
    panel.get_by_role("button", name="Close").click()
    wait_until(lambda: page.locator("replydesk-panel").count() == 0, what="the panel to close")
    # Closed, none of them: the same elements, still reachable, get no answer from the old panel.
    assert page.evaluate(f"({PROBE})(window.__panelRoot)") == []
    # The site dropping the panel's element counts as closing it too.
    panel = suggest(page, page.locator("article"))
    page.evaluate("() => { window.__panelRoot = document.querySelector('replydesk-panel').shadowRoot; }")
    page.evaluate("() => window.__panelRoot.host.remove()")
    time.sleep(1.5)  # the panel notices on its next tick
    assert page.evaluate(f"({PROBE})(window.__panelRoot)") == []
    assert page.errors == []
    page.close()
