"""The console's dashboard by agent and by channel, as a signed-in supervisor sees it (Flask test client).

Same desk as tests/api/test_stats_by_agent.py (tests/support/team_stats.py); the tables must show the API's
figures in the tray's words, for the period picked with the usual control.
"""
from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from server.admin.auth import add_supervisor
from tests.support.admin import CSRF_RE, PASSWORD
from tests.support.team_stats import make_app, seed, set_replied_by


@pytest.fixture
def app(tmp_path: Path):
    app = make_app(tmp_path)
    add_supervisor(tmp_path / "data", "alice", PASSWORD)
    yield app
    app.extensions["replydesk"].close()


def agent_client(app):
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {app.config['REPLYDESK_TOKEN']}"
    return client


def desk_agent(app) -> str:
    """Who replies with no replied_by count as: the desk's own agent (config agent_name)."""
    return app.extensions["replydesk"].config.agent_name


def console(app):
    c = app.test_client()
    token = CSRF_RE.search(c.get("/admin/login").text).group(1)
    resp = c.post("/admin/login", data={"name": "alice", "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302, resp.text
    return c


def table(page: str, section: str) -> list[list[str]]:
    """The body rows of the table in <section id=section>, each as its cells' text."""
    m = re.search(rf'<section[^>]*id="{section}".*?</section>', page, re.S)
    assert m, f"no section {section}"
    body = re.search(r"<tbody>(.*?)</tbody>", m.group(0), re.S)
    if not body:
        return []
    cells = r"<td[^>]*>(.*?)</td>"
    return [[html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(cells, row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.S)]


def test_dashboard_tables_by_agent_and_by_channel(app) -> None:
    seed(app, agent_client(app))
    page = console(app).get("/admin/dashboard?days=30")
    assert page.status_code == 200
    assert table(page.text, "by-agent") == [
        ["Dana", "4", "25m", "1h 05m", "75% (3 of 4)"],
        ["Kim", "2", "37m", "1h 03m", "50% (1 of 2)"],
        [desk_agent(app), "1", "1h 40m", "1h 40m", "100% (1 of 1)"],
    ]
    assert table(page.text, "by-channel") == [
        ["x", "6", "25m", "1h 15m", "57% (4 of 7)", "1"],
        ["facebook", "1", "1h 40m", "1h 40m", "100% (1 of 1)", "0"],
    ]
    assert '<option value="30" selected>' in page.text and "last 30 days" in page.text


def test_dashboard_period_control_and_an_empty_period(app) -> None:
    client = agent_client(app)
    seed(app, client)
    clock = app.extensions["replydesk"].queue.clock
    clock.t += 10 * 86400  # ten days later: the 7-day period holds none of the replies, the 14-day one all
    c = console(app)
    week = c.get("/admin/dashboard?days=7").text
    assert table(week, "by-agent") == [] and "No data: no replies in this period." in week
    assert [row[:2] for row in table(week, "by-channel")] == [["x", "0"], ["facebook", "0"]]
    fortnight = c.get("/admin/dashboard?days=14").text
    assert [row[0] for row in table(fortnight, "by-agent")] == ["Dana", "Kim", desk_agent(app)]


def test_agent_names_are_escaped(app) -> None:
    client = agent_client(app)
    items = seed(app, client)
    set_replied_by(app, items["replied"][0]["id"], "<script>alert(1)</script>")
    page = console(app).get("/admin/dashboard").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert table(page, "by-agent")[0][0] == "Dana"  # 3 replies left; the renamed one stands alone


def test_only_a_supervisor_sees_the_dashboard(app) -> None:
    resp = agent_client(app).get("/admin/dashboard")
    assert resp.status_code == 302 and "/admin/login" in resp.headers["Location"]
