"""The catalog schema: the shipped files load, broken ones name file and path, forms validate."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
import yaml

from internal_affairs.calendar.working_days import WorkCalendar
from internal_affairs.matters.actions import CATALOG_DIR, read_catalog
from internal_affairs.matters.schema import (CatalogError, FormContext, FormErrors, compute_facts, parse_matter,
                                             validate_form)

SHIPPED = {data["code"]: data for _, data in read_catalog()}


def test_first_catalog_is_complete():
    assert set(SHIPPED) == {"leave", "business_trip", "overtime", "overseas_travel", "doc_outgoing", "doc_incoming"}
    keys = {code: parse_matter(data).form_keys() for code, data in SHIPPED.items()}
    assert keys["leave"] >= {"leave_type", "start_date", "end_date", "start_half", "end_half", "reason",
                             "leaves_province", "destination"}
    assert keys["business_trip"] >= {"start_date", "end_date", "destination", "outside_province", "purpose", "transport"}
    assert keys["overtime"] >= {"date", "hours", "reason", "compensation"}
    assert keys["overseas_travel"] >= {"destinations", "start_date", "end_date", "purpose", "reason", "companions"}
    leave = parse_matter(SHIPPED["leave"])
    assert {o.value for o in leave.field("leave_type").options} == {
        "annual", "personal", "sick", "marriage", "maternity", "bereavement", "family_visit"}
    assert any(m.deferrable and m.supply_days for m in leave.materials)
    assert keys["doc_outgoing"] >= {"document", "doc_title", "countersign"}
    assert [s.name for s in parse_matter(SHIPPED["doc_outgoing"]).route.steps] == ["核稿", "会签", "签发"]
    assert [s.name for s in parse_matter(SHIPPED["doc_incoming"]).route.steps] == ["批办", "承办", "传阅"]


def broken(mutate):
    data = copy.deepcopy(SHIPPED["leave"])
    mutate(data)
    with pytest.raises(CatalogError) as info:
        parse_matter(data, source="leave.yaml")
    return str(info.value)


@pytest.mark.parametrize("mutate, where", [
    (lambda d: d.pop("basis"), ".basis"),
    (lambda d: d.update(owner_role="boss"), ".owner_role"),
    (lambda d: d.update(time_limit=-1), ".time_limit"),
    (lambda d: d["fields"][0].update(type="colour"), "fields[0].type"),
    (lambda d: d["fields"][0].update(options=[]), "fields[0].options"),
    (lambda d: d["fields"][1].pop("start"), "fields[1].start"),
    (lambda d: d["fields"].append(dict(d["fields"][2])), "written by two fields"),
    (lambda d: d["materials"][1].pop("supply_days"), "materials[1].supply_days"),
    (lambda d: d["fields"][0].update(colour="red"), "fields[0].colour"),
    (lambda d: d["route"][0]["approvers"].update(kind="boss"), "route[0].approvers"),
    (lambda d: d["route"][1]["when"]["all"][0].update(op="=~"), "route[1].when"),
    (lambda d: d.update(facts={"days": {"working_days": "reason"}}), "facts.days"),
    (lambda d: d.update(fields=[]), ".fields: expected a non-empty list"),
    (lambda d: d.update(materials={"code": "x"}), ".materials: expected a list"),
    (lambda d: d.update(obligations="证照归还"), ".obligations: expected a list"),
    (lambda d: d.update(seals=["agency_seal", "party_seal"]), "seals[1]: unknown seal code 'party_seal'"),
    (lambda d: d.update(seals=["agency_seal", "agency_seal"]), "seals[1]: seal 'agency_seal' is listed twice"),
    (lambda d: d.update(seals="agency_seal"), ".seals: expected a list of seal codes"),
])
def test_broken_definitions_name_file_and_path(mutate, where):
    message = broken(mutate)
    assert message.startswith("leave.yaml: ") and where in message


def test_shipped_seals_and_the_default_for_none():
    seals = {code: parse_matter(data).record_seals for code, data in SHIPPED.items()}
    assert seals["overseas_travel"] == ("agency_seal", "organisation_seal")
    assert seals["leave"] == ("agency_seal",)
    assert SHIPPED["overtime"]["seals"] == [] and seals["overtime"] == ("agency_seal",), \
        "a matter declaring no seal still gets a record sealed by its agency"
    data = copy.deepcopy(SHIPPED["leave"])
    data.pop("seals")
    assert parse_matter(data).record_seals == ("agency_seal",)


def test_broken_yaml_file_names_the_line(tmp_path):
    (tmp_path / "bad.yaml").write_text("code: leave\nname: [unclosed\n", encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        read_catalog(tmp_path)
    assert "bad.yaml" in str(info.value) and "line" in str(info.value)


LEAVE = parse_matter(SHIPPED["leave"])
OK = {"leave_type": "sick", "start_date": "2026-02-13", "end_date": "2026-03-02", "start_half": "pm",
      "reason": "住院", "leaves_province": True}


def test_valid_form_is_cleaned():
    cleaned = validate_form(LEAVE, OK)
    assert cleaned["start_date"] == "2026-02-13" and cleaned["leaves_province"] is True
    assert "end_half" not in cleaned


def test_leave_length_counts_working_days_around_spring_festival():
    facts = compute_facts(LEAVE, validate_form(LEAVE, OK), WorkCalendar())
    # 13 Feb (half) + 14 Feb (make-up Saturday) + 24–27 Feb + 28 Feb (make-up) + 2 Mar
    assert facts["leave_working_days"] == Decimal("7.5")


@pytest.mark.parametrize("change, field, words", [
    ({"leave_type": None}, "leave_type", "请选择"),
    ({"end_date": "2026-02-01"}, "end_date", "早于"),
    ({"start_date": "2026-02-30"}, "start_date", "日期"),
    ({"start_half": "noon"}, "start_half", "上午"),
    ({"reason": 42}, "reason", "文字"),
    ({"leaves_province": "maybe"}, "leaves_province", "是"),
    ({"extra": 1}, "extra", "没有此字段"),
    ({"end_date": "2027-06-01"}, "end_date", "一年"),
])
def test_form_errors_are_per_field_in_chinese(change, field, words):
    form = {k: v for k, v in (OK | change).items() if v is not None}
    with pytest.raises(FormErrors) as info:
        validate_form(LEAVE, form)
    assert field in info.value.errors and words in info.value.errors[field]


def test_person_field_checks_the_directory():
    data = copy.deepcopy(SHIPPED["business_trip"])
    data["fields"].append({"code": "deputy", "label": "工作交接人", "type": "person", "required": True})
    matter = parse_matter(data)
    base = {"start_date": "2026-12-07", "end_date": "2026-12-08", "destination": "杭州", "purpose": "x",
            "transport": "car"}
    context = FormContext(person_exists=lambda uid: uid == "zhangwei")
    assert validate_form(matter, base | {"deputy": "zhangwei"}, context)["deputy"] == "zhangwei"
    with pytest.raises(FormErrors):
        validate_form(matter, base | {"deputy": "*)(uid=*"}, context)


def test_shipped_files_are_yaml_mappings():
    for path in CATALOG_DIR.glob("*.yaml"):
        assert isinstance(yaml.safe_load(path.read_text(encoding="utf-8")), dict), path
