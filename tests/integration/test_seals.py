"""The seal registry and sealing through the app: ``seals init-demo`` / ``import`` / ``list``,
:func:`seal_pdf_for_agency` (seal uses logged, audited, in the caller's transaction), and the
sealed record of a finished case made by the job (stored, logged, retried on failure)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

import signing
from internal_affairs.audit.models import AuditEvent
from internal_affairs.clock import utcnow
from internal_affairs.extensions import db
from internal_affairs.org.models import Agency, Person
from internal_affairs.seals.actions import RECORDED_OUTCOMES, seal_pdf_for_agency
from internal_affairs.seals.errors import NoSealError
from internal_affairs.seals.models import Seal, SealUse
from internal_affairs.seals.queries import trust_roots
from tests.support.cases import LEAVE, OVERTIME, TRIP, decide, get, submit, token
from tests.support.pdf import build_pdf
from tests.support.sealing import approved_leave, pdf_text, rejected_overseas_travel, run_sealing, seal_ready_app


@pytest.fixture
def seal_app(make_app, tmp_path):
    """The demo district with the catalog and the demo seals under a temporary IA_SEAL_DIR."""
    return seal_ready_app(make_app, tmp_path)


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


# ---- the sealed record of a finished case ------------------------------------------------------

@pytest.fixture
def sc(seal_app):
    client = seal_app.test_client()
    client.tokens = {}
    return client


def test_an_approved_case_is_queued_then_sealed_by_the_job(sc, seal_app):
    case = approved_leave(sc)
    assert case["record"]["status"] == "queued" and case["record"]["sha256"] is None
    assert run_sealing(seal_app).sealed == 1
    assert run_sealing(seal_app).sealed == 0, "a sealed record is never sealed again"
    record = get(sc, "xujing", case)["record"]
    assert record["status"] == "sealed" and record["url"] == f"/api/v1/cases/{case['id']}/record.pdf"
    pdf = sc.get(record["url"], headers=token(sc, "xujing")).data
    assert hashlib.sha256(pdf).hexdigest() == record["sha256"]
    with seal_app.app_context():
        report = signing.verify_pdf(pdf, trust_roots=trust_roots())
        assert report.valid and report.signatures[0].certification
        [use] = db.session.execute(select(SealUse)).scalars().all()
        assert (use.object_type, use.object_id, use.trigger) == ("case", case["number"], "cases.case.approved")
        assert use.seal.purpose == "审批专用章" and use.certificate_serial == report.signatures[0].certificate_serial
        assert use.triggered_by.uid == "linxiaoyan"
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "seals.pdf.sealed")).scalar_one()
        assert event.object_id == case["number"] and event.data["sha256"] == record["sha256"]
    text = pdf_text(pdf)
    for expected in (case["number"], "请假", "杨帆（代张伟）", "家事", "已登记"):
        assert expected in text, expected
    with seal_app.app_context():
        from internal_affairs.cases.models import Case
        from internal_affairs.seals.records import build_case_record

        record = build_case_record(db.session.get(Case, case["id"]))
        # the other HR officer's task, cancelled when linxiaoyan acted (或签), is no act of the trail
        assert [(t.step, t.acted, t.decision) for t in record.trail] == [
            ("领导审批", "杨帆（代张伟）", "同意"), ("考勤登记", "林晓燕", "已办理")]
        assert record.outcome == "同意" and ("请假事由", "家事") in [(f.label, f.value) for f in record.form]


def test_a_rejected_case_gets_a_record_and_a_withdrawn_one_none(sc, seal_app):
    case = submit(sc, "xujing", "business_trip", TRIP)
    case = decide(sc, "zhangwei", case, decision="reject", comment="时间冲突")
    assert case["record"]["status"] == "queued"
    withdrawn = submit(sc, "xujing", "leave", LEAVE)
    response = sc.post(f"/api/v1/cases/{withdrawn['id']}/withdraw", json={}, headers=token(sc, "xujing"))
    assert response.status_code == 200 and response.get_json()["record"] is None
    assert run_sealing(seal_app).sealed == 1
    with seal_app.app_context():
        [use] = db.session.execute(select(SealUse)).scalars().all()
        assert use.trigger == "cases.case.rejected"
    assert "不予同意" in pdf_text(sc.get(f"/api/v1/cases/{case['id']}/record.pdf", headers=token(sc, "xujing")).data)


def test_a_failed_sealing_is_kept_retried_with_backoff_and_shown_to_the_keeper(sc, seal_app):
    from internal_affairs.notify.models import OutboxMessage
    from internal_affairs.seals.models import SealedRecord

    with seal_app.app_context():
        keys = [Path(s.pkcs12_path) for s in db.session.execute(select(Seal)).scalars()]
    hidden = [k.rename(k.with_suffix(".away")) for k in keys]
    case = approved_leave(sc)
    now = utcnow()
    assert run_sealing(seal_app, now).failed == 1
    with seal_app.app_context():
        record = db.session.execute(select(SealedRecord)).scalar_one()
        assert (record.status, record.attempts) == ("failed", 1) and "密钥文件不存在" in record.last_error
        assert record.next_attempt_at == now + timedelta(minutes=1)
        notice = db.session.execute(select(OutboxMessage).where(OutboxMessage.kind == "seals.record.failed")).scalar_one()
        assert db.session.get(Person, notice.recipient_id).uid == "wumin" and notice.case_id == case["id"]
    assert sc.get(f"/api/v1/cases/{case['id']}/record.pdf", headers=token(sc, "xujing")).status_code == 202
    assert run_sealing(seal_app, now + timedelta(seconds=30)).failed == 0, "not yet due again"
    assert run_sealing(seal_app, now + timedelta(minutes=1)).failed == 1
    with seal_app.app_context():
        record = db.session.execute(select(SealedRecord)).scalar_one()
        assert record.attempts == 2 and record.next_attempt_at == now + timedelta(minutes=1) + timedelta(minutes=2)
    for away, key in zip(hidden, keys):
        away.rename(key)
    assert run_sealing(seal_app, now + timedelta(minutes=3)).sealed == 1
    assert get(sc, "xujing", case)["record"]["status"] == "sealed"


def test_a_seal_key_that_will_not_load_is_told_to_the_keeper_in_chinese(sc, seal_app, monkeypatch):
    from internal_affairs.seals.models import SealedRecord

    monkeypatch.setenv("SEAL_NOT_THE_PASSWORD", "not-the-password")
    with seal_app.app_context():
        for seal in db.session.execute(select(Seal)).scalars():
            seal.secret_name = "SEAL_NOT_THE_PASSWORD"
        db.session.commit()
    approved_leave(sc)
    assert run_sealing(seal_app, utcnow()).failed == 1
    with seal_app.app_context():
        record = db.session.execute(select(SealedRecord)).scalar_one()
        assert "印章密钥无法读取" in record.last_error
        assert "PKCS#12 seal key" not in record.last_error  # the library's English words stay in the log


def test_seals_import_takes_a_pkcs12_with_its_secret_and_refuses_a_wrong_one(seal_app, tmp_path, monkeypatch):
    p12 = sorted((tmp_path / "seals" / "demo").glob("*/seal-*-approval.p12"))[0]
    runner = seal_app.test_cli_runner()
    args = ["seals", "import", "--agency", "区教育局", "--purpose", "电子印章", "--pkcs12", str(p12)]
    monkeypatch.setenv("SEAL_WRONG", "not-the-password")
    wrong = runner.invoke(args=args + ["--secret-name", "SEAL_WRONG"])
    assert wrong.exit_code != 0 and "无法读取印章密钥" in wrong.output
    for agency in ("²", "99999999999999999999", "区不存在局"):  # no agency: named, never a traceback
        unknown = runner.invoke(args=["seals", "import", "--agency", agency, "--purpose", "电子印章", "--pkcs12",
                                      str(p12), "--secret-name", "SEAL_DEMO_PASSWORD"])
        assert unknown.exit_code == 1 and f"找不到单位“{agency}”" in unknown.output, unknown.output
    missing = runner.invoke(args=args + ["--secret-name", "SEAL_NOT_SET"])
    assert missing.exit_code != 0 and "SEAL_NOT_SET" in missing.output
    ok = runner.invoke(args=args + ["--secret-name", "SEAL_DEMO_PASSWORD"])  # the file under secrets/
    assert ok.exit_code == 0, ok.output
    with seal_app.app_context():
        seal = db.session.execute(select(Seal).where(Seal.purpose == "电子印章")).scalar_one()
        assert seal.agency.name == "区教育局" and seal.key_kind == "pkcs12" and signing.DEMO_MARK in seal.subject
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "seals.seal.registered",
                                                            AuditEvent.object_id == str(seal.id))).scalar_one()
        assert event.data["purpose"] == "电子印章"
        person = db.session.execute(select(Person).where(Person.uid == "xujing")).scalar_one()
        sealed = seal_pdf_for_agency(build_pdf(), agency_id=person.agency_id, purposes=["电子印章"], trigger="t",
                                     object_type="document", object_id="D-5", acting_user=None, now=utcnow())
        assert signing.verify_pdf(sealed.pdf, trust_roots=trust_roots()).valid


def test_an_auto_approved_step_is_in_the_trail(sc, seal_app):
    from internal_affairs.cases.models import Case
    from internal_affairs.seals.records import build_case_record
    from tests.support.cases import OVERTIME

    case = submit(sc, "xujing", "overtime", OVERTIME)
    assert case["steps"][0]["status"] == "done" and "秒批" in case["steps"][0]["note"]
    with seal_app.app_context():
        record = build_case_record(db.session.get(Case, case["id"]))
        first = record.trail[0]
        assert (first.step, first.acted, first.decision) == (case["steps"][0]["name"], "系统自动审批", "同意")


# ---- the seals a matter declares -----------------------------------------------------------------

def _organisation_department():
    from internal_affairs.org.queries import get_district_hr_agency

    agency = get_district_hr_agency()
    assert agency is not None and agency.name == "区委组织部"
    return agency


def test_every_catalog_seal_code_names_whose_seal_it_is():
    from internal_affairs.matters.schema import SEAL_CODES
    from internal_affairs.seals.queries import SEAL_AGENCIES

    assert set(SEAL_AGENCIES) == set(SEAL_CODES)


def test_overseas_travel_is_sealed_by_the_agency_then_the_organisation_department(sc, seal_app):
    case = rejected_overseas_travel(sc)
    assert run_sealing(seal_app).sealed == 1
    pdf = sc.get(f"/api/v1/cases/{case['id']}/record.pdf", headers=token(sc, "xujing")).data
    with seal_app.app_context():
        organisation = _organisation_department()
        applicant = db.session.execute(select(Person).where(Person.uid == "xujing")).scalar_one()
        assert applicant.agency_id != organisation.id
        report = signing.verify_pdf(pdf, trust_roots=trust_roots())
        assert report.valid and len(report.signatures) == 2
        first, second = report.signatures
        assert first.certification and not second.certification
        assert all(s.intact and s.trusted for s in report.signatures)
        uses = db.session.execute(select(SealUse).order_by(SealUse.id)).scalars().all()
        assert [(u.seal.agency_id, u.seal.purpose) for u in uses] == [
            (applicant.agency_id, "审批专用章"), (organisation.id, "审批专用章")]
        assert [u.certificate_serial for u in uses] == [first.certificate_serial, second.certificate_serial]
        assert all((u.object_id, u.trigger, u.sha256) == (case["number"], "cases.case.rejected", hashlib.sha256(pdf)
                                                           .hexdigest()) for u in uses)
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "seals.pdf.sealed")).scalar_one()
        assert [s["agency_id"] for s in event.data["seals"]] == [applicant.agency_id, organisation.id]


def test_a_matter_declaring_no_seal_is_sealed_by_its_agency(sc, seal_app):
    case = submit(sc, "xujing", "overtime", OVERTIME)  # 3 hours: approved at once (秒批), then HR reads it
    holder = next(t["assignee"] for s in case["steps"] for t in s["tasks"] if t["status"] == "pending")
    case = decide(sc, holder, case, decision="read")
    assert case["status"] in RECORDED_OUTCOMES and case["record"]["status"] == "queued"
    assert run_sealing(seal_app).sealed == 1
    with seal_app.app_context():
        [use] = db.session.execute(select(SealUse)).scalars().all()
        xujing = db.session.execute(select(Person).where(Person.uid == "xujing")).scalar_one()
        assert (use.seal.agency_id, use.seal.purpose) == (xujing.agency_id, "审批专用章")


def test_a_missing_organisation_seal_fails_the_record_with_its_reason(sc, seal_app):
    from internal_affairs.notify.models import OutboxMessage
    from internal_affairs.seals.models import SealedRecord
    from internal_affairs.seals.queries import get_seal_keepers

    case = rejected_overseas_travel(sc)
    retired = utcnow()
    with seal_app.app_context():
        organisation = _organisation_department()
        for seal in db.session.execute(select(Seal).where(Seal.agency_id == organisation.id,
                                                          Seal.purpose == "审批专用章")).scalars():
            seal.active_until = retired  # the organisation department's 审批专用章 is retired
        db.session.commit()
        organisation_keepers = {p.uid for p in get_seal_keepers(organisation.id)}
        assert organisation_keepers
    assert run_sealing(seal_app, retired + timedelta(seconds=1)).failed == 1
    with seal_app.app_context():
        record = db.session.execute(select(SealedRecord)).scalar_one()
        assert (record.status, record.pdf, record.sha256) == ("failed", None, None), "never half-sealed"
        assert "区委组织部" in record.last_error and "审批专用章" in record.last_error
        assert db.session.execute(select(func.count()).select_from(SealUse)).scalar() == 0
        told = {db.session.get(Person, m.recipient_id).uid for m in db.session.execute(
            select(OutboxMessage).where(OutboxMessage.kind == "seals.record.failed")).scalars()}
        assert {"wumin"} | organisation_keepers <= told, "the keepers of both agencies are told"
    assert sc.get(f"/api/v1/cases/{case['id']}/record.pdf", headers=token(sc, "xujing")).status_code == 202
    from tests.support.app import login

    keeper = seal_app.test_client()
    login(keeper, sorted(organisation_keepers)[0])
    html = keeper.get("/seals/failed").get_data(as_text=True)
    assert case["number"] in html and "区委组织部" in html


def test_an_organisation_department_that_cannot_be_determined_fails_the_record(make_app, tmp_path):
    app = seal_ready_app(make_app, tmp_path, IA_DISTRICT_HR_AGENCY="区档案局")  # no such agency
    c = app.test_client()
    case = rejected_overseas_travel(c)
    assert run_sealing(app).failed == 1
    with app.app_context():
        from internal_affairs.seals.models import SealedRecord

        record = db.session.execute(select(SealedRecord)).scalar_one()
        assert record.status == "failed" and "IA_DISTRICT_HR_AGENCY" in record.last_error
        assert record.case_id == case["id"]


def test_the_organisation_departments_own_case_takes_its_seal_once(sc, seal_app):
    with seal_app.app_context():
        organisation = _organisation_department()
        staff = db.session.execute(select(Person).where(Person.agency_id == organisation.id, Person.active.is_(True),
                                                        Person.manager_id.is_not(None))
                                   .order_by(Person.id.desc())).scalars().first()
        uid = staff.uid
    case = rejected_overseas_travel(sc, uid)
    assert run_sealing(seal_app).sealed == 1
    pdf = sc.get(f"/api/v1/cases/{case['id']}/record.pdf", headers=token(sc, uid)).data
    with seal_app.app_context():
        report = signing.verify_pdf(pdf, trust_roots=trust_roots())
        assert report.valid and len(report.signatures) == 1, "agency_seal and organisation_seal are the same seal"
        [use] = db.session.execute(select(SealUse)).scalars().all()
        assert use.seal.agency_id == organisation.id
