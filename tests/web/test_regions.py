"""Destinations of 因私出国（境）: ISO 3166-1 alpha-2 codes in the API (and said so when a name is
sent), and a plain multi-select on the page that works without JavaScript."""

from __future__ import annotations

import re

import pytest

from tests.support.app import api_token, csrf_token, login

OVERSEAS = {"start_date": "2027-01-04", "end_date": "2027-01-08", "purpose": "tourism", "reason": "旅游"}


@pytest.fixture
def c(catalog_app):
    return catalog_app.test_client()


def draft(c, headers, destinations, query=""):
    return c.post(f"/api/v1/cases{query}", headers=headers,
                  json={"matter_type": "overseas_travel", "form": OVERSEAS | {"destinations": destinations},
                        "submit": False})


@pytest.mark.parametrize("destinations", [["日本"], "日本", ["JP", "日本"], ["Japan"], [81], []])
def test_a_name_instead_of_a_code_is_refused_with_the_code_to_use(c, destinations):
    headers = api_token(c, "lixiaohong")
    response = draft(c, headers, destinations)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_form"
    message = error["fields"]["destinations"]
    assert "请使用国家或地区代码，如 JP" in message if destinations else "请选择" in message


def test_the_code_hint_is_translated(c):
    headers = api_token(c, "lixiaohong")
    response = draft(c, headers, ["日本"], query="?lang=en")
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["destinations"] == "Use the country or region code, e.g. JP."


def test_codes_are_taken_in_either_case_and_stored_in_capitals(c):
    headers = api_token(c, "lixiaohong")
    response = draft(c, headers, ["jp", " KR "])
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["form"]["destinations"] == ["JP", "KR"]


def test_openapi_and_the_matter_type_say_the_field_takes_alpha_2_codes(c):
    spec = c.get("/api/v1/openapi.json").get_json()
    codes = spec["components"]["schemas"]["RegionCodes"]
    assert codes["items"]["pattern"] == "^[A-Z]{2}$" and ["JP"] in codes["examples"]
    assert "alpha-2" in codes["description"] and "请使用国家或地区代码，如 JP" in codes["description"]
    form = spec["components"]["schemas"]["Form"]
    assert form["properties"]["destinations"] == {"$ref": "#/components/schemas/RegionCodes"}
    assert form["examples"][0]["destinations"] == ["JP"]
    create = spec["paths"]["/cases"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert create["properties"]["form"] == {"$ref": "#/components/schemas/Form"}

    headers = api_token(c, "lixiaohong")
    matter = c.get("/api/v1/matter-types/overseas_travel", headers=headers).get_json()
    (field,) = [f for f in matter["fields"] if f["code"] == "destinations"]
    assert field["type"] == "regions" and field["format"] == "ISO 3166-1 alpha-2" and field["example"] == ["JP"]


def test_the_page_is_a_plain_multi_select_the_script_enhances(c):
    assert login(c, "lixiaohong").status_code in (302, 303)
    page = c.get("/cases/new/overseas_travel").get_data(as_text=True)
    select = re.search(r'<select name="destinations" id="destinations" multiple[^>]*>', page).group(0)
    assert "data-picker" in select and 'data-picker-placeholder="输入名称或代码搜索，如 日 或 JP"' in select
    assert '<option value="JP" >日本</option>' in page
    assert '<script src="/static/picker.js" defer></script>' in page
    # the Content-Security-Policy allows no inline script: every <script> has a src, no on* handlers
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", page))
    assert not re.search(r"\son[a-z]+=", page)
    script = c.get("/static/picker.js")
    assert script.status_code == 200 and "javascript" in script.content_type


def test_the_form_submits_without_javascript(c):
    """What a browser without JavaScript sends: the select's chosen options, one value each."""
    assert login(c, "lixiaohong").status_code in (302, 303)
    token = csrf_token(c, "/cases/new/overseas_travel")
    data = {"csrf_token": token, "action": "draft", "destinations": ["JP", "TH"], **OVERSEAS}
    response = c.post("/cases/new/overseas_travel", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    page = c.get(response.headers["Location"]).get_data(as_text=True)
    assert "日本、泰国" in page

    data["destinations"] = ["日本"]
    refused = c.post("/cases/new/overseas_travel", data=data)
    assert refused.status_code == 422
    assert "请使用国家或地区代码，如 JP" in refused.get_data(as_text=True)
