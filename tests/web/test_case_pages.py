"""The case pages through the test client: new request, inbox, case page, decisions, resubmission."""

from __future__ import annotations

import re
from io import BytesIO

import pytest

from tests.support.app import logged_in

LEAVE = {"leave_type": "annual", "start_date": "2026-12-07", "end_date": "2026-12-07", "reason": "家事"}
LEAVE_5 = LEAVE | {"end_date": "2026-12-11"}
OVERSEAS = {"destinations": "JP", "start_date": "2027-01-04", "end_date": "2027-01-08", "purpose": "family",
            "reason": "探亲"}


@pytest.fixture
def app(catalog_app):
    return catalog_app


def client_for(app, uid):
    return logged_in(app, uid, "/inbox")


def post(client, path, data=None, **kwargs):
    return client.post(path, data={"csrf_token": client.token, **(data or {})}, **kwargs)


def submit_leave(client, form=LEAVE) -> int:
    response = post(client, "/cases/new/leave", form | {"action": "submit"})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    match = re.search(r"/cases/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def case_json(client, case_id):
    return client.get(f"/api/v1/cases/{case_id}").get_json()


def open_task(client, case_id, uid):
    for step in case_json(client, case_id)["steps"]:
        for task in step["tasks"]:
            if task["assignee"] == uid and task["status"] == "pending":
                return task["id"]
    raise AssertionError(f"no open task for {uid}")


def decide(client, case_id, task_id, decision="approve", comment="", **extra):
    return post(client, f"/cases/{case_id}/tasks/{task_id}/decision",
                {"decision": decision, "comment": comment, **extra})


def text(response) -> str:
    return response.get_data(as_text=True)


def test_new_request_lists_matters_and_previews_the_route(app):
    xujing = client_for(app, "xujing")
    index = text(xujing.get("/cases/new"))
    assert 'href="/cases/new/leave"' in index and "因私出国（境）" in index
    page = xujing.get("/cases/new/leave")
    assert page.status_code == 200 and "请假类型" in text(page) and "承诺时限" in text(page)
    assert 'name="defer_supporting_document"' in text(page), "a deferrable material offers 容缺后补"
    preview = post(xujing, "/cases/new/leave", LEAVE | {"action": "preview"})
    assert preview.status_code == 200
    body = text(preview)
    assert 'id="preview"' in body and "张伟" in body
    assert '<option value="annual" selected>' in body, "the user's input is kept"
    assert xujing.get("/api/v1/inbox?box=mine").get_json()["total"] == 0, "a preview submits nothing"


def test_submit_a_leave_through_the_page(app):
    xujing = client_for(app, "xujing")
    case_id = submit_leave(xujing)
    page = xujing.get(f"/cases/{case_id}", follow_redirects=True)
    body = text(page)
    assert "申请已提交" in body and "区教育局-2026-" in body
    assert 'data-status="in_progress"' in body and "办理中" in body
    assert "年休假" in body, "a select shows its option label"
    assert "领导审批" in body and "张伟" in body
    assert "催办" in body and "撤回申请" in body


def test_bad_form_shows_messages_and_keeps_input(app):
    xujing = client_for(app, "xujing")
    response = post(xujing, "/cases/new/leave", {"leave_type": "annual", "reason": "", "start_date": "2026-12-09",
                                                 "end_date": "2026-12-07", "action": "submit"})
    assert response.status_code == 422
    body = text(response)
    assert 'class="field-error"' in body
    assert re.search(r'data-field="(reason|start_date|end_date)"', body)
    assert 'value="2026-12-09"' in body and '<option value="annual" selected>' in body
    assert xujing.get("/api/v1/inbox?box=mine").get_json()["total"] == 0, "nothing was created"


def test_missing_required_material_is_a_field_message(app):
    lixiaohong = client_for(app, "lixiaohong")
    response = post(lixiaohong, "/cases/new/overseas_travel", OVERSEAS | {"action": "submit"})
    assert response.status_code == 422
    assert 'data-field="materials.itinerary"' in text(response)
    assert lixiaohong.get("/api/v1/inbox?box=mine").get_json()["total"] == 0


def test_submit_with_a_file_and_a_deferred_material(app):
    lixiaohong = client_for(app, "lixiaohong")
    data = OVERSEAS | {"action": "submit", "defer_invitation": "on", "commitment_invitation": "五日内补交邀请函",
                       "file_itinerary": (BytesIO(b"%PDF-1.4\n%itinerary\n"), "行程.pdf")}
    response = post(lixiaohong, "/cases/new/overseas_travel", data, content_type="multipart/form-data")
    assert response.status_code == 303, text(response)[:2000]
    body = text(lixiaohong.get(response.headers["Location"]))
    assert "行程.pdf" in body and "SHA-256" in body
    assert re.search(r'href="/api/v1/cases/\d+/attachments/\d+"', body)
    assert "五日内补交邀请函" in body and "待补交" in body
    assert "日本" in body, "regions are shown by their Chinese name"


def test_wrong_file_type_leaves_a_draft_to_complete(app):
    lixiaohong = client_for(app, "lixiaohong")
    data = OVERSEAS | {"action": "submit", "file_itinerary": (BytesIO(b"MZ\x90\x00not a document"), "行程.pdf")}
    response = post(lixiaohong, "/cases/new/overseas_travel", data, content_type="multipart/form-data")
    assert response.status_code == 422
    body = text(response)
    assert "保存为草稿" in body and 'data-field="materials.itinerary"' in body
    draft = lixiaohong.get("/api/v1/inbox?box=mine").get_json()["items"][0]
    assert draft["status"] == "draft"
    retry = post(lixiaohong, f"/cases/{draft['case_id']}/submit",
                 {"file_itinerary": (BytesIO(b"%PDF-1.4\n%ok\n"), "行程.pdf")}, content_type="multipart/form-data")
    assert retry.status_code == 303
    assert case_json(lixiaohong, draft["case_id"])["status"] == "in_progress"


def test_approve_through_the_page(app):
    xujing = client_for(app, "xujing")
    case_id = submit_leave(xujing)
    zhangwei = client_for(app, "zhangwei")
    page = text(zhangwei.get(f"/cases/{case_id}"))
    assert "请您审批" in page and 'value="approve"' in page
    task_id = int(re.search(rf"/cases/{case_id}/tasks/(\d+)/decision", page).group(1))
    response = decide(zhangwei, case_id, task_id, comment="同意，注意交接")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/cases/{case_id}")
    after = text(zhangwei.get(response.headers["Location"]))
    assert "已同意" in after and "请您审批" not in after
    timeline = text(xujing.get(f"/cases/{case_id}"))
    assert "同意，注意交接" in timeline and "张伟" in timeline and "用时" in timeline
    assert "已由他人处理" not in timeline
    hr = client_for(app, "linxiaoyan")
    hr_task = open_task(hr, case_id, "linxiaoyan")
    assert "办理完成" in text(hr.get(f"/cases/{case_id}"))
    assert decide(hr, case_id, hr_task, "done", "已登记").status_code == 303
    final = text(xujing.get(f"/cases/{case_id}"))
    assert 'data-status="approved"' in final and "已通过" in final and "已由他人处理" in final


def test_reject_needs_a_comment_and_keeps_the_page(app):
    xujing = client_for(app, "xujing")
    case_id = submit_leave(xujing)
    zhangwei = client_for(app, "zhangwei")
    task_id = open_task(zhangwei, case_id, "zhangwei")
    response = decide(zhangwei, case_id, task_id, "reject", "")
    assert response.status_code == 422
    assert 'data-field="comment"' in text(response) and "请您审批" in text(response)
    response = decide(zhangwei, case_id, task_id, "reject", "时间冲突")
    assert response.status_code == 303
    body = text(xujing.get(f"/cases/{case_id}"))
    assert "未通过" in body and "时间冲突" in body and "不予同意" in body


def test_inbox_counts_search_and_batch(app):
    xujing = client_for(app, "xujing")
    first, second = submit_leave(xujing), submit_leave(xujing, LEAVE | {"reason": "看病"})
    zhangwei = client_for(app, "zhangwei")
    inbox = zhangwei.get("/inbox")
    assert inbox.status_code == 200
    body = text(inbox)
    assert re.search(r'data-count="todo">2<', body) and re.search(r'class="todo-count">2<', body)
    assert body.count('class="item-link"') == 2 and "徐静" in body
    number = case_json(zhangwei, first)["number"]
    found = text(zhangwei.get(f"/inbox?box=todo&q={number[-6:]}"))
    assert found.count('class="item-link"') == 1 and f'href="/cases/{first}"' in found
    assert "没有找到" in text(zhangwei.get("/inbox?box=todo&q=不存在的办件"))
    assert zhangwei.get("/inbox?box=everything").status_code == 404
    mine = text(xujing.get("/cases/mine"))
    assert mine.count('class="item-link"') == 2 and re.search(r'data-count="mine">2<', mine)
    ids = re.findall(r'name="approve" value="(\d+)"', body)
    assert len(ids) == 2
    response = post(zhangwei, "/inbox/batch", {"approve": ids, "comment": "同意"})
    assert response.status_code == 303
    after = text(zhangwei.get("/inbox?box=done"))
    assert "已批量处理 2 件" in after and re.search(r'data-count="todo">0<', after)
    assert case_json(xujing, second)["steps"][0]["tasks"][0]["comment"] == "同意"


def test_someone_elses_case_is_404(app):
    xujing = client_for(app, "xujing")
    case_id = submit_leave(xujing)
    guolei = client_for(app, "guolei")
    assert guolei.get(f"/cases/{case_id}").status_code == 404
    assert guolei.get(f"/cases/{case_id}/resubmit").status_code == 404
    task_id = open_task(client_for(app, "zhangwei"), case_id, "zhangwei")
    assert decide(guolei, case_id, task_id).status_code == 404
    assert post(guolei, f"/cases/{case_id}/remind").status_code == 404
    assert xujing.get("/cases/999999").status_code == 404


def test_post_without_csrf_is_400(app):
    xujing = client_for(app, "xujing")
    case_id = submit_leave(xujing)
    zhangwei = client_for(app, "zhangwei")
    task_id = open_task(zhangwei, case_id, "zhangwei")
    response = zhangwei.post(f"/cases/{case_id}/tasks/{task_id}/decision", data={"decision": "approve"})
    assert response.status_code == 400
    assert xujing.post("/cases/new/leave", data=LEAVE | {"action": "submit"}).status_code == 400
    assert case_json(zhangwei, case_id)["steps"][0]["tasks"][0]["status"] == "pending"


def test_double_decision_shows_the_conflict_as_a_flash(app):
    xujing = client_for(app, "xujing")
    case_id = submit_leave(xujing)
    zhangwei = client_for(app, "zhangwei")
    task_id = open_task(zhangwei, case_id, "zhangwei")
    assert decide(zhangwei, case_id, task_id).status_code == 303
    again = decide(zhangwei, case_id, task_id)
    assert again.status_code == 303 and again.headers["Location"].endswith(f"/cases/{case_id}")
    assert "已被处理" in text(zhangwei.get(again.headers["Location"]))
    # 或签: two HR officers; the one who comes second sees the message, not an error page
    hr_tasks = [t for t in case_json(zhangwei, case_id)["steps"][2]["tasks"] if t["status"] == "pending"]
    assert len(hr_tasks) >= 2
    first, late = (client_for(app, t["assignee"]) for t in hr_tasks[:2])
    assert decide(first, case_id, hr_tasks[0]["id"], "done").status_code == 303
    response = decide(late, case_id, hr_tasks[1]["id"], "done")
    assert response.status_code == 303
    page = late.get(response.headers["Location"])
    assert page.status_code == 200 and "已被处理" in text(page)


def test_returned_case_can_be_resubmitted_from_the_page(app):
    xujing = client_for(app, "xujing")
    case_id = submit_leave(xujing, LEAVE_5)
    zhangwei, lixiaohong = client_for(app, "zhangwei"), client_for(app, "lixiaohong")
    assert decide(zhangwei, case_id, open_task(zhangwei, case_id, "zhangwei")).status_code == 303
    task_id = open_task(lixiaohong, case_id, "lixiaohong")
    page = text(lixiaohong.get(f"/cases/{case_id}"))
    assert 'value="return"' in page and 'name="to_step"' not in page, "no earlier done step: back to the applicant"
    assert decide(lixiaohong, case_id, task_id, "return", "请补充事由").status_code == 303
    body = text(xujing.get(f"/cases/{case_id}"))
    assert "已退回" in body and "请补充事由" in body and f'href="/cases/{case_id}/resubmit"' in body
    form = xujing.get(f"/cases/{case_id}/resubmit")
    assert form.status_code == 200 and ">家事</textarea>" in text(form), "the form is pre-filled"
    bad = post(xujing, f"/cases/{case_id}/resubmit", LEAVE_5 | {"reason": ""})
    assert bad.status_code == 422 and 'data-field="reason"' in text(bad)
    response = post(xujing, f"/cases/{case_id}/resubmit", LEAVE_5 | {"reason": "家中有事，需回老家"})
    assert response.status_code == 303
    body = text(xujing.get(response.headers["Location"]))
    assert "已重新提交" in body and "办理中" in body and "修改记录" in body and "家中有事，需回老家" in body
    assert open_task(lixiaohong, case_id, "lixiaohong"), "straight back to the step that returned it"
    assert xujing.get(f"/cases/{case_id}/resubmit").status_code == 303


def test_return_to_an_earlier_step_from_the_panel(app):
    xujing = client_for(app, "xujing")
    case_id = submit_leave(xujing)
    zhangwei = client_for(app, "zhangwei")
    decide(zhangwei, case_id, open_task(zhangwei, case_id, "zhangwei"))
    hr = client_for(app, "linxiaoyan")
    page = text(hr.get(f"/cases/{case_id}"))
    assert '<option value="领导审批">' in page
    response = decide(hr, case_id, open_task(hr, case_id, "linxiaoyan"), "return", "请领导重新确认",
                      to_step="领导审批")
    assert response.status_code == 303
    assert open_task(zhangwei, case_id, "zhangwei")


def test_applicant_withdraws_reminds_and_copies(app):
    xujing = client_for(app, "xujing")
    case_id = submit_leave(xujing)
    assert post(xujing, f"/cases/{case_id}/cc", {"to": "guolei"}).status_code == 303
    guolei = client_for(app, "guolei")
    assert guolei.get(f"/cases/{case_id}").status_code == 200
    assert re.search(r'data-count="cc">1<', text(guolei.get("/inbox?box=cc")))
    bad = post(xujing, f"/cases/{case_id}/cc", {"to": "nobody_here"})
    assert bad.status_code == 422 and 'data-field="cc_to"' in text(bad) and 'value="nobody_here"' in text(bad)
    assert post(xujing, f"/cases/{case_id}/remind").status_code == 303
    again = post(xujing, f"/cases/{case_id}/remind")
    assert again.status_code == 303 and "分钟后再试" in text(xujing.get(again.headers["Location"]))
    assert post(xujing, f"/cases/{case_id}/withdraw", {"reason": "计划有变"}).status_code == 303
    body = text(xujing.get(f"/cases/{case_id}"))
    assert "申请已撤回" in body and 'data-status="withdrawn"' in body


def test_transfer_and_add_approver_from_the_panel(app):
    xujing = client_for(app, "xujing")
    case_id = submit_leave(xujing)
    zhangwei = client_for(app, "zhangwei")
    task_id = open_task(zhangwei, case_id, "zhangwei")
    to_self = post(zhangwei, f"/cases/{case_id}/tasks/{task_id}/forward", {"op": "transfer", "to": "xujing"})
    assert to_self.status_code == 422 and 'data-field="to"' in text(to_self)
    added = post(zhangwei, f"/cases/{case_id}/tasks/{task_id}/forward",
                 {"op": "add_before", "to": "liujia", "comment": "请先看"})
    assert added.status_code == 303
    body = text(zhangwei.get(f"/cases/{case_id}"))
    assert "前加签" in body and "减签" in body and "正在等待" in body
    added_id = next(t["id"] for t in case_json(zhangwei, case_id)["steps"][0]["tasks"] if t["origin"] == "added_before")
    assert post(zhangwei, f"/cases/{case_id}/tasks/{added_id}/remove-approver").status_code == 303
    moved = post(zhangwei, f"/cases/{case_id}/tasks/{task_id}/forward", {"op": "transfer", "to": "lixiaohong"})
    assert moved.status_code == 303
    assert open_task(zhangwei, case_id, "lixiaohong")


def test_the_forward_panel_offers_what_capabilities_allow(app):
    """The panel's hand-on choices come from the case's capabilities: all four for an open
    approval, none (no forward form) while it waits for the approver added before."""
    xujing = client_for(app, "xujing")
    case_id = submit_leave(xujing)
    zhangwei = client_for(app, "zhangwei")
    task_id = open_task(zhangwei, case_id, "zhangwei")
    caps = case_json(zhangwei, case_id)["capabilities"]
    assert task_id in caps["transfer"] and task_id in caps["consult"] and task_id in caps["add_approver"]
    panel = text(zhangwei.get(f"/cases/{case_id}")).split(f'id="decide-{task_id}"', 1)[1].split("</section>", 1)[0]
    assert re.findall(r'<option value="(\w+)"', panel.split('class="forward-form"', 1)[1]) == [
        "transfer", "consult", "add_before", "add_after"]
    added = post(zhangwei, f"/cases/{case_id}/tasks/{task_id}/forward", {"op": "add_before", "to": "liujia"})
    assert added.status_code == 303
    assert task_id not in case_json(zhangwei, case_id)["capabilities"]["transfer"]
    panel = text(zhangwei.get(f"/cases/{case_id}")).split(f'id="decide-{task_id}"', 1)[1].split("</section>", 1)[0]
    assert "正在等待" in panel and 'class="forward-form"' not in panel
    post(zhangwei, f"/cases/{case_id}/tasks/{task_id}/forward", {"op": "transfer", "to": "lixiaohong"})
    assert not any(t["assignee"] == "lixiaohong" for t in case_json(zhangwei, case_id)["steps"][0]["tasks"])


def test_save_a_draft_edit_it_and_submit_it_from_the_pages(app):
    me = client_for(app, "xujing")
    refused = post(me, "/cases/new/leave", LEAVE | {"end_date": "2026-12-01", "action": "draft"})
    assert refused.status_code == 422 and me.get("/api/v1/inbox?box=mine").get_json()["total"] == 0
    response = post(me, "/cases/new/leave", LEAVE | {"action": "draft"})
    assert response.status_code == 303
    case_id = int(re.search(r"/cases/(\d+)$", response.headers["Location"]).group(1))
    page = me.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "已保存为草稿" in page and f"/cases/{case_id}/edit" in page
    assert case_json(me, case_id)["status"] == "draft"
    # nobody is asked to decide a draft
    assert not [t for s in case_json(me, case_id)["steps"] for t in s["tasks"]]

    form = me.get(f"/cases/{case_id}/edit").get_data(as_text=True)
    assert 'value="家事"' in form or "家事" in form
    bad = post(me, f"/cases/{case_id}/edit", LEAVE | {"end_date": "2026-12-01", "action": "save"})
    assert bad.status_code == 422 and case_json(me, case_id)["form"]["end_date"] == "2026-12-07", "nothing lost"
    saved = post(me, f"/cases/{case_id}/edit", LEAVE | {"reason": "孩子生病", "action": "save"})
    assert saved.status_code == 303 and case_json(me, case_id)["form"]["reason"] == "孩子生病"
    assert case_json(me, case_id)["status"] == "draft"

    other = client_for(app, "zhangwei")
    assert other.get(f"/cases/{case_id}/edit").status_code == 404, "someone else's draft does not exist for them"

    sent = post(me, f"/cases/{case_id}/edit", LEAVE | {"reason": "孩子生病", "action": "submit"})
    assert sent.status_code == 303
    case = case_json(me, case_id)
    assert case["status"] == "in_progress" and case["number"]
    again = me.get(f"/cases/{case_id}/edit")
    assert again.status_code == 303, "a submitted case is no longer a draft to edit"


def test_a_wrong_file_is_withdrawn_from_a_draft_and_no_longer_counts(app):
    lixiaohong = client_for(app, "lixiaohong")
    data = OVERSEAS | {"action": "draft", "file_itinerary": (BytesIO(b"%PDF-1.4\n%wrong\n"), "错的行程.pdf")}
    response = post(lixiaohong, "/cases/new/overseas_travel", data, content_type="multipart/form-data")
    assert response.status_code == 303
    case_id = int(re.search(r"/cases/(\d+)$", response.headers["Location"]).group(1))
    file_id = case_json(lixiaohong, case_id)["attachments"][0]["id"]
    page = text(lixiaohong.get(f"/cases/{case_id}"))
    assert f"/cases/{case_id}/attachments/{file_id}/withdraw" in page

    done = post(lixiaohong, f"/cases/{case_id}/attachments/{file_id}/withdraw")
    assert done.status_code == 303
    page = text(lixiaohong.get(f"/cases/{case_id}"))
    assert "已撤下该文件" in page and "已撤下" in page and "错的行程.pdf" in page
    assert f"/cases/{case_id}/attachments/{file_id}/withdraw" not in page

    refused = post(lixiaohong, f"/cases/{case_id}/submit")
    assert refused.status_code == 422 and 'data-field="materials.itinerary"' in text(refused), \
        "a withdrawn file no longer stands for its material"
    other = client_for(app, "zhangwei")
    assert post(other, f"/cases/{case_id}/attachments/{file_id}/withdraw").status_code == 404
