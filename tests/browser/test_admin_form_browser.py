"""The pack form in real headless Chromium, as a team lead uses it: no TOML in sight.

Each field kind is typed into, its rule-broken error checked beside it (live, while typing, and after a submit),
every field is checked to have a label and a description a screen reader reads, the page is walked with the
keyboard, and the edits a lead makes (a banned phrase, a target, business hours, a playbook line, a knowledge
article, the model's instructions) are saved and seen by the agents' API, with the version number moving and the
history naming the field that changed. Screenshots go to tests/artifacts/admin-form-*.png.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import expect

from server.admin.fields import FIELDS
from server.packs.store import read_files
from tests.support.admin import PASSWORD, make_admin_app
from tests.support.browser import headless_chromium
from tests.support.live import LiveServer
from tests.support.paths import ARTIFACTS

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    srv = LiveServer(make_admin_app(tmp_path_factory.mktemp("form"))).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with headless_chromium() as b:
        yield b


@pytest.fixture
def page(browser, server) -> Iterator:
    ctx = browser.new_context(viewport={"width": 1360, "height": 900})
    ctx.set_default_timeout(TIMEOUT_MS)
    pg = ctx.new_page()
    pg.goto(server.url + "/admin/packs/default")
    pg.fill("input[name=name]", "alice")
    pg.fill("input[name=password]", PASSWORD)
    pg.click("button[type=submit]")
    pg.wait_for_url(re.compile(r"/admin/packs/default$"))
    yield pg
    ctx.close()


def shot(pg, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"admin-form-{name}.png"), full_page=True)


def agent_pack(server: LiveServer) -> dict:
    r = requests.get(f"{server.url}/api/packs/default", timeout=30,
                     headers={"Authorization": f"Bearer {server.app.config['REPLYDESK_TOKEN']}"})
    assert r.status_code == 200, r.text
    return r.json()


def files_on_disk(server: LiveServer) -> dict[str, str]:
    return read_files(server.app.extensions["replydesk"].config.packs_dir / "default")


def field_box(pg, field_id: str):
    return pg.locator(f'[data-field="{field_id}"]')


def open_section(pg, field_id: str) -> None:
    """Playbooks and targets are folded: open the section that holds the field."""
    box = field_box(pg, field_id)
    details = box.locator("xpath=ancestor::details[1]")
    if details.count() and details.get_attribute("open") is None:
        details.locator("summary").click()


def live_error(pg, field_id: str, text: str, expected: str) -> None:
    """Type into a field; its rule's error appears beside it while typing, marked invalid for screen readers."""
    open_section(pg, field_id)
    box = field_box(pg, field_id)
    control = box.locator("input:not([type=hidden]), textarea, select").first
    control.fill(text)
    expect(box.locator(".field-error")).to_contain_text(expected)
    expect(control).to_have_attribute("aria-invalid", "true")


# ---- labels, rules, keyboard -----------------------------------------------------------------------------------

def test_every_field_has_a_label_and_its_rule_is_read_with_it(page) -> None:
    controls = page.locator("#pack-form input:not([type=hidden]), #pack-form textarea, #pack-form select")
    n = controls.count()
    assert n >= len(FIELDS)  # voice, phrases, targets, hours, every intent's playbook, instructions
    report = page.evaluate("""() => Array.from(document.querySelectorAll(
        '#pack-form input:not([type=hidden]), #pack-form textarea, #pack-form select, #editor-form textarea'))
      .map(el => ({name: el.name, labels: el.labels ? el.labels.length : 0, aria: el.getAttribute('aria-label'),
                   described: (el.getAttribute('aria-describedby') || '').split(' ').filter(Boolean)
                     .map(id => (document.getElementById(id) || {}).textContent !== undefined)}))""")
    unlabelled = [r["name"] for r in report if not r["labels"] and not r["aria"]]
    assert unlabelled == []
    assert all(all(r["described"]) for r in report)
    # the accessible name and description are what a screen reader announces
    banned = page.get_by_label("Banned phrases")
    expect(banned).to_be_visible()
    expect(banned).to_have_accessible_description(re.compile("One phrase a line, each once"))
    expect(page.get_by_label("Signature format")).to_have_accessible_description(re.compile("1 to 40 characters"))
    expect(page.get_by_role("tab", name="Raw TOML (experts)")).to_be_visible()
    shot(page, "page")


def test_keyboard_reaches_the_fields_and_the_raw_toml_is_one_click_away(page) -> None:
    page.locator("#tab-form").focus()
    page.keyboard.press("ArrowRight")  # tabs move with the arrow keys
    expect(page.locator("#panel-toml")).to_be_visible()
    expect(page.locator("#panel-form")).to_be_hidden()
    expect(page.locator("#panel-toml .file-pane:not([hidden]) textarea")).to_be_visible()
    shot(page, "raw-toml")
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#panel-form")).to_be_visible()
    page.get_by_label("Brand name").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "pack.voice"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "pack.formality"


# ---- each field kind and its errors ----------------------------------------------------------------------------

def test_each_field_kind_shows_its_rule_broken_as_you_type(page, server) -> None:
    before = files_on_disk(server)
    live_error(page, "tone.banned_phrases", "calm down\nper our policy\nCalm down", "listed twice")
    live_error(page, "tone.allowed_domains", "https://acmeshop.example/help", "is not a domain")
    live_error(page, "signature.format", "x" * 41, "At most 40 characters")
    live_error(page, "pack.voice", "   ", "Required")
    live_error(page, "sla.x.default_minutes", "soon", "is not a number of minutes")
    live_error(page, "sla.facebook.intent.complaint", "20000", "at most 10080")
    live_error(page, "sla.business_hours.timezone", "Mars/Olympus", "not a known time zone")
    live_error(page, "sla.business_hours.periods.sat", "9-5", "is not HH:MM-HH:MM")
    live_error(page, "sla.business_hours.periods.sun", "16:00-10:00", "closes before it opens")
    live_error(page, "intents.complaint.acknowledge", "", "at least 1 line")
    live_error(page, "llm.system_prompt", "Be nice.", "At least 20 characters")
    expect(page.locator("#form-status")).to_contain_text("fields to fix")
    shot(page, "errors")
    page.get_by_role("button", name="Save & go live").click()
    expect(page.locator("#pack-error")).to_contain_text("to fix before this can be saved")
    expect(field_box(page, "tone.banned_phrases").locator(".field-error")).to_contain_text("listed twice")
    expect(field_box(page, "sla.business_hours.periods.sat").locator(".field-error")).to_contain_text("HH:MM")
    assert files_on_disk(server) == before  # an invalid form never reaches the pack


def test_a_lead_edits_every_kind_of_field_and_agents_get_it(page, server) -> None:
    start = agent_pack(server)
    version = int(start["version"])
    banned = page.get_by_label("Banned phrases")
    banned.fill(banned.input_value() + "\nper company policy")
    page.get_by_label("Voice", exact=True).fill("Warm and brief. Plain words.")
    page.get_by_label("Formality").select_option("professional")
    page.get_by_label("Signature format").fill("~{initials}")
    page.get_by_label("Every reply must be signed").uncheck()
    page.get_by_label("Allowed link domains").fill("acmeshop.example\nhelp.acmeshop.example")
    page.get_by_label("Required phrases").fill("")
    open_section(page, "sla.x.default_minutes")
    field_box(page, "sla.x.default_minutes").locator("input").fill("45")
    field_box(page, "sla.x.intent.question").locator("input").fill("50")
    field_box(page, "sla.x.severity.critical").locator("input").fill("")
    field_box(page, "sla.business_hours.periods.sat").locator("input").fill("09:00-12:00, 13:00-17:00")
    field_box(page, "sla.business_hours.periods.sun").locator("input").fill("")
    open_section(page, "intents.praise.closing")
    field_box(page, "intents.praise.closing").locator("textarea").fill("Have a lovely day!")
    field_box(page, "intents.praise.dm").locator("select").select_option("never")
    page.get_by_label("Instructions for the language model").fill(
        "You answer customers of {brand} in a {voice} way, in at most {limit} characters, signed {signature}.")
    expect(page.locator("#pending-list")).to_contain_text("Banned phrases: + per company policy")
    expect(page.locator("#form-status")).to_contain_text("valid")
    page.locator("#panel-form").get_by_label("Note for the history").fill("per company policy")
    page.get_by_role("button", name="Save & go live").click()
    expect(page.locator(".flash.ok")).to_contain_text(f"version {version + 1} is live")
    shot(page, "saved")
    pack = agent_pack(server)
    assert pack["version"] == str(version + 1)  # agents see the number move
    text = "\n".join(files_on_disk(server).values())
    assert '"per company policy"' in text and "default_minutes = 45" in text and "question = 50" in text
    assert '[["09:00", "12:00"], ["13:00", "17:00"]]' in text and "sun = []" in text
    assert "critical = " not in text.split("[sla.x]")[1].split("[sla.facebook]")[0]
    assert "# Phrases that argue, blame" in text  # the pack's comments survived the form
    page.goto(server.url + "/admin/packs/default/history")
    expect(page.locator("table.history")).to_contain_text("Banned phrases: + per company policy")
    expect(page.locator("table.history")).to_contain_text("per company policy")
    expect(page.locator("table.history tbody tr").first).to_contain_text("alice")
    expect(page.locator("table.history tbody tr").first).to_contain_text(f"v{version + 1}")
    shot(page, "history")


def test_preview_shows_which_replies_change_before_publishing(page, server) -> None:
    api = {"Authorization": f"Bearer {server.app.config['REPLYDESK_TOKEN']}"}
    post = {"platform": "x", "post_id": "form-q1", "url": "https://x.com/u/status/901", "text":
            "my kettle arrived broken, what now?", "author": {"handle": "dana", "name": "Dana Fox"}}
    assert requests.post(f"{server.url}/api/queue", json={"post": post}, headers=api, timeout=30).ok
    page.reload()
    before = files_on_disk(server)
    page.get_by_label("Default signature").fill("^ZZ")
    page.get_by_role("button", name="Preview").first.click()
    expect(page.locator("#preview")).to_be_visible()
    expect(page.locator("#preview")).to_contain_text("queue #")  # a post from the real queue was tried
    expect(page.locator("#preview-summary")).to_contain_text(re.compile(r"[1-9]\d* of \d+ repl"))
    expect(page.locator("#preview tr.changed").first.locator("td.edited")).to_contain_text("ZZ")
    shot(page, "preview")
    assert files_on_disk(server) == before  # nothing saved by a preview


def test_knowledge_article_add_preview_edit_retire(page, server) -> None:
    page.locator("#add-article").click()
    page.get_by_label("Title", exact=True).fill("Gift wrapping")
    page.get_by_label("Keywords").fill("gift wrap\ngift wrapping\nGift Wrap")
    page.get_by_label("Link for customers").fill("https://elsewhere.example/wrap")
    page.get_by_label("Answer", exact=True).fill("We gift-wrap any order for £3; choose it at checkout.")
    expect(field_box(page, "keywords").locator(".field-error")).to_contain_text("listed twice")
    expect(field_box(page, "url").locator(".field-error")).to_contain_text("allowed domains")
    shot(page, "article-errors")
    page.get_by_label("Keywords").fill("gift wrap\ngift wrapping")
    page.get_by_label("Link for customers").fill("https://acmeshop.example/help/gift-wrap")
    page.get_by_label("Try it on a customer's question").fill("can you gift wrap my order?")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#article-preview")).to_contain_text("With this article")
    expect(page.locator("#article-preview .reply")).to_have_count(2)
    shot(page, "article-preview")
    page.get_by_role("button", name="Save & go live").click()
    expect(page.locator(".flash.ok")).to_contain_text("Knowledge article gift-wrapping: added")
    assert "knowledge/gift-wrapping.md" in files_on_disk(server)
    page.get_by_role("link", name="Edit Gift wrapping").click()
    page.get_by_label("Answer", exact=True).fill("We gift-wrap any order for £2.50.")
    page.get_by_role("button", name="Save & go live").click()
    expect(page.locator(".flash.ok")).to_contain_text("Knowledge article gift-wrapping: changed")
    assert "£2.50" in files_on_disk(server)["knowledge/gift-wrapping.md"]
    page.get_by_role("link", name="Edit Gift wrapping").click()
    shot(page, "article")
    page.locator("#retire-article").click()
    expect(page.locator(".flash.ok")).to_contain_text("removed")
    assert "knowledge/gift-wrapping.md" not in files_on_disk(server)
