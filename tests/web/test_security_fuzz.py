"""Hostile strings fed to every JSON endpoint that writes: never a 5xx, and a refusal (4xx)
writes nothing at all (every table's rows compared before and after).

The endpoints are read from the application's URL map, so a new one is covered the day it is
added (with the generic keys below until it is given its own)."""

from __future__ import annotations

from io import BytesIO
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.app import api_token
from tests.support.dbstate import table_state
from tests.support.hostile import deep_json, hostile_bodies, hostile_strings, json_text

LEAVE = {"leave_type": "annual", "start_date": "2026-12-07", "end_date": "2026-12-07", "reason": "家事"}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
KEYS = {
    "api.issue_token": ["username", "password"],
    "api.create_case": ["matter_type", "form", "submit", "deferred_materials"],
    "api.update_draft": ["form"],
    "api.resubmit_case": ["form"],
    "api.submit_case": ["deferred_materials"],
    "api.withdraw_case": ["reason", "comment"],
    "api.cc_case": ["to"],
    "api.decide": ["decision", "comment", "to_step"],
    "api.transfer": ["to", "comment"],
    "api.consult": ["to", "comment"],
    "api.add_approver": ["to", "comment", "position"],
    "api.batch_decision": ["task_ids", "decision", "comment"],
    "api.route_preview": ["matter_type", "form", "applicant"],
    "api.set_calendar_day": ["working_day", "note"],
    "api.set_default_deputy": ["deputy"],
    "api.sync": ["dry_run", "full", "force", "apply_run"],
}
GENERIC_KEYS = sorted({k for keys in KEYS.values() for k in keys})
REFUSALS_THAT_WRITE = {("api.issue_token", 401): {"audit_event"}}
"""Refusals that write by design: a wrong password is audited."""
MULTIPART = {"api.upload_attachment"}


def write_endpoints(app) -> list[tuple[str, str, str]]:
    """``(endpoint, method, rule)`` of every JSON route under ``/api/v1`` that may write."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            for method in sorted(rule.methods & UNSAFE):
                found.append((rule.endpoint, method, rule.rule))
    return sorted(found)


@pytest.fixture
def world(catalog_app):
    """A draft, a submitted case with an attachment, and the path arguments to reach them."""
    c = catalog_app.test_client()
    tokens = {uid: api_token(c, uid) for uid in ("xujing", "shenliheng")}
    draft = c.post("/api/v1/cases", json={"matter_type": "leave", "form": LEAVE, "submit": False},
                   headers=tokens["xujing"]).get_json()
    att = c.post(f"/api/v1/cases/{draft['id']}/attachments", headers=tokens["xujing"], content_type="multipart/form-data",
                 data={"material": "medical_certificate", "file": (BytesIO(b"%PDF-1.4\n%x\n"), "a.pdf")}).get_json()
    case = c.post("/api/v1/cases", json={"matter_type": "leave", "form": LEAVE, "submit": True},
                  headers=tokens["xujing"]).get_json()
    args = {"case_id": case["id"], "task_id": case["steps"][0]["tasks"][0]["id"], "attachment_id": att["id"],
            "uid": "xujing", "day": "2026-12-12"}
    return c, tokens, args, draft["id"]


def _path(rule: str, args: dict, draft: int) -> str:
    path = rule.replace("<int:", "<")
    for name, value in args.items():
        path = path.replace(f"<{name}>", str(draft if name == "case_id" and "attachments" in rule else value))
    return path


def _send(c, endpoint: str, method: str, path: str, body: str, headers: dict):
    if endpoint in MULTIPART:
        text = body.encode("utf-8", "surrogatepass").decode("utf-8", "replace")[:200_000]
        return c.open(path, method=method, headers=headers, content_type="multipart/form-data",
                      data={"material": text, "file": (BytesIO(b"%PDF-1.4\n"), text)})
    return c.open(path, method=method, data=body.encode("utf-8"), content_type="application/json", headers=headers)


def _check(c, endpoint: str, method: str, path: str, body: str, headers: dict, known: dict | None = None) -> dict:
    """Send one body; returns the database's state after it (``known``: the state before, when
    the caller has it from the previous refusal)."""
    app = c.application
    before = known or table_state(app)
    response = _send(c, endpoint, method, path, body, headers)
    assert response.status_code < 500, (endpoint, path, body[:300], response.get_data(as_text=True)[:300])
    if response.status_code < 400:
        return table_state(app)
    after = table_state(app)
    allowed = REFUSALS_THAT_WRITE.get((endpoint, response.status_code), set())
    changed = {name for name in before if before[name] != after[name]} - allowed
    assert not changed, (endpoint, path, body[:300], response.status_code, changed)
    return after


FIXED_BODIES = [deep_json(1000), '{"a\\ud800": 1}', "NaN", "[1, 2]"]


def _bodies(keys: list[str]) -> list[str]:
    """The breakers for one endpoint: a lone surrogate in each of its keys, then NUL, a surrogate
    key inside a nested value, and numbers past 64 bits in all of them at once."""
    return FIXED_BODIES + [json_text({key: "a\ud800b"}) for key in keys] + [
        json_text(dict.fromkeys(keys, bad)) for bad in ("x\x00", {"k\udc00": ["\ud83d"]}, 10**30)]


@pytest.mark.parametrize("uid", ["xujing", "shenliheng"])
def test_every_write_endpoint_refuses_the_known_breakers(world, uid):
    c, tokens, args, draft = world
    endpoints = write_endpoints(c.application)
    assert len(endpoints) >= 20, endpoints
    state = None
    for endpoint, method, rule in endpoints:
        path = _path(rule, args, draft)
        for body in _bodies(KEYS.get(endpoint, GENERIC_KEYS)):
            state = _check(c, endpoint, method, path, body, tokens[uid], state)


@pytest.mark.parametrize("uid", ["xujing", "shenliheng"])
def test_hostile_bodies_never_give_a_5xx_nor_a_partial_write(world, uid):
    c, tokens, args, draft = world
    endpoints = write_endpoints(c.application)

    @settings(max_examples=40, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(st.sampled_from(endpoints).flatmap(
        lambda e: st.tuples(st.just(e), hostile_bodies(KEYS.get(e[0], GENERIC_KEYS)))))
    def run(drawn):
        (endpoint, method, rule), body = drawn
        state["now"] = _check(c, endpoint, method, _path(rule, args, draft), body, tokens[uid], state.get("now"))

    state: dict = {}

    run()


def test_hostile_query_strings_on_reads_never_give_a_5xx(catalog_app):
    """Query arguments go through the same gate (values reach the server percent-encoded, as a
    browser sends them: a lone surrogate arrives as U+FFFD, NUL as NUL; a URL is kept to 2,000
    characters of each value, as servers refuse longer ones)."""
    c = catalog_app.test_client()
    headers = api_token(c, "shenliheng")

    @settings(max_examples=15, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(hostile_strings(), min_size=1, max_size=4))
    def run(values):
        for path in ("/api/v1/inbox", "/api/v1/org/sync-runs", "/api/v1/calendar", "/api/v1/matter-types"):
            query = "&".join(f"{k}={quote(v[:2000].encode('utf-8', 'surrogatepass'))}"
                             for k, v in zip(("page", "q", "from", "to"), values))
            response = c.get(f"{path}?{query}", headers=headers)
            assert response.status_code < 500, (path, query[:200], response.status_code)

    run()
