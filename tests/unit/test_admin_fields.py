"""The pack form's fields and the history's field-by-field diff, on the shipped packs' own files (no server)."""
from __future__ import annotations

import pytest

from server.admin import fields as F
from server.admin import formedit
from server.config import REPO_ROOT
from server.packs.history import field_changes
from server.packs.store import parse_pack, read_files


@pytest.fixture
def pack():
    return parse_pack("default", read_files(REPO_ROOT / "prompts" / "default"))


def test_an_untouched_form_writes_the_files_byte_for_byte(pack) -> None:
    files, errors = formedit.apply_form(pack, formedit.form_values(pack))
    assert errors == {} and files == pack.files


def test_one_phrase_added_keeps_comments_and_shows_as_one_field_change(pack) -> None:
    values = formedit.form_values(pack)
    values["tone.banned_phrases"] += "\nper company policy"
    files, errors = formedit.apply_form(pack, values)
    assert errors == {}
    assert "# Phrases that argue, blame" in files["pack.toml"]  # comments survive (tomlkit)
    assert parse_pack("default", files).data["tone"]["banned_phrases"][-1] == "per company policy"
    changes = [c["text"] for c in field_changes(pack.files, files, F.diff_labels())]
    assert changes == ["Banned phrases: + per company policy"]


@pytest.mark.parametrize(("field", "text", "words"), [
    ("tone.banned_phrases", "calm down\nCalm down", "listed twice (lines 1 and 2)"),
    ("tone.allowed_domains", "https://shop.example", "is not a domain"),
    ("sla.x.default_minutes", "", "Required"),
    ("sla.x.default_minutes", "0", "more than 0"),
    ("sla.x.intent.complaint", "ten", "not a number"),
    ("sla.business_hours.periods.mon", "8-20", "HH:MM-HH:MM"),
    ("sla.business_hours.periods.mon", "20:00-08:00", "closes before it opens"),
    ("sla.business_hours.timezone", "Nowhere/Land", "not a known time zone"),
    ("signature.format", "", "Required"),
    ("signature.default", "x" * 41, "At most 40"),
    ("pack.formality", "shouty", "Choose one of"),
    ("intents.question.next_step", "", "at least 1"),
    ("llm.system_prompt", "too short", "At least 20"),
])
def test_each_rule_is_refused_in_words(pack, field: str, text: str, words: str) -> None:
    files, errors = formedit.apply_form(pack, {**formedit.form_values(pack), field: text})
    assert words in errors[field]
    assert set(errors) == {field}


def test_targets_hours_and_optional_keys_round_trip(pack) -> None:
    values = formedit.form_values(pack)
    values.update({"sla.x.intent.praise": "90", "sla.x.severity.critical": "", "sla.business_hours.periods.sun": "",
                   "sla.business_hours.periods.sat": "09:00-12:00, 13:00-17:00", "intents.praise.eta": ""})
    files, errors = formedit.apply_form(pack, values)
    assert errors == {}
    data = parse_pack("default", files).data
    assert data["sla"]["x"]["intent"]["praise"] == 90 and "critical" not in data["sla"]["x"].get("severity", {})
    assert data["sla"]["business_hours"]["periods"]["sat"] == [["09:00", "12:00"], ["13:00", "17:00"]]
    assert data["sla"]["business_hours"]["periods"]["sun"] == []
    again = formedit.form_values(parse_pack("default", files))
    assert again["sla.business_hours.periods.sat"] == "09:00-12:00, 13:00-17:00"


def test_no_time_zone_means_no_business_hours(pack) -> None:
    files, errors = formedit.apply_form(pack, {**formedit.form_values(pack), "sla.business_hours.timezone": ""})
    assert errors == {} and "business_hours" not in parse_pack("default", files).data["sla"]


def test_the_version_number_moves() -> None:
    assert [formedit.next_version(v) for v in ("1", "9", "2.9", "v7", "beta")] == ["2", "10", "2.10", "v8",
                                                                                     "beta.2"]


def test_every_field_has_a_label_a_rule_and_a_unique_id() -> None:
    assert len({f.id for f in F.FIELDS}) == len(F.FIELDS)
    assert len({f.dom_id for f in F.FIELDS}) == len(F.FIELDS)
    assert all(f.label and f.rule.endswith(".") for f in F.FIELDS)


def test_field_changes_for_scalars_hours_and_articles(pack) -> None:
    files = dict(pack.files)
    values = {**formedit.form_values(pack), "pack.formality": "formal", "sla.business_hours.periods.sun": ""}
    files, _ = formedit.apply_form(pack, values)
    files["knowledge/new-one.md"] = "# New\nA fact.\n"
    texts = [c["text"] for c in field_changes(pack.files, files, F.diff_labels())]
    assert "Formality: \u201cfriendly\u201d \u2192 \u201cformal\u201d" in texts
    assert "Business hours · Sunday: 10:00-16:00 \u2192 closed" in texts
    assert "Knowledge article new-one: added" in texts
