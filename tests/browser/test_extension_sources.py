"""The reply panel shows what the server says beside its reply (issue 14): the sources the reply drew on, the advice
for the agent (a banner; for a post the pack does not engage, an alert that also turns Insert off) and a notice.
Real headless Chromium with the unpacked extension, a real server with its default pack, inline X pages served at
x.com by Playwright routes. Every check compares with the answer the server actually sent, recorded on the server.
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from server.app import create_app
from tests.support.browser import BrowserSession, launch_chromium, serve_files, wait_until
from tests.support.live import LiveServer, make_config

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def answers() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return []


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory,
           answers: list[tuple[dict[str, Any], dict[str, Any]]]) -> Iterator[LiveServer]:
    app = create_app(make_config(tmp_path_factory.mktemp("sources-server") / "data"))
    svc = app.extensions["replydesk"]
    # Every suggest answer as the extension gets it (REST or /ws), after the queue's own hook.
    svc.after_suggest.append(lambda post, pack, answer: answers.append((post, json.loads(json.dumps(answer)))))
    srv = LiveServer(app).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserSession]:
    with launch_chromium(tmp_path_factory.mktemp("sources-browser"), extension=True) as session:
        session.service_worker().evaluate("cfg => chrome.storage.local.set(cfg)",
                                          {"serverUrl": server.url, "token": server.token, "signature": "^KM",
                                           "pack": ""})
        time.sleep(0.3)  # the worker and content scripts reload their settings on storage.onChanged
        yield session


def tweet_page(browser: BrowserSession, handle: str, text: str, status: str) -> Any:
    """An X home page holding one tweet in X's markup, served at x.com."""
    at = (datetime.now(UTC) - timedelta(minutes=4)).isoformat().replace("+00:00", "Z")
    html = f"""<!doctype html><html><head><meta charset="utf-8"><title>Home / X</title></head><body><main>
<div data-testid="cellInnerDiv"><article data-testid="tweet" role="article" tabindex="0" style="width:560px">
  <div data-testid="User-Name"><a href="/{handle}"><span>{handle.title()}</span></a>
    <div dir="ltr"><span>@{handle}</span></div></div>
  <a href="/{handle}/status/{status}"><time datetime="{at}">4m</time></a>
  <div data-testid="tweetText" lang="en"><span>{text}</span></div>
  <div role="group"><button data-testid="reply" type="button">Reply</button></div>
</article></div></main></body></html>"""
    page = browser.context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    page.route("https://x.com/**", serve_files({"/home": html}))
    page.goto("https://x.com/home")
    page.wait_for_selector("html[data-replydesk=ready]", timeout=20_000)
    return page


def suggest(page: Any, answers: list[tuple[dict[str, Any], dict[str, Any]]], text: str) -> tuple[Any, dict[str, Any]]:
    """Click 'Suggest reply' and wait for the panel to take in the server's answer; return both."""
    page.locator("article").get_by_role("button", name="Suggest reply").click()
    answer = wait_until(lambda: next((a for p, a in reversed(answers) if p["text"] == text), None), timeout=30,
                        what="the server's suggest answer")
    panel = page.locator("replydesk-panel")
    reply = panel.get_by_role("textbox", name="Reply")
    engine = panel.locator(".engine")
    wait_until(lambda: reply.get_attribute("readonly") is None and engine.inner_text() != "Reply Desk",
               timeout=30, what="the panel to take in the answer")
    return panel, answer


HOURS = "@AcmeShop what time does your customer service open on Sundays?"


def test_a_knowledge_answer_names_its_sources(browser: BrowserSession, answers: list[Any]) -> None:
    page = tweet_page(browser, "kate", HOURS, "1999000000000014001")
    panel, answer = suggest(page, answers, HOURS)
    articles = [s for s in answer["sources"] if not str(s["id"]).startswith("reply:")]
    assert articles and answer["reply"] and not answer.get("advice"), answer  # the pack's knowledge answered it
    sources = panel.locator(".sources")
    assert sources.is_visible()
    line = sources.inner_text()
    assert line.startswith("Sources:"), line
    for src in answer["sources"]:
        assert src["title"] in line, (src, line)
    items = sources.get_by_role("list", name="Sources").get_by_role("listitem")
    assert items.count() == len(answer["sources"])
    for src in articles:
        if src.get("url"):
            link = sources.get_by_role("link", name=src["title"])
            assert link.get_attribute("href") == src["url"]
            assert link.get_attribute("target") == "_blank" and "noopener" in link.get_attribute("rel").split()
    # No advice for a question the pack answers; Insert is on.
    assert panel.locator(".advice").is_hidden()
    assert panel.get_by_role("button", name="Insert").is_enabled()
    assert panel.locator(".notice").is_hidden() == (not answer.get("notice"))
    assert page.errors == []
    page.close()


THREAT = "@AcmeShop I know where your driver lives and I will hurt him"


def test_a_threat_shows_the_advice_and_turns_insert_off(browser: BrowserSession, answers: list[Any]) -> None:
    page = tweet_page(browser, "angry_ann", THREAT, "1999000000000014002")
    panel, answer = suggest(page, answers, THREAT)
    assert answer["engage"] is False and answer["advice"] and not answer["reply"].strip(), answer
    banner = panel.get_by_role("alert", name=f"Advice: {answer['advice']}")
    wait_until(banner.is_visible, what="the advice banner")
    assert banner.inner_text().strip() == answer["advice"]
    # The banner sits above the reply box.
    assert banner.bounding_box()["y"] < panel.get_by_role("textbox", name="Reply").bounding_box()["y"]
    insert = panel.get_by_role("button", name="Insert")
    assert insert.is_disabled()
    assert insert.get_attribute("title") == answer["advice"]
    assert insert.get_attribute("aria-describedby") == panel.locator(".advice").get_attribute("id")
    assert panel.locator(".sources").is_hidden()  # the server named none
    # The agent may still write something of their own: then Insert is theirs to use.
    panel.get_by_role("textbox", name="Reply").fill("We have passed this on.")
    wait_until(insert.is_enabled, what="Insert to come back on for the agent's own text")
    assert page.errors == []
    page.close()
