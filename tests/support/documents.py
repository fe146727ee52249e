"""Helpers for official-document tests: the demo people who play each part, a draft's JSON, and
driving a document's case through the API."""

from __future__ import annotations

from tests.support.cases import open_task, token

__all__ = ["DRAFTER", "REVIEWER", "COUNTERSIGNERS", "LEADER", "DEPUTY", "RECIPIENT_CLERK", "RECIPIENT_LEADER",
           "OUTSIDER", "ZZB", "JYJ", "CZJ", "DRAFT", "create", "document", "case_of", "decide_task"]

ZZB, JYJ, CZJ = 3, 4, 5
"""区委组织部 (issuer), 区教育局 (主送), 区财政局 (抄送) in the demo district."""
DRAFTER = "donghaoran"            # 区委组织部 干部科
REVIEWER = "yuanzhenhua"          # 干部科 科长: 核稿
COUNTERSIGNERS = {8: "duhaiyan", 10: "chengli"}  # 办公室, 组织科: 会签
LEADER = "xuwenbin"               # 部长: 签发
DEPUTY = "caolijuan"              # 副部长, the leader's delegate
RECIPIENT_CLERK = "liujia"        # 区教育局 收发文
RECIPIENT_LEADER = "wangguodong"  # 区教育局 局长: 批办
OUTSIDER = "zhuyutong"            # 区纪委 收发文: neither issuer nor recipient

DRAFT = {
    "title": "关于做好2026年度干部考核工作的通知",
    "main_to": [JYJ], "cc_to": [CZJ], "countersign": ["department:8", "department:10"],
    "secrecy": "", "urgency": "加急",
    "body": "为做好年度考核工作，现将有关事项通知如下。\n一、考核范围\n（一）各单位在编干部\n1.考核时间\n请于12月20日前报送。",
}


def create(client, uid: str = DRAFTER, **changes) -> dict:
    """Draft a document as ``uid``; asserts the 201 and returns it."""
    response = client.post("/api/v1/documents", json=DRAFT | changes, headers=token(client, uid))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def document(client, uid: str, document_id: int) -> dict:
    """The document as ``uid`` sees it (asserts 200)."""
    response = client.get(f"/api/v1/documents/{document_id}", headers=token(client, uid))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def case_of(client, uid: str, doc: dict) -> dict:
    """The case the document rides on, as ``uid`` sees it."""
    response = client.get(f"/api/v1/cases/{doc['case']['id']}", headers=token(client, uid))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def decide_task(client, uid: str, case: dict, *, holder: str | None = None, decision: str = "approve",
                comment: str = "同意", status: int = 200, **extra) -> dict:
    """``uid`` decides the open task of ``holder`` (default: their own) on ``case``."""
    task = open_task(case, holder or uid)
    response = client.post(f"/api/v1/tasks/{task}/decision", json={"decision": decision, "comment": comment, **extra},
                           headers=token(client, uid))
    assert response.status_code == status, response.get_json()
    return response.get_json()
