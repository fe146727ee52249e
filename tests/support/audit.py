"""Helpers of the audit tests: tampering as someone with full control of the database, an audit
key in a PKCS#12 file, and a trail with checkpoints to tamper with (whatever holds the key)."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

__all__ = ["tampering", "make_audit_key", "window", "T0", "fill_trail", "verify_report", "rewrite_from_scratch",
           "re_sign_checkpoints"]

T0 = dt.datetime(2026, 5, 4, 9, 0)


@contextmanager
def tampering(session):
    """Statements run inside see no append-only trigger: on PostgreSQL the test's superuser
    switches triggers off for this transaction (``session_replication_role = replica``), as an
    attacker owning the database could; SQLite has no trigger. Commits at the end."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL session_replication_role = replica"))
    yield session
    session.commit()


def make_audit_key(directory: Path, *, kind: str = "ed25519", password: str = "audit-pw") -> Path:
    """A PKCS#12 file with a fresh key (``ed25519`` or ``rsa``) and a self-signed certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = ed25519.Ed25519PrivateKey.generate() if kind == "ed25519" else rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "审计密钥")])
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=3650))
            .sign(key, None if kind == "ed25519" else hashes.SHA256()))
    path = directory / f"audit-{kind}-{x509.random_serial_number() % 10**6}.p12"
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"audit", key, cert, None, serialization.BestAvailableEncryption(password.encode())))
    return path


def window() -> dict[str, str]:
    """A delegation window from an hour ago for three days (local time, as the API takes it)."""
    now = dt.datetime.now()
    return {"starts_at": (now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (now + dt.timedelta(days=3)).strftime("%Y-%m-%d")}


def fill_trail(app) -> None:
    """Append 20 events with checkpoints after the 10th and the 20th (each checkpoint appends its
    own event: 22 events, checkpoints at seq 10 and 21)."""
    from internal_affairs.audit.actions import do_checkpoint, record_event
    from internal_affairs.extensions import db

    with app.app_context():
        for i in range(1, 21):
            record_event("test.event", actor=None, object_type="test", object_id=i, data={"i": i, "text": "第%d条" % i},
                         now=T0 + dt.timedelta(minutes=i))
            db.session.commit()
            if i in (10, 20):
                do_checkpoint(acting_user=None, now=T0 + dt.timedelta(minutes=i, seconds=30))


def verify_report(app):
    """``verify_trail()`` in a fresh application context."""
    from internal_affairs.audit.queries import verify_trail
    from internal_affairs.extensions import db

    with app.app_context():
        report = verify_trail()
        db.session.rollback()
        return report


def rewrite_from_scratch() -> None:
    """Delete every event and append a consistent chain with event 3 changed, without the key."""
    from sqlalchemy import delete, select

    from internal_affairs.audit.actions import Event, record_events
    from internal_affairs.audit.models import AuditEvent
    from internal_affairs.extensions import db

    rows = db.session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
    events = [Event(r.action, r.object_type, r.object_id, r.occurred_at, actor_label=r.actor_label,
                    data={"i": 3, "text": "改写"} if r.seq == 3 else r.data) for r in rows]
    db.session.execute(delete(AuditEvent))
    db.session.flush()
    record_events(events)


def re_sign_checkpoints(other_key, anchor: Path) -> None:
    """After :func:`rewrite_from_scratch`: point every stored checkpoint at the rewritten hash,
    sign it with ``other_key`` (the attacker's) and rewrite the anchor file to match."""
    from sqlalchemy import select

    from internal_affairs.audit.actions import anchor_line, checkpoint_message
    from internal_affairs.audit.models import AuditCheckpoint, AuditEvent
    from internal_affairs.extensions import db

    lines = []
    for row in db.session.execute(select(AuditCheckpoint)).scalars():
        row.hash = db.session.execute(select(AuditEvent.hash).where(AuditEvent.seq == row.seq)).scalar_one()
        row.signature = other_key.sign(checkpoint_message(row.seq, row.hash, row.signed_at))
        lines.append(anchor_line(row))
    anchor.write_text("\n".join(lines) + "\n")
