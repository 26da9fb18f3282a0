"""Insert survives the sites' editors: paragraphs, emoji and an empty box, into each saved page's composer.

X's composer is Draft.js and Facebook's is Lexical: both keep the text in their own state and re-render the box
from it, so text put into the DOM behind their back is lost on the next render. The saved pages carry the
editors' markup but not their code, so each composer here gets a stand-in that behaves as the real editor does
towards scripted input: the Draft.js one takes a paste (its DataTransfer) and reverts any other DOM change; the
Lexical one takes `beforeinput` (insertFromPaste / insertText) and reverts the rest. Both replace their text only
when the selection covers all of it, as the real ones do. The model, not the DOM, must end up holding the reply.
Plain composers (the demo's, the stand-ins for pages saved without one) take typing.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from server.app import create_app
from tests.support.browser import FIXTURES, BrowserSession, configure_quietly, launch_chromium, serve_files, wait_until
from tests.support.live import LiveServer, make_config

pytestmark = pytest.mark.browser

REPLY = "Hi there,\n\nSo sorry about this 😔 we're fixing it today 🚀.\nThanks for your patience. ^KM"

# An editor that keeps its own model: `accepts` is "paste" (Draft.js) or "beforeinput" (Lexical). Starts with
# `initial` in it, so replacing (not appending) is checked too.
EDITOR = """
([selector, accepts, initial]) => {
  const box = document.querySelector(selector);
  const model = { blocks: initial.split('\\n'), via: null };
  window.__model = model;
  const render = () => box.replaceChildren(...model.blocks.map((b) => {
    const d = document.createElement('div');
    d.setAttribute('data-block', 'true');
    const span = document.createElement('span');
    span.setAttribute('data-text', 'true');
    if (b) span.textContent = b; else span.append(document.createElement('br'));
    d.append(span);
    return d;
  }));
  const coversAll = () => {
    const sel = document.getSelection();
    return sel.rangeCount > 0 && box.contains(sel.anchorNode || box)
      && sel.toString().replace(/\\s/g, '') === box.textContent.replace(/\\s/g, '');
  };
  const take = (text, via) => {
    const lines = text.split('\\n');
    model.blocks = coversAll() ? lines : [...model.blocks, ...lines];
    model.via = via;
    requestAnimationFrame(render);  // the framework renders on the next frame
  };
  render();
  box.addEventListener('paste', (e) => {
    if (accepts !== 'paste') return;
    e.preventDefault();
    take(e.clipboardData.getData('text/plain'), 'paste');
  });
  box.addEventListener('beforeinput', (e) => {
    if (accepts !== 'beforeinput') return;
    e.preventDefault();
    const text = e.dataTransfer ? e.dataTransfer.getData('text/plain') : (e.data || '');
    take(text, e.inputType);
  });
  // Anything else that changed the DOM is undone on the next render, as a framework does.
  box.addEventListener('input', () => requestAnimationFrame(render));
}
"""

X_COMPOSER = """
(article) => {
  const cell = document.createElement('div');
  cell.setAttribute('data-testid', 'cellInnerDiv');
  cell.innerHTML = '<div contenteditable="true" role="textbox" data-testid="tweetTextarea_0" '
    + 'style="min-height:40px"></div><button type="button" data-testid="tweetButtonInline">Reply</button>';
  (article.closest('[data-testid="cellInnerDiv"]') || article).after(cell);
}
"""
FB_COMPOSER = """
() => {
  const form = document.querySelector('form.commentable_item') || document.querySelector('[role="article"]');
  const box = document.createElement('div');
  box.setAttribute('contenteditable', 'true');
  box.setAttribute('role', 'textbox');
  box.setAttribute('aria-label', 'Write a comment...');
  box.style.minHeight = '30px';
  form.append(box);
}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    srv = LiveServer(create_app(make_config(tmp_path_factory.mktemp("insert-server") / "data"))).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserSession]:
    with launch_chromium(tmp_path_factory.mktemp("insert-browser"), extension=True) as session:
        configure_quietly(session, server)
        yield session


def open_page(browser: BrowserSession, url: str, fixture: Path | None) -> Any:
    page = browser.context.new_page()
    if fixture is not None:
        handler = serve_files({urlsplit(url).path: fixture.read_text(encoding="utf-8")})
        page.route("https://x.com/**", handler)
        page.route("https://www.facebook.com/**", handler)
    page.goto(url)
    page.wait_for_selector("html[data-replydesk=ready]", timeout=20_000)
    return page


def insert_reply(page: Any, post: Any, text: str) -> None:
    post.get_by_role("button", name="Suggest reply").first.click()
    panel = page.locator("replydesk-panel")
    reply = panel.get_by_role("textbox", name="Reply")
    wait_until(lambda: reply.input_value().strip() and reply.get_attribute("readonly") is None, timeout=30,
               what="the suggested reply")
    reply.fill(text)
    insert = panel.locator("button.insert")
    wait_until(lambda: insert.inner_text().strip() in ("Insert", "Insert anyway"), what="the tone check")
    insert.click()
    if insert.inner_text().strip() == "Insert anyway":
        insert.click()


def lines(text: str) -> list[str]:
    """The text's lines with words in them (editors render an empty paragraph as one or two line breaks)."""
    return [line.strip() for line in text.split("\n") if line.strip()]


def model_text(page: Any) -> str | None:
    return page.evaluate("() => window.__model && window.__model.blocks.join('\\n')")


@pytest.mark.parametrize(("name", "url", "post_text", "box", "accepts", "method"), [
    ("mine/x-thread.html", "https://x.com/tom_h/status/1851000000000000011", "still waiting on that refund",
     '[data-testid="tweetTextarea_0"]', "paste", "paste"),
    ("mine/fb-page.html", "https://www.facebook.com/AcmeShop", "Just wanted to say the staff",
     '[role="article"][aria-labelledby] [contenteditable="true"][role="textbox"]', "beforeinput",
     "beforeInputPaste"),
])
@pytest.mark.parametrize("initial", ["", "an old draft"], ids=["empty-box", "replacing"])
def test_rich_editors_take_the_reply(browser: BrowserSession, name: str, url: str, post_text: str, box: str,
                                     accepts: str, method: str, initial: str) -> None:
    page = open_page(browser, url, FIXTURES / name)
    assert page.locator(box).count() >= 1, "the saved page has its composer"
    page.evaluate(EDITOR, [box, accepts, initial])
    post = page.locator('article, [role="article"]', has_text=post_text).first
    insert_reply(page, post, REPLY)
    wait_until(lambda: model_text(page) == REPLY, timeout=10, what=f"the editor's own state to hold the reply: "
               f"{model_text(page)!r}")
    target = page.locator(box).first
    wait_until(lambda: target.get_attribute("data-replydesk-inserted") == method, what="the method the editor took")
    assert "😔" in target.inner_text() and "🚀" in target.inner_text()
    page.close()


@pytest.mark.parametrize(("name", "url", "post_text", "composer"), [
    ("x/x-tweet-sample.html", "https://x.com/TestUser123/status/1981398750557065646", "Democrat Shutdown", X_COMPOSER),
    ("x/x-tweet-quote.html", "https://x.com/TestQuoter/status/1983130065320780162", "additional commentary",
     X_COMPOSER),
    ("x-more/x-tweet-quote-video.html", "https://x.com/QuotingUser/status/1983128852952998358", "How to share",
     X_COMPOSER),
    ("facebook/timeline.html", "https://www.facebook.com/", "National Park Service", FB_COMPOSER),
    ("facebook/sisi-timeline-ad.html", "https://www.facebook.com/", "You already pay for Prime", FB_COMPOSER),
    ("facebook/lkw-timeline-ad.html", "https://www.facebook.com/", "project management", FB_COMPOSER),
])
def test_plain_composers_take_paragraphs_and_emoji(browser: BrowserSession, name: str, url: str, post_text: str,
                                                   composer: str) -> None:
    page = open_page(browser, url, FIXTURES / name)
    post = page.locator('article, [role="article"]', has_text=post_text).first
    post.evaluate(composer)
    insert_reply(page, post, REPLY)
    box = page.locator('[contenteditable="true"][role="textbox"]').first
    wait_until(lambda: lines(box.inner_text()) == lines(REPLY), timeout=10,
               what=f"the reply, line by line, in the composer: {box.inner_text()!r}")
    assert box.get_attribute("data-replydesk-inserted") == "typing"
    page.close()


def test_demo_composers(browser: BrowserSession, server: LiveServer) -> None:
    page = open_page(browser, f"{server.url}/demo", None)
    kate = page.locator('[data-testid="cellInnerDiv"]', has_text="@ktmink").locator("article")
    kate.evaluate("el => el.scrollIntoView({block: 'center'})")
    insert_reply(page, kate, REPLY)
    box = page.locator("[data-post-cell]", has_text="@ktmink").locator('[data-testid="tweetTextarea_0"]')
    wait_until(lambda: "😔" in box.inner_text() and "^KM" in box.inner_text(), what="the reply in the demo's box")
    assert lines(box.inner_text()) == lines(REPLY)
    page.close()
