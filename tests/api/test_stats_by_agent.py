"""GET /api/stats?group=agent|channel: per-agent and per-channel figures, exact, over the Flask test client.

The desk (tests/support/team_stats.py): Dana replied to four X posts after 10, 20, 30 and 80 minutes, Kim to two
after 5 and 70 (X target 60 minutes), a reply with no replied_by to a Facebook post after 100 (target 120); an
X post is open past its deadline, a Facebook post open and not due, one dismissed, and Kim answered a next
response (left out of the first-response figures).
"""
from __future__ import annotations

from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from server.web.openapi import load_spec
from tests.support.team_stats import DAY, make_app, seed

M = 60


@pytest.fixture
def desk(tmp_path: Path):
    app = make_app(tmp_path)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {app.config['REPLYDESK_TOKEN']}"
    items = seed(app, client)
    yield app, client, items
    app.extensions["replydesk"].close()


def get(client, query: str, status: int = 200) -> dict:
    resp = client.get(f"/api/stats?since={DAY}&until={DAY}&{query}")
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()


def test_by_agent_figures_are_exact_and_add_up_to_the_overall(desk) -> None:
    app, client, items = desk
    desk_agent = app.extensions["replydesk"].config.agent_name
    assert items["next"]["kind"] == "next_response" and items["overdue"]["state"] == "overdue"
    got = get(client, "group=agent")
    assert got["by_agent"] == [
        # [10, 20, 30, 80]: median 25, p90 at 2.7 -> 30 + 0.7 * 50 = 65 minutes; 3 of 4 by the deadline
        {"agent": "Dana", "count": 4, "median_response_seconds": 25 * M, "p90_response_seconds": 65 * M,
         "within_target": 0.75},
        # [5, 70]: median 37.5, p90 5 + 0.9 * 65 = 63.5 minutes; 1 of 2
        {"agent": "Kim", "count": 2, "median_response_seconds": 37.5 * M, "p90_response_seconds": 63.5 * M,
         "within_target": 0.5},
        # no replied_by: the desk's own agent (config agent_name)
        {"agent": desk_agent, "count": 1, "median_response_seconds": 100 * M, "p90_response_seconds": 100 * M,
         "within_target": 1.0},
    ]
    assert sum(a["count"] for a in got["by_agent"]) == got["overall"]["answered"] == 7
    plain = get(client, "")
    assert "by_agent" not in plain and "by_channel_list" not in plain
    assert {k: v for k, v in got.items() if k not in ("by_agent",)} == plain  # the usual figures, unchanged


def test_by_channel_list_counts_open_posts_past_their_deadline(desk) -> None:
    _app, client, _items = desk
    got = get(client, "group=channel")
    assert got["by_channel_list"] == [
        # [5, 10, 20, 30, 70, 80]: median 25, p90 at 4.5 -> 70 + 0.5 * 10 = 75 minutes; within: 4 replies by the
        # deadline of 6 replies + 1 open post past it
        {"platform": "x", "count": 6, "median_response_seconds": 25 * M, "p90_response_seconds": 75 * M,
         "within_target": round(4 / 7, 4), "missed_open": 1},
        {"platform": "facebook", "count": 1, "median_response_seconds": 100 * M,
         "p90_response_seconds": 100 * M, "within_target": 1.0, "missed_open": 0},
    ]
    for row in got["by_channel_list"]:
        assert row["within_target"] == got["by_channel"][row["platform"]]["within_target_share"]
    both = get(client, "group=agent,channel")
    assert both["by_agent"] == get(client, "group=agent")["by_agent"]
    assert both["by_channel_list"] == got["by_channel_list"]


def test_grouping_follows_the_platform_filter_and_the_period(desk) -> None:
    app, client, _items = desk
    fb = get(client, "platform=facebook&group=agent,channel")
    assert [a["agent"] for a in fb["by_agent"]] == [app.extensions["replydesk"].config.agent_name]
    assert [c["platform"] for c in fb["by_channel_list"]] == ["facebook"]
    empty = client.get("/api/stats?since=2037-10-01&until=2037-10-02&group=agent,channel").get_json()
    assert empty["by_agent"] == []
    assert [(c["platform"], c["count"], c["median_response_seconds"], c["within_target"])
            for c in empty["by_channel_list"]] == [("x", 0, None, None), ("facebook", 0, None, None)]


def test_bad_group_is_a_clear_400(desk) -> None:
    _app, client, _items = desk
    for bad in ("group=team", "group=agent,day", "group=AGENT"):
        body = get(client, bad, status=400)
        assert body["error"] == "invalid_group" and "group=agent" in body["message"], bad


def test_replies_without_replied_by_count_under_the_configured_agent_name(tmp_path: Path) -> None:
    app = make_app(tmp_path, agent_name="Front Desk")
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {app.config['REPLYDESK_TOKEN']}"
    try:
        seed(app, client)
        names = [a["agent"] for a in get(client, "group=agent")["by_agent"]]
        assert names == ["Dana", "Kim", "Front Desk"]
    finally:
        app.extensions["replydesk"].close()


def test_grouped_answers_match_the_openapi_description(desk) -> None:
    _app, client, _items = desk
    spec = load_spec()
    registry = Registry().with_resource("urn:spec", Resource(contents=spec, specification=DRAFT202012))
    validator = Draft202012Validator({"$ref": "urn:spec#/components/schemas/Stats"}, registry=registry)
    params = [p["name"] for p in spec["paths"]["/api/stats"]["get"]["parameters"]]
    assert "group" in params
    for query in ("group=agent,channel", "platform=facebook&group=agent,channel", ""):
        body = get(client, query)
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        assert not errors, f"{query}: {errors[0].message} at {list(errors[0].path)}"
    bad = {**get(client, "group=agent"), "by_agent": [{"agent": "Dana", "count": -1}]}
    assert list(validator.iter_errors(bad))  # the schema does check the entries
