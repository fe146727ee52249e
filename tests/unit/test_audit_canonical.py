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


TRICKY = [{}, {"x": '"data":0,'}, {"data": 0, "text": '\\"data\\":0,'}, {"n": [1.5, None, {"z": "𠀋 \u2028"}]}]


@pytest.mark.parametrize("data", TRICKY)
@pytest.mark.parametrize("client", [None, "10.0.0.1"])
def test_the_stored_canonical_text_spliced_in_is_the_canonical_form(data, client):
    """Verification splices an event's stored data text into its canonical bytes unparsed; for the
    canonical text appends store this equals the canonical form, whatever the strings hold."""
    from internal_affairs.audit.actions import _dumps, _row_canonical_stored, row_canonical

    at = datetime(2026, 3, 4, 5, 6, 7, 89)
    parsed = (12, at, 3, "zhang\"wei", None, "x.y", "case", '"data":0,', data, client, "ab" * 32, "h")
    stored = (*parsed[:8], _dumps(data), *parsed[9:])
    event = SimpleNamespace(occurred_at=at, actor_id=3, actor_label="zhang\"wei", on_behalf_of_id=None, action="x.y",
                            object_type="case", object_id='"data":0,', data=data, client_address=client, seq=12,
                            prev_hash="ab" * 32)
    assert _row_canonical_stored(stored) == row_canonical(parsed) == _canonical(event)


def test_a_non_canonical_stored_text_does_not_pass_as_canonical():
    from internal_affairs.audit.actions import _row_canonical_stored, row_canonical

    at = datetime(2026, 3, 4)
    parsed = (1, at, None, "system", None, "x", "t", "1", {"b": 1, "a": 2}, None, GENESIS, "h")
    loose = (*parsed[:8], '{"b": 1, "a": 2}', *parsed[9:])
    assert _row_canonical_stored(loose) != row_canonical(parsed)
