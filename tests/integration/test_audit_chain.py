"""The audit chain on the real database (on PostgreSQL an append is one call of migration 0007's
function): what is appended verifies, whatever the event's data."""

from __future__ import annotations

from internal_affairs.extensions import db
from tests.support.audit import tampering


def test_appended_events_verify_whatever_their_data(app):
    """Events with quotes, backslashes, non-BMP characters and nesting in their data are hashed
    the same way at append (in the database on PostgreSQL) and at verification."""
    from internal_affairs.audit.actions import record_event, verify_chain
    from internal_affairs.clock import utcnow

    awkward = [{"comment": '他说："同意"\\ 𠀋 \u2028'}, {"nested": {"z": [1, 2.5, None], "a": {"b": False}}}, {}]
    with app.app_context():
        hashes = [record_event("test.event", actor=None, object_type="test", object_id=i, data=data, now=utcnow())
                  for i, data in enumerate(awkward)]
        db.session.commit()
        report = verify_chain()
        assert report.ok and report.checked >= len(awkward)
        assert len(set(hashes)) == len(hashes) and all(len(h) == 64 for h in hashes)


def test_a_batch_appends_in_order_between_single_appends_and_verifies(app):
    """``record_events`` continues the chain from its tip and the next single append continues
    from the batch's last event; a tampered batch event is found at its place."""
    from datetime import timedelta

    from sqlalchemy import func, select, update

    from internal_affairs.audit.actions import Event, record_event, record_events, verify_chain
    from internal_affairs.audit.models import AuditEvent
    from internal_affairs.clock import utcnow

    now = utcnow()
    with app.app_context():
        record_event("test.before", actor=None, object_type="test", object_id=0, data={}, now=now)
        db.session.commit()
        start = db.session.execute(select(func.max(AuditEvent.seq))).scalar_one()
        batch = [Event("test.batch", "test", i, now + timedelta(seconds=i), actor_label="bench",
                       data={"i": i, "text": "批量 𠀋"}) for i in range(1, 251)]
        assert record_events(batch) == 250
        assert record_events([]) == 0
        record_event("test.after", actor=None, object_type="test", object_id=999, data={}, now=now)
        db.session.commit()
        seqs = db.session.execute(select(AuditEvent.seq, AuditEvent.action).where(AuditEvent.seq > start)
                                  .order_by(AuditEvent.seq)).all()
        assert [s for s, _a in seqs] == list(range(start + 1, start + 252))
        assert seqs[-1].action == "test.after"
        assert verify_chain().ok
        with tampering(db.session):
            db.session.execute(update(AuditEvent).where(AuditEvent.seq == start + 100).values(action="test.forged"))
        report = verify_chain()
        assert not report.ok and report.first_bad == start + 100
