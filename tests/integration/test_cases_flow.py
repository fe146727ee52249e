"""Cases end to end through the API: every matter, every decision kind, on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.support.cases import LEAVE, LEAVE_5, OVERSEAS, OVERTIME, TRIP, decide, get, open_task, submit, token


def test_one_day_leave_end_to_end(c):
    case = submit(c, "xujing", "leave", LEAVE)
    assert case["status"] == "in_progress" and case["number"].startswith("区教育局-2026-")
    assert case["due_at"] and case["steps"][0]["due_at"]
    case = decide(c, "zhangwei", case, comment="同意，注意交接")
    assert case["steps"][0]["status"] == "done" and case["steps"][1]["status"] == "skipped"
    hr = case["steps"][2]
    assert hr["status"] == "active" and {t["assignee"] for t in hr["tasks"]} >= {"linxiaoyan"}
    case = decide(c, "linxiaoyan", case, decision="done", comment="已登记")
    assert case["status"] == "approved"
    other = [t for t in case["steps"][2]["tasks"] if t["assignee"] != "linxiaoyan"]
    assert all(t["status"] == "cancelled" for t in other), "或签: the other HR officer's task is cancelled"
    timeline = case["steps"][0]["tasks"][0]
    assert timeline["acted_by"] == "zhangwei" and timeline["comment"] == "同意，注意交接" and timeline["decided_at"]


def test_long_leave_walks_the_chain_serially(c):
    case = submit(c, "xujing", "leave", LEAVE_5)
    chain = []
    for uid in ("zhangwei", "lixiaohong", "wangguodong"):
        step = case["steps"][0]
        assert [t["assignee"] for t in step["tasks"] if t["status"] == "pending"] == [uid]
        case = decide(c, uid, case)
        chain.append(uid)
    assert case["steps"][0]["status"] == "done"


def test_overtime_auto_approval_records_the_rule(c):
    case = submit(c, "xujing", "overtime", OVERTIME)
    first = case["steps"][0]
    assert first["status"] == "done" and "秒批" in first["note"] and not first["tasks"]
    assert case["steps"][1]["status"] == "active"


def test_business_trip_and_reject(c):
    case = submit(c, "xujing", "business_trip", TRIP)
    response = c.post(f"/api/v1/tasks/{open_task(case, 'zhangwei')}/decision",
                      json={"decision": "reject"}, headers=token(c, "zhangwei"))
    assert response.status_code == 422 and "comment" in response.get_json()["error"]["fields"]
    case = decide(c, "zhangwei", case, decision="reject", comment="时间冲突")
    assert case["status"] == "rejected"
    assert all(t["status"] != "pending" for s in case["steps"] for t in s["tasks"])


def test_overseas_travel_parallel_and_obligations(c):
    # the itinerary is a required material: draft, upload, then submit
    draft = c.post("/api/v1/cases", json={"matter_type": "overseas_travel", "form": OVERSEAS, "submit": False},
                   headers=token(c, "wangguodong"))
    assert draft.status_code == 201 and draft.get_json()["status"] == "draft"
    case_id = draft.get_json()["id"]
    missing = c.post(f"/api/v1/cases/{case_id}/submit", json={}, headers=token(c, "wangguodong"))
    assert missing.status_code == 422 and "materials.itinerary" in missing.get_json()["error"]["fields"]
    from io import BytesIO

    upload = c.post(f"/api/v1/cases/{case_id}/attachments", headers=token(c, "wangguodong"),
                    data={"material": "itinerary", "file": (BytesIO(b"%PDF-1.4\n%test\n"), "行程.pdf")},
                    content_type="multipart/form-data")
    assert upload.status_code == 201, upload.get_json()
    case = c.post(f"/api/v1/cases/{case_id}/submit", json={"deferred_materials": {"invitation": "五日内补交邀请函"}},
                  headers=token(c, "wangguodong")).get_json()
    assert case["status"] == "in_progress" and case["deferred_materials"][0]["status"] == "deferred"
    assert case["steps"][0]["tasks"][0]["assignee"] == "fanghuimin"
    case = decide(c, "fanghuimin", case)
    parallel = case["steps"][1]
    assert parallel["status"] == "active" and parallel["parallel"]
    assert {t["branch"] for t in parallel["tasks"]} == {"纪委审查"}, "the duplicate district-leader branch is skipped"
    assert any(s["uid"] == "fanghuimin" for s in parallel["skipped"])
    reviewer = next(t["assignee"] for t in parallel["tasks"] if t["status"] == "pending")
    case = decide(c, reviewer, case)
    assert case["steps"][1]["status"] == "done" and case["steps"][2]["status"] == "active"
    officer = next(t["assignee"] for t in case["steps"][2]["tasks"])
    case = decide(c, officer, case)
    officer = next(t["assignee"] for t in case["steps"][3]["tasks"])
    case = decide(c, officer, case, decision="done", comment="证照已领取")
    assert case["status"] == "approved"
    obligations = case["obligations"]
    assert {o["obligation"] for o in obligations} == {"passport_return", "return_report"}
    assert all(o["assignee"] == "wangguodong" and o["due_at"] for o in obligations)
    caps = get(c, "wangguodong", case)["capabilities"]
    for ob in obligations:
        assert caps["decide"][str(ob["id"])] == ["done"]
        assert ob["id"] not in caps["forward"] + caps["transfer"] + caps["consult"] + caps["add_approver"]
        for path, body in (("transfer", {"to": "zhangwei"}), ("consult", {"to": "zhangwei"}),
                           ("add-approver", {"to": "zhangwei", "position": "before"})):
            refused = c.post(f"/api/v1/tasks/{ob['id']}/{path}", json=body, headers=token(c, "wangguodong"))
            assert refused.status_code == 403, (path, refused.get_json())
            assert refused.get_json()["error"]["code"] == "forbidden"
    for ob in obligations:
        response = c.post(f"/api/v1/tasks/{ob['id']}/decision", json={"decision": "done"},
                          headers=token(c, "wangguodong"))
        assert response.status_code == 200
    assert response.get_json()["status"] == "completed"


def test_parallel_branches_both_act(c):
    """A deputy bureau chief (区管干部): discipline review and the district leader decide side by side."""
    from io import BytesIO

    draft = c.post("/api/v1/cases", json={"matter_type": "overseas_travel", "form": OVERSEAS, "submit": False},
                   headers=token(c, "lixiaohong")).get_json()
    c.post(f"/api/v1/cases/{draft['id']}/attachments", headers=token(c, "lixiaohong"),
           data={"material": "itinerary", "file": (BytesIO(b"%PDF-1.4\n"), "itinerary.pdf")},
           content_type="multipart/form-data")
    case = c.post(f"/api/v1/cases/{draft['id']}/submit", headers=token(c, "lixiaohong")).get_json()
    case = decide(c, "wangguodong", case)
    parallel = case["steps"][1]
    assert {t["branch"] for t in parallel["tasks"]} == {"纪委审查", "分管区领导审批"}
    case = decide(c, "fanghuimin", case)
    assert case["steps"][1]["status"] == "active", "one branch done, the other still open"
    reviewer = next(t["assignee"] for t in case["steps"][1]["tasks"]
                    if t["branch"] == "纪委审查" and t["status"] == "pending")
    case = decide(c, reviewer, case)
    assert case["steps"][1]["status"] == "done" and case["steps"][2]["status"] == "active"


def test_return_to_applicant_and_resubmit_straight_back(c):
    case = submit(c, "xujing", "leave", LEAVE_5)
    case = decide(c, "zhangwei", case)
    case = decide(c, "lixiaohong", case, decision="return", comment="请补充事由")
    assert case["status"] == "returned"
    response = c.post(f"/api/v1/cases/{case['id']}/resubmit", json={"form": LEAVE_5 | {"reason": "家中有事，需回老家"}},
                      headers=token(c, "xujing"))
    assert response.status_code == 200, response.get_json()
    case = response.get_json()
    assert case["status"] == "in_progress" and case["revisions"][0]["diff"]["reason"][1] == "家中有事，需回老家"
    pending = [t["assignee"] for s in case["steps"] for t in s["tasks"] if t["status"] == "pending"]
    assert pending == ["lixiaohong"], "straight back to the step that returned it"


def test_return_to_an_earlier_step(c):
    case = submit(c, "xujing", "leave", LEAVE_5)
    case = decide(c, "zhangwei", case)
    case = decide(c, "lixiaohong", case)
    case = decide(c, "wangguodong", case)
    hr_task = open_task(case, "linxiaoyan")
    response = c.post(f"/api/v1/tasks/{hr_task}/decision", json={"decision": "return", "comment": "请领导重新确认",
                                                                  "to_step": "领导审批"}, headers=token(c, "linxiaoyan"))
    assert response.status_code == 200, response.get_json()
    case = response.get_json()
    assert case["status"] == "in_progress" and case["steps"][0]["status"] == "active"
    assert [t["assignee"] for t in case["steps"][0]["tasks"] if t["status"] == "pending"] == ["zhangwei"]
    bad = c.post(f"/api/v1/tasks/{open_task(case, 'zhangwei')}/decision",
                 json={"decision": "return", "comment": "x", "to_step": "考勤登记"}, headers=token(c, "zhangwei"))
    assert bad.status_code == 422


def test_withdraw_before_and_after_decisions(c):
    case = submit(c, "xujing", "leave", LEAVE)
    response = c.post(f"/api/v1/cases/{case['id']}/withdraw", json={}, headers=token(c, "xujing"))
    assert response.status_code == 200 and response.get_json()["status"] == "withdrawn"
    case = submit(c, "xujing", "leave", LEAVE)
    decide(c, "zhangwei", case)
    response = c.post(f"/api/v1/cases/{case['id']}/withdraw", json={}, headers=token(c, "xujing"))
    assert response.status_code == 409
    assert c.post(f"/api/v1/cases/{case['id']}/withdraw", json={}, headers=token(c, "zhangwei")).status_code == 403


def test_double_click_gives_one_decision_and_a_409(c):
    case = submit(c, "xujing", "leave", LEAVE)
    task = open_task(case, "zhangwei")
    first = c.post(f"/api/v1/tasks/{task}/decision", json={"decision": "approve"}, headers=token(c, "zhangwei"))
    second = c.post(f"/api/v1/tasks/{task}/decision", json={"decision": "approve"}, headers=token(c, "zhangwei"))
    assert first.status_code == 200 and second.status_code == 409
    assert second.get_json()["error"]["code"] == "stale_decision"


def test_any_step_second_approver_gets_409(c):
    case = submit(c, "xujing", "leave", LEAVE)
    case = decide(c, "zhangwei", case)
    hr_tasks = [t for t in case["steps"][2]["tasks"] if t["status"] == "pending"]
    assert len(hr_tasks) >= 2
    a, b = hr_tasks[:2]
    ok = c.post(f"/api/v1/tasks/{a['id']}/decision", json={"decision": "done"}, headers=token(c, a["assignee"]))
    late = c.post(f"/api/v1/tasks/{b['id']}/decision", json={"decision": "done"}, headers=token(c, b["assignee"]))
    assert ok.status_code == 200 and late.status_code == 409


def test_transfer_consult_add_and_remove_approver(c):
    case = submit(c, "xujing", "business_trip", TRIP)
    task = open_task(case, "zhangwei")
    assert c.post(f"/api/v1/tasks/{task}/transfer", json={"to": "xujing"}, headers=token(c, "zhangwei")).status_code == 422
    case = c.post(f"/api/v1/tasks/{task}/consult", json={"to": "liujia", "comment": "请提意见"},
                  headers=token(c, "zhangwei")).get_json()
    blocked = c.post(f"/api/v1/tasks/{task}/decision", json={"decision": "approve"}, headers=token(c, "zhangwei"))
    assert blocked.status_code == 409 and blocked.get_json()["error"]["code"] == "task_blocked"
    consult_task = next(t["id"] for s in case["steps"] for t in s["tasks"] if t["kind"] == "consult")
    c.post(f"/api/v1/tasks/{consult_task}/decision", json={"decision": "done", "comment": "可以"},
           headers=token(c, "liujia"))
    case = c.post(f"/api/v1/tasks/{task}/add-approver", json={"to": "liujia", "position": "before"},
                  headers=token(c, "zhangwei"))
    assert case.status_code == 200, case.get_json()
    case = case.get_json()
    added = next(t for s in case["steps"] for t in s["tasks"] if t["origin"] == "added_before")
    assert c.post(f"/api/v1/tasks/{added['id']}/remove-approver", headers=token(c, "xujing")).status_code in (403, 404)
    case = c.post(f"/api/v1/tasks/{added['id']}/remove-approver", headers=token(c, "zhangwei")).get_json()
    assert next(t for s in case["steps"] for t in s["tasks"] if t["id"] == added["id"])["status"] == "cancelled"
    case = c.post(f"/api/v1/tasks/{task}/transfer", json={"to": "lixiaohong", "comment": "请李局审批"},
                  headers=token(c, "zhangwei")).get_json()
    case = decide(c, "lixiaohong", case)
    assert case["steps"][0]["status"] == "done"


def test_withdraw_own_decision_while_next_step_untouched(c):
    case = submit(c, "xujing", "leave", LEAVE)
    case = decide(c, "zhangwei", case)
    task = next(t["id"] for t in case["steps"][0]["tasks"] if t["acted_by"] == "zhangwei")
    response = c.post(f"/api/v1/tasks/{task}/withdraw-decision", headers=token(c, "zhangwei"))
    assert response.status_code == 200, response.get_json()
    case = response.get_json()
    assert case["steps"][0]["status"] == "active" and case["steps"][2]["status"] == "planned"
    assert open_task(case, "zhangwei")
    case = decide(c, "zhangwei", case)
    case = decide(c, "linxiaoyan", case, decision="done")
    task = next(t["id"] for t in case["steps"][0]["tasks"] if t["acted_by"] == "zhangwei" and t["status"] == "approved")
    assert c.post(f"/api/v1/tasks/{task}/withdraw-decision", headers=token(c, "zhangwei")).status_code == 409


def test_the_document_lists_cc_attachments_and_deferred_materials_in_order(c):
    """The three lists come from one statement: each keeps its own rows, order and types."""
    from io import BytesIO

    draft = c.post("/api/v1/cases", json={"matter_type": "overseas_travel", "form": OVERSEAS, "submit": False},
                   headers=token(c, "wangguodong")).get_json()
    for name, body in (("旧行程.pdf", b"%PDF-1.4\n%old\n"), ("行程.pdf", b"%PDF-1.4\n%new itinerary\n")):
        response = c.post(f"/api/v1/cases/{draft['id']}/attachments", headers=token(c, "wangguodong"),
                          data={"material": "itinerary", "file": (BytesIO(body), name)},
                          content_type="multipart/form-data")
        assert response.status_code == 201
    first = get(c, "wangguodong", draft)["attachments"][0]["id"]
    assert c.delete(f"/api/v1/cases/{draft['id']}/attachments/{first}",
                    headers=token(c, "wangguodong")).status_code == 204
    c.post(f"/api/v1/cases/{draft['id']}/submit", json={"deferred_materials": {"invitation": "五日内补交邀请函"}},
           headers=token(c, "wangguodong"))
    for uid in ("guolei", "xujing"):
        assert c.post(f"/api/v1/cases/{draft['id']}/cc", json={"to": [uid]},
                      headers=token(c, "wangguodong")).status_code == 200
    case = get(c, "wangguodong", draft)
    assert [a["filename"] for a in case["attachments"]] == ["旧行程.pdf", "行程.pdf"]
    old, new = case["attachments"]
    assert old["withdrawn"] is True and new["withdrawn"] is False
    assert new["size"] == len(b"%PDF-1.4\n%new itinerary\n") and isinstance(new["size"], int)
    assert new["material"] == "itinerary" and new["content_type"] == "application/pdf" and len(new["sha256"]) == 64
    assert new["uploaded_at"].endswith("Z") and new["kind"]
    [deferred] = case["deferred_materials"]
    assert deferred["material"] == "invitation" and deferred["status"] == "deferred"
    assert deferred["commitment"] == "五日内补交邀请函" and deferred["due_at"].endswith("Z")
    assert deferred["supplied_at"] is None
    assert [entry["uid"] for entry in case["cc"]] == ["guolei", "xujing"]
    assert all(entry["at"].endswith("Z") and entry["name"] for entry in case["cc"])


def test_cc_several_people_at_once_and_refusals(c):
    case = submit(c, "xujing", "leave", LEAVE)
    path, headers = f"/api/v1/cases/{case['id']}/cc", token(c, "xujing")
    for body, field_message in (({"to": ["guolei", "nobody_here", "liujia"]}, "nobody_here"),
                                ({"to": ["guolei", 7]}, "用户名"), ({"to": []}, "1 至 50"),
                                ({"to": "guolei"}, "1 至 50"), ({"to": ["guolei"] * 51}, "1 至 50")):
        refused = c.post(path, json=body, headers=headers)
        assert refused.status_code == 422 and field_message in refused.get_json()["error"]["fields"]["to"], body
    assert get(c, "xujing", case)["cc"] == [], "a refused CC adds nobody"
    answer = c.post(path, json={"to": ["liujia", "guolei", "liujia", "xujing"]}, headers=headers).get_json()
    assert [entry["uid"] for entry in answer["cc"]] == ["liujia", "guolei"], "once each, never the applicant"


def test_cc_remind_and_inbox_boxes(c):
    case = submit(c, "xujing", "leave", LEAVE)
    assert c.post(f"/api/v1/cases/{case['id']}/cc", json={"to": ["guolei"]}, headers=token(c, "xujing")).status_code == 200
    assert c.post(f"/api/v1/cases/{case['id']}/remind", headers=token(c, "xujing")).status_code == 200
    again = c.post(f"/api/v1/cases/{case['id']}/remind", headers=token(c, "xujing"))
    assert again.status_code == 429 and again.get_json()["error"]["code"] == "rate_limited"
    todo = c.get("/api/v1/inbox?box=todo", headers=token(c, "zhangwei")).get_json()
    assert todo["total"] == 1 and todo["items"][0]["number"] == case["number"] and todo["counts"]["todo"] == 1
    assert todo["items"][0]["task"]["reminded_at"], "the approver sees that the applicant reminded them"
    mine = c.get("/api/v1/inbox?box=mine", headers=token(c, "xujing")).get_json()
    assert mine["items"][0]["case_id"] == case["id"]
    cc = c.get("/api/v1/inbox?box=cc", headers=token(c, "guolei")).get_json()
    assert cc["total"] == 1
    assert c.get(f"/api/v1/cases/{case['id']}", headers=token(c, "guolei")).status_code == 200
    decide(c, "zhangwei", case)
    done = c.get("/api/v1/inbox?box=done", headers=token(c, "zhangwei")).get_json()
    assert done["total"] == 1 and done["items"][0]["task"]["decision"] == "approve"
    found = c.get(f"/api/v1/inbox?box=mine&q={case['number'][-6:]}", headers=token(c, "xujing")).get_json()
    assert found["total"] == 1
    assert c.get("/api/v1/inbox?box=everything", headers=token(c, "xujing")).status_code == 400
    assert c.get("/api/v1/inbox?per_page=1000", headers=token(c, "xujing")).status_code == 400


def test_batch_decision(c):
    cases = [submit(c, "xujing", "leave", LEAVE), submit(c, "guolei", "leave", LEAVE)]
    tasks = [open_task(cases[0], "zhangwei")]
    response = c.post("/api/v1/tasks/batch-decision", json={"task_ids": tasks + [999999], "decision": "approve",
                                                            "comment": "同意"}, headers=token(c, "zhangwei"))
    results = response.get_json()["results"]
    assert results[0]["status"] == "ok" and results[1]["status"] == "error"
    assert results[1]["error"]["code"] == "not_found"


def test_gapless_numbers_per_agency(c):
    numbers = [submit(c, "xujing", "leave", LEAVE)["number"] for _ in range(3)]
    seq = [int(n.rsplit("-", 1)[1]) for n in numbers]
    assert seq == list(range(seq[0], seq[0] + 3))
    other = submit(c, "yanming", "leave", LEAVE)["number"]
    assert other.startswith("区纪委-2026-") and other.endswith("000001")


def test_draft_can_be_edited_until_submitted(c):
    draft = c.post("/api/v1/cases", json={"matter_type": "leave", "form": LEAVE, "submit": False},
                   headers=token(c, "xujing")).get_json()
    assert draft["number"] is None, "drafts take no number: numbers stay gapless"
    edited = c.patch(f"/api/v1/cases/{draft['id']}", json={"form": LEAVE | {"reason": "改为探亲"}},
                     headers=token(c, "xujing"))
    assert edited.status_code == 200 and edited.get_json()["form"]["reason"] == "改为探亲"
    bad = c.patch(f"/api/v1/cases/{draft['id']}", json={"form": LEAVE | {"end_date": "2026-01-01"}},
                  headers=token(c, "xujing"))
    assert bad.status_code == 422
    assert c.patch(f"/api/v1/cases/{draft['id']}", json={"form": LEAVE}, headers=token(c, "guolei")).status_code == 404
    submitted = c.post(f"/api/v1/cases/{draft['id']}/submit", headers=token(c, "xujing")).get_json()
    assert submitted["status"] == "in_progress" and submitted["number"]
    again = c.patch(f"/api/v1/cases/{draft['id']}", json={"form": LEAVE}, headers=token(c, "xujing"))
    assert again.status_code == 409


def test_failed_submission_leaves_nothing_behind(c, demo_app):
    from sqlalchemy import func, select

    from internal_affairs.cases.models import Case
    from internal_affairs.extensions import db

    response = c.post("/api/v1/cases", json={"matter_type": "overseas_travel", "form": OVERSEAS},
                      headers=token(c, "xujing"))
    assert response.status_code == 422 and "materials.itinerary" in response.get_json()["error"]["fields"]
    with demo_app.app_context():
        assert db.session.execute(select(func.count()).select_from(Case)).scalar() == 0
