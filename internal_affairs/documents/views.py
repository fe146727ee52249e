"""The document pages: the boxes and the archive search, drafting (PC), one document — read,
edit as a new version, compare versions, submit or withdraw, decide one's task on it (review,
countersign, sign-off; on a phone with a signature drawn with a finger) — and the clerk's
registration of a delivered document. The tasks themselves also stay in the ordinary inbox."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from ..auth import current_roles
from ..cases.actions import do_decide
from ..cases.models import Task
from ..cases.queries import viewer_capabilities
from ..clock import utcnow
from ..errors import DomainError, NotFound
from ..extensions import db
from ..inputs import MAX_PAGE, int_arg, is_db_id
from ..org.models import Agency, Department
from ..org.queries import system_admins
from . import actions
from .body import parse_body
from .models import SECRECY, URGENCY
from .queries import (BOXES, access_document, document_attachment, document_json, documents_brief_json, is_doc_clerk,
                      list_documents, version_diff)

__all__ = ["bp"]

bp = Blueprint("documents", __name__)

BOX_LABELS = {"drafts": _l("我的拟稿"), "outgoing": _l("发文"), "incoming": _l("收文"), "archive": _l("归档")}
STATUS_LABELS = {"draft": _l("草稿"), "in_progress": _l("审核中"), "returned": _l("已退回"), "rejected": _l("未通过"),
                 "withdrawn": _l("已撤回"), "issued": _l("已签发"), "delivered": _l("已分发"), "registered": _l("已登记"),
                 "handling": _l("办理中"), "archived": _l("已归档")}


def _me():
    return current_user._get_current_object()


def _ints(values: list[str]) -> list[Any]:
    return [int(v) if is_db_id(v) else v for v in values if v]


def _uids(text: str) -> list[str]:
    """User names typed into one field, separated by commas (ASCII or full-width)."""
    return [r.strip() for r in text.replace("，", ",").split(",") if r.strip()]


def _draft_data(form) -> dict[str, Any]:
    return {"title": form.get("title", ""), "body": form.get("body", ""), "series": form.get("series") or None,
            "main_to": _ints(form.getlist("main_to")), "cc_to": _ints(form.getlist("cc_to")),
            "countersign": [v for v in form.getlist("countersign") if v],
            "secrecy": form.get("secrecy", ""), "urgency": form.get("urgency", "")}


def _choices(me) -> dict[str, Any]:
    agencies = db.session.execute(select(Agency.id, Agency.name).where(Agency.active.is_(True))
                                  .order_by(Agency.id)).all()
    departments = db.session.execute(select(Department.id, Department.name).where(
        Department.agency_id == me.agency_id, Department.active.is_(True)).order_by(Department.id)).all()
    return {"agencies": agencies, "departments": departments, "secrecy": SECRECY, "urgency": URGENCY}


@bp.route("/documents")
@login_required
def index():
    me = _me()
    box = request.args.get("box", "drafts")
    if box not in BOXES:
        box = "drafts"
    args = request.args
    page = int_arg("page", 1, minimum=1, maximum=MAX_PAGE)
    try:
        rows, total = list_documents(box, me, current_roles(), q=args.get("q") or None,
                                     number=args.get("number") or None, agency=args.get("agency") or None,
                                     status=args.get("status") or None, date_from=args.get("from") or None,
                                     date_to=args.get("to") or None, page=page)
    except DomainError as exc:
        flash(exc.page_message(), "error")
        rows, total = [], 0
    rows = documents_brief_json(rows, me, current_roles())
    return render_template("documents/index.html", box=box, rows=rows, total=total, boxes=BOX_LABELS,
                           statuses=STATUS_LABELS, args=args, clerk=is_doc_clerk(me, me.agency_id), **_choices(me))


@bp.route("/documents/new", methods=["GET", "POST"])
@login_required
def new():
    me = _me()
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = _draft_data(request.form)
        try:
            document = actions.do_create_document(values, acting_user=me, now=utcnow(),
                                                  submit=request.form.get("submit") == "1")
            flash(_("公文已保存。") if document.status == "draft" else _("公文已提交核稿。"), "success")
            return redirect(url_for("documents.detail", document_id=document.id), 303)
        except DomainError as exc:
            flash(str(exc.message), "error")
            errors, status = dict(exc.fields or {}), exc.http_status
    return render_template("documents/edit.html", doc=None, values=values, errors=errors,
                           **_choices(me)), status


def _my_task(document, me) -> Task | None:
    """The first open task on the document's case that ``me`` may decide now, as the case engine
    says (:func:`internal_affairs.cases.queries.viewer_capabilities`): their
    own or a principal's (代理, matter-scoped delegations included), not one waiting on a
    consultation, not on their own case."""
    if document.case is None:
        return None
    decide = viewer_capabilities(document.case, me).decide
    return next((t for t in document.case.tasks if decide.get(t.id) and t.kind != "obligation"), None)


@bp.route("/documents/<int:document_id>")
@login_required
def detail(document_id: int):
    me = _me()
    roles = current_roles()
    document = access_document(document_id, me, roles)
    doc = document_json(document, me, roles)
    changes = None
    if request.args.get("from") and request.args.get("to"):
        try:
            changes = version_diff(document, int(request.args["from"]), int(request.args["to"]))
        except (ValueError, NotFound):
            flash(_("没有这个版本。"), "error")
    task = _my_task(document, me)
    instructing = task is not None and document.direction == "incoming" and any(
        s.id == task.step_id and s.name == actions.INSTRUCT_STEP for s in document.case.steps)
    return render_template("documents/detail.html", doc=doc, document=document, task=task, changes=changes,
                           instructing=instructing,
                           statuses=STATUS_LABELS, blocks=parse_body(document.body),
                           editable=actions.editable_by(document, me), me=me,
                           clerk=is_doc_clerk(me, document.agency_id), **_choices(me))


def _back(document_id: int):
    return redirect(url_for("documents.detail", document_id=document_id), 303)


def _then_back(document_id: int, action, done: str):
    """Run ``action`` (one service call), flash ``done`` or the refusal's message, and go back to
    the document's page."""
    try:
        action()
        flash(done, "success")
    except DomainError as exc:
        flash(exc.page_message(), "error")
    return _back(document_id)


@bp.route("/documents/<int:document_id>/versions", methods=["POST"])
@login_required
def save_version(document_id: int):
    me = _me()
    document = access_document(document_id, me, current_roles())
    data = _draft_data(request.form) if document.status in ("draft", "returned") else {
        "title": request.form.get("title", ""), "body": request.form.get("body", "")}
    if request.form.get("note"):
        data["note"] = request.form["note"]
    return _then_back(document_id, lambda: actions.do_save_version(document, data, acting_user=me, now=utcnow()),
                      _("已保存为新版本。"))


@bp.route("/documents/<int:document_id>/submit", methods=["POST"])
@login_required
def submit(document_id: int):
    me = _me()
    document = access_document(document_id, me, current_roles())
    return _then_back(document_id, lambda: actions.do_submit_document(document, acting_user=me, now=utcnow()),
                      _("公文已提交核稿。"))


@bp.route("/documents/<int:document_id>/withdraw", methods=["POST"])
@login_required
def withdraw(document_id: int):
    me = _me()
    document = access_document(document_id, me, current_roles())
    return _then_back(document_id, lambda: actions.do_withdraw_document(document, acting_user=me, now=utcnow()),
                      _("公文已撤回。"))


def _signature():
    """The handwritten signature posted with a decision (PNG bytes), if any."""
    signature = request.form.get("signature") or None
    return actions.decode_signature(signature) if signature else None


@bp.route("/documents/<int:document_id>/decide/<int:task_id>", methods=["POST"])
@login_required
def decide(document_id: int, task_id: int):
    me = _me()
    document = access_document(document_id, me, current_roles())
    if document.case is None or not any(t.id == task_id for t in document.case.tasks):
        raise NotFound()
    return _then_back(document_id, lambda: do_decide(
        task_id, request.form.get("decision"), acting_user=me, roles=current_roles(), now=utcnow(),
        comment=request.form.get("comment") or None, signature=_signature()), _("已提交您的意见。"))


@bp.route("/documents/<int:document_id>/instruct/<int:task_id>", methods=["POST"])
@login_required
def instruct(document_id: int, task_id: int):
    me = _me()
    document = access_document(document_id, me, current_roles())
    days = request.form.get("deadline_days", "").strip()
    data = {"comment": request.form.get("comment") or None, "handlers": _ints(request.form.getlist("handlers")),
            "deadline_days": int(days) if is_db_id(days) else (days or None)}
    return _then_back(document_id, lambda: actions.do_instruct(
        document, task_id, data, acting_user=me, roles=current_roles(), now=utcnow(), signature=_signature(),
        system_admins=system_admins()), _("已批办。"))


@bp.route("/documents/<int:document_id>/register", methods=["POST"])
@login_required
def register(document_id: int):
    me = _me()
    document = access_document(document_id, me, current_roles())
    data = {"proposal": request.form.get("proposal", ""), "handlers": _ints(request.form.getlist("handlers")),
            "readers": _uids(request.form.get("readers", ""))}
    return _then_back(document_id,
                      lambda: actions.do_register_incoming(document, data, acting_user=me, now=utcnow()),
                      _("来文已登记，送领导批办。"))


@bp.route("/documents/paper", methods=["POST"])
@login_required
def register_paper():
    me = _me()
    form = request.form
    upload = request.files.get("file")
    data = {"title": form.get("title", ""), "number": form.get("number", ""),
            "issuer_name": form.get("issuer_name", ""), "proposal": form.get("proposal", ""),
            "handlers": _ints(form.getlist("handlers")),
            "readers": _uids(form.get("readers", ""))}
    try:
        document = actions.do_register_paper(data, upload.read(actions.MAX_SCAN + 1) if upload else b"",
                                             acting_user=me, now=utcnow())
        flash(_("来文已登记，送领导批办。"), "success")
        return redirect(url_for("documents.detail", document_id=document.id), 303)
    except DomainError as exc:
        flash(exc.page_message(), "error")
    return redirect(url_for("documents.index", box="incoming"), 303)


@bp.route("/documents/<int:document_id>/record.pdf")
@login_required
def record_pdf(document_id: int):
    document = access_document(document_id, _me(), current_roles())
    if document.pdf is None:
        raise NotFound()
    return Response(document.pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="document-{document.id}.pdf"'})


@bp.route("/documents/<int:document_id>/attachments/<int:attachment_id>")
@login_required
def attachment_file(document_id: int, attachment_id: int):
    from ..cases.api_attachments import content_disposition

    document = access_document(document_id, _me(), current_roles())
    row = document_attachment(document, attachment_id)
    return Response(row.data, mimetype=row.content_type, headers={"Content-Disposition": content_disposition(row.filename)})
