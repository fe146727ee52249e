"""Helpers for tests that drive cases through the API: tokens kept per person, submit, find the
open task, decide, read."""

from __future__ import annotations

from tests.support.app import api_token

__all__ = ["LEAVE", "LEAVE_5", "OVERSEAS", "TRIP", "OVERTIME", "token", "submit", "open_task", "decide", "get", "insert_case",
           "submit_overseas_travel"]

LEAVE = {"leave_type": "annual", "start_date": "2026-12-07", "end_date": "2026-12-07", "reason": "家事"}
LEAVE_5 = LEAVE | {"end_date": "2026-12-11"}
OVERSEAS = {"destinations": ["JP"], "start_date": "2027-01-04", "end_date": "2027-01-08", "purpose": "tourism",
            "reason": "旅游"}
TRIP = {"start_date": "2026-12-07", "end_date": "2026-12-08", "destination": "杭州", "purpose": "培训",
        "transport": "train"}
OVERTIME = {"date": "2026-12-05", "hours": "3", "reason": "值班", "compensation": "time_off"}


def token(client, uid: str) -> dict[str, str]:
    """The bearer header of ``uid``, asked for once per client (``client.tokens``)."""
    tokens = client.__dict__.setdefault("tokens", {})
    if uid not in tokens:
        tokens[uid] = api_token(client, uid)
    return tokens[uid]


def submit(client, uid: str, matter: str, form: dict, **extra) -> dict:
    """Submit a case as ``uid``; asserts the 201 and returns the case document."""
    response = client.post("/api/v1/cases", json={"matter_type": matter, "form": form, **extra},
                           headers=token(client, uid))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def open_task(case: dict, uid: str) -> int:
    """The id of ``uid``'s pending task in the case document; fails the test when there is none."""
    for step in case["steps"]:
        for task in step["tasks"]:
            if task["assignee"] == uid and task["status"] == "pending":
                return task["id"]
    raise AssertionError(f"no open task for {uid}: {[(s['name'], s['status']) for s in case['steps']]}")


def decide(client, uid: str, case: dict, decision: str = "approve", comment: str = "同意", **extra) -> dict:
    """``uid`` decides their open task of ``case``; asserts the 200 and returns the case document."""
    response = client.post(f"/api/v1/tasks/{open_task(case, uid)}/decision",
                           json={"decision": decision, "comment": comment, **extra}, headers=token(client, uid))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def get(client, uid: str, case: dict) -> dict:
    """The case document as ``uid`` sees it."""
    return client.get(f"/api/v1/cases/{case['id']}", headers=token(client, uid)).get_json()


def insert_case(app, applicant_uid: str, *, status: str = "in_progress", matter: str = "leave",
                number: str = "测试-2026-000001") -> int:
    """FACTORY: a ``Case`` row written directly, bypassing the case engine, for tests of what
    hangs off a case (attachments). Only the columns those read are meaningful."""
    from sqlalchemy import select

    from internal_affairs.cases.models import Case
    from internal_affairs.clock import utcnow
    from internal_affairs.extensions import db
    from internal_affairs.matters.queries import get_matter
    from internal_affairs.org.models import Person

    with app.app_context():
        applicant = db.session.execute(select(Person).where(Person.uid == applicant_uid)).scalar_one()
        loaded = get_matter(matter)
        now = utcnow()
        case = Case(number=number, agency_id=applicant.agency_id, matter_type_id=loaded.type.id,
                    matter_version_id=loaded.version.id, applicant_id=applicant.id, status=status,
                    title=f"{applicant.name}的{loaded.definition.name}", form={}, plan={}, created_at=now,
                    updated_at=now, submitted_at=now)
        db.session.add(case)
        db.session.commit()
        return case.id


def submit_overseas_travel(client, uid: str, form: dict = OVERSEAS) -> dict:
    """Submit ``uid``'s overseas travel: a draft, its itinerary (a required material) uploaded,
    then submitted; asserts each answer and returns the case document."""
    from io import BytesIO

    draft = client.post("/api/v1/cases", json={"matter_type": "overseas_travel", "form": form, "submit": False},
                        headers=token(client, uid))
    assert draft.status_code == 201, draft.get_json()
    case_id = draft.get_json()["id"]
    upload = client.post(f"/api/v1/cases/{case_id}/attachments", headers=token(client, uid),
                         data={"material": "itinerary", "file": (BytesIO(b"%PDF-1.4\n"), "itinerary.pdf")},
                         content_type="multipart/form-data")
    assert upload.status_code == 201, upload.get_json()
    submitted = client.post(f"/api/v1/cases/{case_id}/submit", headers=token(client, uid))
    assert submitted.status_code == 200, submitted.get_json()
    return submitted.get_json()
