"""The audit key on a PKCS#11 token (a real SoftHSM2 token, SQLite and PostgreSQL): checkpoints are
signed on the token with an Ed25519, RSA or EC key and verify without a PIN; the token itself
accepts the stored signatures; the tamper checks that rest on checkpoints (a deleted tail, a chain
rewritten from scratch, checkpoints re-signed with another key) hold; an unusable token is a
clear refusal, never a 500."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, select

from internal_affairs.extensions import db
from tests.support.audit import (T0, fill_trail, make_audit_key, re_sign_checkpoints, rewrite_from_scratch, tampering,
                                 verify_report)
from tests.support.softhsm import generate_audit_key, token_verifies

KINDS = {"ed25519": "ed25519", "rsa": "rsa-sha256", "ec": "ecdsa-sha256"}


@pytest.fixture(scope="module")
def keys(softhsm_token):
    """One audit key of each kind on the token, and an RSA one that the token keeps only with its
    certificate."""
    for kind in KINDS:
        generate_audit_key(softhsm_token, kind, f"audit-{kind}")
    generate_audit_key(softhsm_token, "rsa", "audit-cert-only", public_object=False)
    return softhsm_token


def _token_app(make_app, token, label, tmp_path, *, pin=True, **extra):
    settings = {"IA_AUDIT_PKCS11_MODULE": token.module, "IA_AUDIT_PKCS11_TOKEN": token.label,
                "IA_AUDIT_PKCS11_KEY": label, "IA_AUDIT_ANCHOR_FILE": str(tmp_path / "anchor.jsonl")}
    if pin:
        settings["IA_AUDIT_PKCS11_PIN"] = token.pin
    app = make_app(**settings | extra)
    app.anchor = tmp_path / "anchor.jsonl"
    return app


@pytest.fixture(params=list(KINDS))
def trail(request, make_app, keys, tmp_path):
    """A trail (22 events, checkpoints at 10 and 21) signed with one of the token's keys."""
    app = _token_app(make_app, keys, f"audit-{request.param}", tmp_path)
    app.kind, app.token = request.param, keys
    fill_trail(app)
    return app


def _checkpoints(app):
    from internal_affairs.audit.actions import checkpoint_message
    from internal_affairs.audit.models import AuditCheckpoint

    with app.app_context():
        rows = db.session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)).scalars().all()
        return [(r.seq, r.algorithm, r.key_id, checkpoint_message(r.seq, r.hash, r.signed_at), r.signature)
                for r in rows]


def test_checkpoints_are_signed_on_the_token_and_verify(trail):
    report = verify_report(trail)
    assert report.ok and report.checked == 22 and report.checkpoints_ok is True and report.problems == []
    stored = _checkpoints(trail)
    assert [(seq, algorithm) for seq, algorithm, *_ in stored] == [(10, KINDS[trail.kind]), (21, KINDS[trail.kind])]
    for _seq, _algorithm, _key_id, message, signature in stored:
        assert token_verifies(trail.token, trail.kind, f"audit-{trail.kind}", message, signature)
        assert not token_verifies(trail.token, trail.kind, f"audit-{trail.kind}", message + b" ", signature)
    assert len({key_id for _s, _a, key_id, _m, _sig in stored}) == 1
    lines = [json.loads(line) for line in trail.anchor.read_text().splitlines()]
    assert [line["signature"] for line in lines] == [sig for *_, sig in stored]


def test_a_deleted_tail_fails_the_token_signed_checkpoint(trail):
    from internal_affairs.audit.models import AuditEvent

    with trail.app_context(), tampering(db.session):
        db.session.execute(delete(AuditEvent).where(AuditEvent.seq >= 15))
    report = verify_report(trail)
    assert report.first_bad is None and report.checked == 14
    assert not report.ok and [p.seq for p in report.problems if p.code == "truncated"] == [21]


def test_a_chain_rewritten_from_scratch_fails_the_token_signed_checkpoints(trail):
    with trail.app_context(), tampering(db.session):
        rewrite_from_scratch()
    report = verify_report(trail)
    assert report.first_bad is None and report.checked == 22
    assert not report.ok and report.checkpoints_ok is False
    assert {p.seq for p in report.problems if p.code == "rewritten"} == {10, 21}


@pytest.mark.parametrize("attacker", ["pkcs12", "another-token-key"])
def test_checkpoints_re_signed_with_another_key_are_refused(trail, tmp_path, attacker):
    """The attacker rewrites the chain and re-signs the checkpoints and the anchor file with a key
    of their own: a PKCS#12 key of the same algorithm family, or another key on the same token."""
    from internal_affairs.audit.keys import TokenKey, load_audit_key, load_token_audit_key

    if attacker == "pkcs12":
        other = load_audit_key(str(make_audit_key(tmp_path, kind="rsa" if trail.kind == "rsa" else "ed25519")),
                               "audit-pw")
    else:
        token = trail.token
        other_label = "audit-ed25519" if trail.kind != "ed25519" else "audit-rsa"
        other = load_token_audit_key(TokenKey(token.module, token.label, token.pin, other_label))
    with trail.app_context(), tampering(db.session):
        rewrite_from_scratch()
        re_sign_checkpoints(other, trail.anchor)
    report = verify_report(trail)
    assert not report.ok and report.checkpoints_ok is False
    assert {p.seq for p in report.problems if p.code == "checkpoint_signature"} == {10, 21}


def _checkpoint_refusal(app):
    from internal_affairs.audit.actions import do_checkpoint
    from internal_affairs.errors import Conflict

    with app.app_context():
        with pytest.raises(Conflict) as caught:
            do_checkpoint(acting_user=None, now=T0.replace(hour=12))
        db.session.rollback()
    return caught.value


def test_a_host_without_the_pin_verifies_but_cannot_sign(trail):
    """Verification reads the public key in a public session; signing needs the PIN."""
    trail.config["AUDIT_PKCS11_PIN"] = None
    assert verify_report(trail).ok
    refusal = _checkpoint_refusal(trail)
    assert refusal.code == "audit_key_unusable" and "IA_AUDIT_PKCS11_PIN" in refusal.message
    assert [seq for seq, *_ in _checkpoints(trail)] == [10, 21], "nothing stored"


def test_a_wrong_pin_or_an_unknown_key_is_a_clear_refusal(trail):
    from internal_affairs.audit.queries import verify_trail
    from internal_affairs.errors import Conflict

    trail.config["AUDIT_PKCS11_PIN"] = "0000"
    refusal = _checkpoint_refusal(trail)
    assert refusal.code == "audit_key_unusable" and "PIN is wrong" in refusal.message
    trail.config["AUDIT_PKCS11_KEY"] = "no-such-key"
    with trail.app_context(), pytest.raises(Conflict) as caught:
        verify_trail()
    assert caught.value.code == "audit_key_unusable"
    assert "no public key or certificate with this label" in caught.value.message
    assert _checkpoint_refusal(trail).code == "audit_key_unusable"


def test_a_key_the_token_keeps_only_with_its_certificate(make_app, keys, tmp_path):
    """Tokens that store the certificate but no public key object: the public key comes from the
    certificate with the key's label."""
    app = _token_app(make_app, keys, "audit-cert-only", tmp_path)
    fill_trail(app)
    report = verify_report(app)
    assert report.ok and report.checkpoints_ok is True and report.checked == 22
    assert {algorithm for _seq, algorithm, *_ in _checkpoints(app)} == {"rsa-sha256"}
    with app.app_context(), tampering(db.session):
        rewrite_from_scratch()
    assert {p.seq for p in verify_report(app).problems if p.code == "rewritten"} == {10, 21}


def test_the_cli_signs_on_the_token(trail):
    result = trail.test_cli_runner().invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    assert f"({KINDS[trail.kind]}, key " in result.output
    assert trail.test_cli_runner().invoke(args=["audit", "verify"]).exit_code == 0


def test_a_file_and_a_token_at_once_refuse_to_start(make_app, keys, tmp_path):
    from internal_affairs.config import ConfigError

    with pytest.raises(ConfigError, match="IA_AUDIT_KEY_FILE and IA_AUDIT_PKCS11_MODULE"):
        _token_app(make_app, keys, "audit-rsa", tmp_path, IA_AUDIT_KEY_FILE=str(make_audit_key(tmp_path)),
                   IA_AUDIT_KEY_PASSWORD="audit-pw")


def test_the_scheduler_signs_on_the_token_only_where_the_pin_is(make_app, keys, tmp_path):
    from internal_affairs.audit.actions import record_event
    from internal_affairs.audit.models import AuditCheckpoint
    from internal_affairs.jobs.scheduler import SchedulerOptions, _scheduler, audit_checkpoint_job, bind

    options = SchedulerOptions(holder="me")
    assert _scheduler(_token_app(make_app, keys, "audit-ec", tmp_path, pin=False), options).get_job(
        "audit_checkpoint") is None, "a verifying host has no checkpoint job"
    app = _token_app(make_app, keys, "audit-ec", tmp_path)
    assert _scheduler(app, options).get_job("audit_checkpoint") is not None
    with app.app_context():
        record_event("test.event", actor=None, object_type="test", object_id=1, data={}, now=T0)
        db.session.commit()
        db.session.remove()
    bind(app, options)
    audit_checkpoint_job()
    with app.app_context():
        [checkpoint] = db.session.execute(select(AuditCheckpoint)).scalars().all()
        assert checkpoint.seq == 1 and checkpoint.algorithm == "ecdsa-sha256"
        db.session.remove()
    assert verify_report(app).checkpoints_ok is True


def test_the_api_signs_on_the_token_and_refuses_a_missing_pin_with_a_409(make_app, keys, tmp_path):
    """An auditor's on-demand checkpoint through the API is signed on the token; on a host
    without the PIN the same request is a 409 with a Chinese message, and verification still works."""
    from tests.support.app import load_catalog, load_demo
    from tests.support.cases import token

    app = _token_app(make_app, keys, "audit-ed25519", tmp_path)
    load_demo(app)
    load_catalog(app)
    c = app.test_client()
    made = c.post("/api/v1/audit/checkpoints", headers=token(c, "shenliheng"))
    assert made.status_code == 201, made.get_json()
    report = c.get("/api/v1/audit/verify", headers=token(c, "haowenbo")).get_json()
    assert report["ok"] is True and report["checkpoints_ok"] is True
    assert report["last_checkpoint"]["algorithm"] == "ed25519"
    app.config["AUDIT_PKCS11_PIN"] = None
    refused = c.post("/api/v1/audit/checkpoints", headers=token(c, "shenliheng"))
    assert refused.status_code == 409
    body = refused.get_json()
    assert "审计密钥无法使用" in json.dumps(body, ensure_ascii=False) and "audit_key_unusable" in json.dumps(body)
    assert c.get("/api/v1/audit/verify", headers=token(c, "haowenbo")).get_json()["ok"] is True
