"""Helpers of the audit tests: tampering as someone with full control of the database, and an
audit key in a PKCS#12 file."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

__all__ = ["tampering", "make_audit_key", "window"]


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
