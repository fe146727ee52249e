"""Tampering with the audit trail is found (SQLite and PostgreSQL): an altered, deleted, reordered
or inserted event at its place; a deleted tail and a chain rewritten from scratch by the signed
checkpoints and the anchor file; and on PostgreSQL the application's connection cannot UPDATE or
DELETE events at all. Tampering runs with triggers switched off, as someone owning the database."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, text, update

from internal_affairs.extensions import db
from tests.support.audit import (T0, fill_trail, make_audit_key, re_sign_checkpoints, rewrite_from_scratch, tampering,
                                 verify_report)


@pytest.fixture
def trail(make_app, tmp_path):
    """An app with an audit key and an anchor file, and a chain of 20 events with checkpoints
    after the 10th and the 20th (each checkpoint appends its own event: 22 events)."""
    key = make_audit_key(tmp_path)
    anchor = tmp_path / "anchor.jsonl"
    app = make_app(IA_AUDIT_KEY_FILE=str(key), IA_AUDIT_KEY_PASSWORD="audit-pw", IA_AUDIT_ANCHOR_FILE=str(anchor))
    fill_trail(app)
    app.anchor = anchor
    return app


_report = verify_report


def _codes(report):
    return {p.code for p in report.problems}


def test_the_clean_trail_verifies_with_its_checkpoints(trail):
    report = _report(trail)
    assert report.ok and report.checked == 22 and report.first_bad is None
    assert report.checkpoints_ok is True and report.problems == []
    assert report.last_checkpoint["seq"] == 21  # the 20 events and the first checkpoint's own
    lines = [json.loads(line) for line in trail.anchor.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [10, 21]


def test_an_altered_event_is_found_at_its_place(trail):
    from internal_affairs.audit.models import AuditEvent

    with trail.app_context(), tampering(db.session):
        db.session.execute(update(AuditEvent).where(AuditEvent.seq == 5).values(data={"i": 5, "text": "改过"}))
    report = _report(trail)
    assert not report.ok and report.first_bad == 5 and report.checked == 4
    assert "chain_broken" in _codes(report) and report.first_bad_event["seq"] == 5


def test_a_deleted_event_in_the_middle_is_found_at_the_next(trail):
    from internal_affairs.audit.models import AuditEvent

    with trail.app_context(), tampering(db.session):
        db.session.execute(delete(AuditEvent).where(AuditEvent.seq == 7))
    report = _report(trail)
    assert not report.ok and report.first_bad == 8 and report.checked == 6


def test_a_deleted_tail_fails_the_checkpoint(trail):
    from internal_affairs.audit.models import AuditEvent

    with trail.app_context(), tampering(db.session):
        db.session.execute(delete(AuditEvent).where(AuditEvent.seq >= 15))
    report = _report(trail)
    assert report.first_bad is None and report.checked == 14  # what is left is a consistent chain
    assert not report.ok and report.checkpoints_ok is False
    assert [p.seq for p in report.problems if p.code == "truncated"] == [21]


def _swap(a: int, b: int) -> None:
    from internal_affairs.audit.models import AuditEvent

    db.session.execute(update(AuditEvent).where(AuditEvent.seq == a).values(seq=-1))
    db.session.execute(update(AuditEvent).where(AuditEvent.seq == b).values(seq=a))
    db.session.execute(update(AuditEvent).where(AuditEvent.seq == -1).values(seq=b))


def test_two_reordered_events_are_found_at_the_first(trail):
    with trail.app_context(), tampering(db.session):
        _swap(12, 13)
    report = _report(trail)
    assert not report.ok and report.first_bad == 12


def _insert_at(seq: int, *, hashed: bool) -> None:
    """Shift the events from ``seq`` on up by one and put a forged event at ``seq``, linked to and
    hashed like a real one when ``hashed``."""
    from internal_affairs.audit.actions import _canonical
    from internal_affairs.audit.models import AuditEvent

    db.session.execute(update(AuditEvent).where(AuditEvent.seq >= seq).values(seq=-AuditEvent.seq))
    db.session.execute(update(AuditEvent).where(AuditEvent.seq < 0).values(seq=-AuditEvent.seq + 1))
    prev = db.session.execute(select(AuditEvent.hash).where(AuditEvent.seq == seq - 1)).scalar_one()
    forged = AuditEvent(seq=seq, occurred_at=T0 + timedelta(minutes=seq, seconds=1), actor_id=None,
                        actor_label="system", on_behalf_of_id=None, action="test.forged", object_type="test",
                        object_id="x", data={"forged": True}, prev_hash=prev, hash="f" * 64)
    if hashed:
        forged.hash = hashlib.sha256(_canonical(forged)).hexdigest()
    db.session.add(forged)


@pytest.mark.parametrize("hashed, first_bad", [(False, 8), (True, 9)])
def test_an_inserted_event_is_found(trail, hashed, first_bad):
    """A naive insertion fails at its own place; one hashed correctly breaks the link of the event
    it pushed along."""
    with trail.app_context(), tampering(db.session):
        _insert_at(8, hashed=hashed)
    report = _report(trail)
    assert not report.ok and report.first_bad == first_bad


def test_a_chain_rewritten_from_scratch_fails_the_checkpoints(trail):
    with trail.app_context(), tampering(db.session):
        rewrite_from_scratch()
    report = _report(trail)
    assert report.first_bad is None and report.checked == 22  # consistent in itself
    assert not report.ok and report.checkpoints_ok is False
    assert {p.seq for p in report.problems if p.code == "rewritten"} == {10, 21}


def test_a_rewrite_that_also_drops_the_checkpoints_is_caught_by_the_anchor_file(trail):
    from internal_affairs.audit.models import AuditCheckpoint

    with trail.app_context(), tampering(db.session):
        rewrite_from_scratch()
        db.session.execute(delete(AuditCheckpoint))
    report = _report(trail)
    assert not report.ok and report.checkpoints_ok is False
    assert {p.seq for p in report.problems if p.code == "checkpoint_removed"} == {10, 21}
    assert {p.seq for p in report.problems if p.code == "rewritten"} == {10, 21}


def test_checkpoints_re_signed_with_another_key_are_refused(trail, tmp_path):
    """A rewrite with checkpoints signed by the attacker's own key: the signatures do not verify
    under the platform's key (and the file, rewritten too, does not help)."""
    from internal_affairs.audit.keys import load_audit_key

    other = load_audit_key(str(make_audit_key(tmp_path)), "audit-pw")
    with trail.app_context(), tampering(db.session):
        rewrite_from_scratch()
        re_sign_checkpoints(other, trail.anchor)
    report = _report(trail)
    assert not report.ok and report.checkpoints_ok is False
    assert {p.seq for p in report.problems if p.code == "checkpoint_signature"} == {10, 21}


def test_a_checkpoint_missing_from_the_anchor_file_is_reported(trail):
    lines = trail.anchor.read_text().splitlines()
    trail.anchor.write_text(lines[0] + "\n")
    report = _report(trail)
    assert not report.ok and [p.seq for p in report.problems if p.code == "not_anchored"] == [21]


def test_the_database_refuses_update_delete_and_truncate_of_events_and_checkpoints(trail):
    with trail.app_context():
        if db.session.get_bind().dialect.name != "postgresql":
            pytest.skip("the append-only trigger is PostgreSQL's")
        from sqlalchemy.exc import ProgrammingError

        for statement in ("UPDATE audit_event SET action = 'x' WHERE seq = 3", "DELETE FROM audit_event WHERE seq = 22",
                          "UPDATE audit_checkpoint SET hash = 'x'", "DELETE FROM audit_checkpoint",
                          "TRUNCATE audit_event", "TRUNCATE audit_checkpoint"):
            with pytest.raises(ProgrammingError, match="append-only"):
                db.session.execute(text(statement))
            db.session.rollback()
        assert db.session.execute(select(func.count()).select_from(text("audit_event"))).scalar_one() == 22
        db.session.rollback()
    assert _report(trail).ok


def test_checkpoint_without_a_key_is_refused_clearly(app):
    from internal_affairs.audit.actions import do_checkpoint, record_event
    from internal_affairs.errors import Conflict

    with app.app_context():
        record_event("test.event", actor=None, object_type="test", object_id=1, now=T0)
        db.session.commit()
        with pytest.raises(Conflict) as caught:
            do_checkpoint(acting_user=None, now=T0)
        assert caught.value.code == "no_audit_key"
        db.session.rollback()
        from internal_affairs.audit.queries import verify_trail

        report = verify_trail()
        assert report.ok and report.checkpoints_ok is None and report.checked == 1


def test_cli_checkpoint_and_verify(trail):
    runner = trail.test_cli_runner()
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    assert "event #22" in result.output
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "23 events verified" in result.output and "checkpoints agree" in result.output
    from internal_affairs.audit.models import AuditEvent

    with trail.app_context(), tampering(db.session):
        db.session.execute(delete(AuditEvent).where(AuditEvent.seq >= 20))
    result = runner.invoke(args=["audit", "verify", "--json"])
    assert result.exit_code == 1
    body = json.loads(result.output[:result.output.rindex("}") + 1])
    assert body["ok"] is False and body["checkpoints_ok"] is False and body["checked"] == 19


def test_with_a_tsa_each_checkpoint_is_timestamped_and_the_token_checked(make_app, tmp_path):
    """With ``IA_TSA_URL`` the checkpoint carries an RFC 3161 token over its signed message (in
    the table and the anchor file); a token swapped for another checkpoint's is reported; a TSA
    that fails leaves no checkpoint."""
    from internal_affairs.audit.actions import do_checkpoint, record_event
    from internal_affairs.audit.models import AuditCheckpoint
    from internal_affairs.audit.queries import verify_trail
    from internal_affairs.errors import Conflict
    from tests.support.tsa import running_tsa

    key = make_audit_key(tmp_path)
    anchor = tmp_path / "anchor.jsonl"
    with running_tsa() as url:
        app = make_app(IA_AUDIT_KEY_FILE=str(key), IA_AUDIT_KEY_PASSWORD="audit-pw", IA_AUDIT_ANCHOR_FILE=str(anchor),
                       IA_TSA_URL=url)
        with app.app_context():
            for i in range(2):
                record_event("test.event", actor=None, object_type="test", object_id=i, now=T0)
                db.session.commit()
                do_checkpoint(acting_user=None, now=T0 + timedelta(minutes=i))
            rows = db.session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.id)).scalars().all()
            assert all(r.timestamp_token for r in rows)
            assert all("timestamp_token" in json.loads(line) for line in anchor.read_text().splitlines())
            report = verify_trail()
            assert report.ok and report.last_checkpoint["timestamped"]
            db.session.rollback()
            with tampering(db.session):
                first, second = db.session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.id)).scalars()
                first.timestamp_token = second.timestamp_token
            report = verify_trail()
            assert not report.ok and [p.seq for p in report.problems if p.code == "timestamp_mismatch"] == [1]
            db.session.rollback()
    with running_tsa(refuse=True) as url:
        app.config["TSA_URL"] = url
        with app.app_context():
            count = db.session.execute(select(func.count()).select_from(AuditCheckpoint)).scalar_one()
            with pytest.raises(Conflict) as caught:
                do_checkpoint(acting_user=None, now=T0 + timedelta(hours=1))
            assert caught.value.code == "tsa_failed"
            assert db.session.execute(select(func.count()).select_from(AuditCheckpoint)).scalar_one() == count
            db.session.rollback()


def test_the_scheduler_signs_the_chain_head_under_its_lease_and_only_with_a_key(make_app, tmp_path):
    """The one scheduler registers the checkpoint job when an audit key is configured; the job
    signs the head, and a scheduler that lost its lease signs nothing."""
    from internal_affairs.audit.actions import record_event
    from internal_affairs.audit.models import AuditCheckpoint
    from internal_affairs.clock import utcnow
    from internal_affairs.jobs.lease import acquire_lease, release_lease
    from internal_affairs.jobs.scheduler import SchedulerOptions, _scheduler, audit_checkpoint_job, bind

    options = SchedulerOptions(holder="me")
    assert _scheduler(make_app(), options).get_job("audit_checkpoint") is None
    key = make_audit_key(tmp_path)
    app = make_app(IA_AUDIT_KEY_FILE=str(key), IA_AUDIT_KEY_PASSWORD="audit-pw",
                   IA_AUDIT_ANCHOR_FILE=str(tmp_path / "anchor.jsonl"))
    with app.app_context():
        record_event("test.event", actor=None, object_type="test", object_id=1, data={}, now=T0)
        db.session.commit()
        assert acquire_lease("other", now=utcnow(), ttl=timedelta(minutes=5))
        db.session.remove()
    assert _scheduler(app, options).get_job("audit_checkpoint") is not None
    bind(app, options)
    audit_checkpoint_job()
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(AuditCheckpoint)).scalar_one() == 0
        release_lease("other")
        db.session.remove()
    audit_checkpoint_job()
    with app.app_context():
        [checkpoint] = db.session.execute(select(AuditCheckpoint)).scalars().all()
        assert checkpoint.seq == 1


def test_turning_the_audit_key_off_drops_the_stored_checkpoint_job(make_app, tmp_path):
    """The job store keeps jobs across restarts: a scheduler started without an audit key removes
    the checkpoint job an earlier run (with a key) stored, instead of signing nothing each hour."""
    from internal_affairs.jobs.scheduler import SchedulerOptions, _scheduler, _start_paused

    options = SchedulerOptions(holder="me")
    app = make_app(IA_AUDIT_KEY_FILE=str(make_audit_key(tmp_path)), IA_AUDIT_KEY_PASSWORD="audit-pw")
    first = _scheduler(app, options)
    _start_paused(first)
    assert first.get_job("audit_checkpoint") is not None
    first.shutdown(wait=False)
    app.config["AUDIT_KEY_FILE"] = None
    second = _scheduler(app, options)
    _start_paused(second)
    try:
        assert second.get_job("audit_checkpoint") is None and second.get_job("deliver_outbox") is not None
    finally:
        second.shutdown(wait=False)


def test_a_checkpoint_is_sent_to_the_auditors_channel(make_app, tmp_path):
    from internal_affairs.audit.actions import do_checkpoint
    from internal_affairs.notify.models import OutboxMessage
    from internal_affairs.org.models import Person
    from tests.support.app import load_demo

    key = make_audit_key(tmp_path)
    app = make_app(IA_AUDIT_KEY_FILE=str(key), IA_AUDIT_KEY_PASSWORD="audit-pw")
    load_demo(app)
    with app.app_context():
        checkpoint = do_checkpoint(acting_user=None, now=T0)
        told = db.session.execute(select(Person.uid, OutboxMessage.body).join(Person, Person.id == OutboxMessage.recipient_id)
                                  .where(OutboxMessage.kind == "audit.checkpoint", OutboxMessage.channel == "inapp")
                                  .order_by(Person.uid)).all()
        assert [uid for uid, _ in told] == ["haowenbo", "tanlixin"]
        assert all(f'"seq": {checkpoint.seq}' in body or str(checkpoint.hash) in body for _, body in told)
