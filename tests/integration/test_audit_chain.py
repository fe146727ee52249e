"""The audit chain on the real database (on PostgreSQL an append is one call of migration 0007's
function): what is appended verifies, whatever the event's data."""

from __future__ import annotations

from internal_affairs.extensions import db


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
