"""The seal registry and sealing through the app: ``seals init-demo`` / ``import`` / ``list``,
:func:`seal_pdf_for_agency` (seal uses logged, audited, in the caller's transaction), and the
sealed record of a finished case made by the job (stored, logged, retried on failure)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

import signing
from internal_affairs.audit.models import AuditEvent
from internal_affairs.clock import utcnow
from internal_affairs.extensions import db
from internal_affairs.org.models import Agency, Person
from internal_affairs.seals.actions import seal_pdf_for_agency
from internal_affairs.seals.errors import NoSealError
from internal_affairs.seals.models import Seal, SealUse
from internal_affairs.seals.queries import trust_roots
from tests.support.pdf import build_pdf


@pytest.fixture
def seal_app(make_app, tmp_path):
    """The demo district with the catalog and the demo seals under a temporary IA_SEAL_DIR."""
    from tests.support.app import load_catalog, load_demo

    app = make_app(IA_SEAL_DIR=str(tmp_path / "seals"))
    load_demo(app)
    load_catalog(app)
    result = app.test_cli_runner().invoke(args=["seals", "init-demo"])
    assert result.exit_code == 0, result.output
    return app


def test_init_demo_makes_two_marked_seals_per_agency_once(seal_app, tmp_path):
    with seal_app.app_context():
        agencies = db.session.execute(select(func.count()).select_from(Agency).where(Agency.active.is_(True))).scalar()
        seals = db.session.execute(select(Seal)).scalars().all()
        assert len(seals) == 2 * agencies
        assert {s.purpose for s in seals} == {"审批专用章", "公文用章"}
        assert all(signing.DEMO_MARK in s.subject for s in seals)
        assert len({s.certificate_serial for s in seals}) == len(seals)
    again = seal_app.test_cli_runner().invoke(args=["seals", "init-demo"])
    assert again.exit_code == 0 and "0 created" in again.output
    listed = seal_app.test_cli_runner().invoke(args=["seals", "list"])
    assert f"{2 * agencies} seals" in listed.output and "in force" in listed.output
    assert list((tmp_path / "seals" / "trust").glob("demo-root-*.pem"))


def test_seal_pdf_for_agency_logs_each_use_and_audits_in_the_callers_transaction(seal_app):
    with seal_app.app_context():
        person = db.session.execute(select(Person).where(Person.uid == "xujing")).scalar_one()
        now = utcnow()
        sealed = seal_pdf_for_agency(build_pdf(), agency_id=person.agency_id, purposes=["公文用章", "审批专用章"],
                                     trigger="documents.issued", object_type="document", object_id="D-1",
                                     acting_user=person, now=now)
        report = signing.verify_pdf(sealed.pdf, trust_roots=trust_roots())
        assert report.valid and len(report.signatures) == 2
        assert report.signatures[0].certification
        uses = db.session.execute(select(SealUse).order_by(SealUse.id)).scalars().all()
        assert [u.id for u in uses] == sealed.seal_uses
        assert [u.seal.purpose for u in uses] == ["公文用章", "审批专用章"]
        assert {u.certificate_serial for u in uses} == {s.certificate_serial for s in report.signatures}
        assert all(u.trigger == "documents.issued" and u.object_id == "D-1" and u.sha256 == sealed.sha256
                   for u in uses)
        db.session.rollback()  # nothing was committed: the caller's transaction decides
        assert db.session.execute(select(func.count()).select_from(SealUse)).scalar() == 0
        seal_pdf_for_agency(build_pdf(), agency_id=person.agency_id, purposes=["公文用章"], trigger="t",
                            object_type="document", object_id="D-2", acting_user=None, now=now)
        db.session.commit()
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "seals.pdf.sealed")).scalar_one()
        assert event.object_id == "D-2"


def test_no_active_seal_of_a_purpose_is_refused(seal_app):
    with seal_app.app_context():
        person = db.session.execute(select(Person).where(Person.uid == "xujing")).scalar_one()
        with pytest.raises(NoSealError) as raised:
            seal_pdf_for_agency(build_pdf(), agency_id=person.agency_id, purposes=["电子印章"], trigger="t",
                                object_type="document", object_id="D-3", acting_user=None, now=utcnow())
        assert "电子印章" in str(raised.value.message)
        retired = utcnow() + timedelta(days=1)
        for seal in db.session.execute(select(Seal).where(Seal.agency_id == person.agency_id)).scalars():
            seal.active_until = retired
        db.session.commit()
        with pytest.raises(NoSealError):
            seal_pdf_for_agency(build_pdf(), agency_id=person.agency_id, purposes=["公文用章"], trigger="t",
                                object_type="document", object_id="D-4", acting_user=None, now=retired)
