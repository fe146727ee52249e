"""发文字号 under concurrent sign-offs (PostgreSQL with ``IA_TEST_DATABASE_URL``, else the SQLite
file): every signed-off document gets its own number, the numbers are 1..N without gaps, and the
documents rejected in the same moment take none."""

from __future__ import annotations

from sqlalchemy import select

from internal_affairs.audit.actions import verify_chain
from internal_affairs.documents.models import Document, DocumentCounter
from internal_affairs.extensions import db
from tests.support.cases import open_task, token
from tests.support.documents import DRAFTER, LEADER, REVIEWER, case_of, create, decide_task
from tests.support.race import race


def test_concurrent_sign_offs_stay_gapless_and_rejections_take_none(docs_app):
    client = docs_app.test_client()
    waiting = []
    for _ in range(8):
        doc = create(client, submit=True, cc_to=[], countersign=[])
        waiting.append((doc, decide_task(client, REVIEWER, case_of(client, DRAFTER, doc))))
    leader = token(client, LEADER)
    calls = [("POST", f"/api/v1/tasks/{open_task(case, LEADER)}/decision", leader,
              {"decision": "reject" if i % 4 == 3 else "approve", "comment": "意见"})
             for i, (_doc, case) in enumerate(waiting)]
    results = race(docs_app, calls)
    assert [status for status, _body in results] == [200] * len(calls), results
    with docs_app.app_context():
        rows = db.session.execute(select(Document).where(Document.direction == "outgoing")).scalars().all()
        numbers = sorted(int(d.number.split("〕")[1].rstrip("号")) for d in rows if d.number)
        assert numbers == list(range(1, 7))
        assert sorted(d.status for d in rows) == ["delivered"] * 6 + ["rejected"] * 2
        assert all(d.number is None for d in rows if d.status == "rejected")
        assert db.session.execute(select(DocumentCounter.last)).scalar_one() == 6
        assert verify_chain().ok
