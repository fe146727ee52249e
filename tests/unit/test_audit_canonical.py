"""The audit hash's canonical bytes: the head an append hands to PostgreSQL (migration 0007), once
completed with the chain's tip, is exactly what verification hashes."""

from __future__ import annotations

import json
from datetime import datetime
from types import SimpleNamespace

import pytest

from internal_affairs.audit.actions import GENESIS, _canonical, _canonical_head

EVENTS = [
    dict(occurred_at=datetime(2026, 12, 1, 9, 30, 0, 123456), actor_id=7, actor_label="zhangwei",
         on_behalf_of_id=None, action="cases.task.decided", object_type="case", object_id="区教育局-2026-000123",
         data={"comment": "同意，注意交接", "step": "领导审批", "nested": {"b": [1, None, True], "a": "\"引号\"\\"}}),
    dict(occurred_at=datetime(2026, 1, 2), actor_id=None, actor_label="system", on_behalf_of_id=3,
         action="org.sync.applied", object_type="sync_run", object_id="12", data={}),
]


@pytest.mark.parametrize("fields", EVENTS)
@pytest.mark.parametrize("seq, prev", [(1, GENESIS), (98765, "ab" * 32)])
def test_head_completed_with_the_tip_is_the_canonical_form(fields, seq, prev):
    event = SimpleNamespace(**fields, seq=seq, prev_hash=prev)
    completed = _canonical_head(event) + ',"prev":"' + prev + '","seq":' + str(seq) + "}"
    assert completed.encode() == _canonical(event)
    assert json.loads(completed)["data"] == fields["data"]
