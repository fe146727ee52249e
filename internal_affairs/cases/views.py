"""Case pages: starting a request, the inbox boxes, and the case with its timeline and decisions.

Views parse the HTML form, call one action or query and render the same case document the API
returns (:func:`case_to_json`). Every POST answers with a 303 back to the case page and a flash;
a form the services refuse (422) is shown again with the user's input and a message per field.
"""

from __future__ import annotations

from datetime import datetime, timezone
from math import ceil
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from ..auth import current_roles
from ..clock import LOCAL_TZ, utcnow
from ..errors import DomainError, NotFound, ValidationError
from ..extensions import db
from ..inputs import MAX_PAGE, int_arg, is_db_id
from ..matters.queries import definition_of, get_matter, list_matters_by_category, preview_route
from ..matters.regions import region_name, regions
from ..matters.schema import MatterDefinition
from ..matters.views import form_from_request
from ..org.models import Person
from ..org.queries import system_admins
from .access import access_case
from .actions import (do_add_approver, do_batch_decision, do_cc, do_consult, do_create_case, do_decide,
                      do_remind, do_remove_approver, do_resubmit, do_submit_case, do_transfer, do_update_draft,
                      do_withdraw_case, do_withdraw_decision)
from .attachments import clean_filename, do_upload_attachment, do_withdraw_attachment
from .models import Case
from .queries import BOXES, case_to_json, get_counts, get_inbox

__all__ = ["bp"]

bp = Blueprint("cases", __name__)

PER_PAGE = 20
BATCH_DECISIONS = ("approve", "done", "read")
FORWARD_OPS = ("transfer", "consult", "add_before", "add_after")
PAGE_ERRORS = (401, 403, 404)
HALVES = {"am": _l("上午"), "pm": _l("下午")}
DONE_MESSAGES = {
    "approve": _l("已同意。"),
    "reject": _l("已作出不同意的决定，申请已办结。"),
    "return": _l("已退回。"),
    "done": _l("已办理完成。"),
    "read": _l("已阅。"),
}
ACCEPT = {"pdf": ".pdf,application/pdf", "image": "image/*", "ofd": ".ofd",
          "office": ".doc,.docx,.xls,.xlsx,.ppt,.pptx"}


# ---- small helpers --------------------------------------------------------------------------

def _me() -> Person:
    return current_user._get_current_object()


def _parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.rstrip("Z"))
    except ValueError:
        return None


def _to_case(case_id: int):
    return redirect(url_for("cases.detail", case_id=case_id), code=303)


def _field_messages(exc: DomainError) -> dict[str, str]:
    return {k: str(v) for k, v in exc.fields.items()}


def _page_error(exc: DomainError) -> bool:
    """Whether ``exc`` must show the error page (not found, forbidden) rather than a flash."""
    return exc.http_status in PAGE_ERRORS


def _form_failure(exc: DomainError) -> tuple[dict[str, str], int]:
    """A failed form action: re-raise what must show the error page (404, 403), else flash the
    message and return the per-field messages and the status to re-render the form with."""
    if _page_error(exc):
        raise exc
    flash(str(exc.message), "error")
    return _field_messages(exc), exc.http_status


def _flash_error(exc: DomainError) -> None:
    flash(str(exc.message), "error")
    for message in _field_messages(exc).values():
        if message != str(exc.message):
            flash(message, "error")


@bp.app_template_filter("case_time")
def case_time(value: str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An API timestamp (naive UTC with ``Z``) as Beijing time."""
    moment = _parse_iso(value)
    if moment is None:
        return ""
    return moment.replace(tzinfo=timezone.utc).astimezone(LOCAL_TZ).strftime(fmt)


@bp.app_template_filter("case_duration")
def case_duration(start: str | None, end: str | None) -> str:
    """How long from ``start`` to ``end`` (API timestamps), in words."""
    a, b = _parse_iso(start), _parse_iso(end)
    if a is None or b is None or b < a:
        return ""
    minutes = int((b - a).total_seconds() // 60)
    if minutes < 1:
        return _("不到 1 分钟")
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(d)s 天 %(h)s 小时", d=days, h=hours)
    if hours:
        return _("%(h)s 小时 %(m)s 分", h=hours, m=minutes)
    return _("%(m)s 分钟", m=minutes)


@bp.app_context_processor
def _inject_todo_count() -> dict[str, Any]:
    def case_todo_count() -> int:
        if not current_user.is_authenticated:
            return 0
        known = g.get("case_counts")  # the inbox page has just read them
        if known is not None:
            return known["todo"]
        try:
            return get_counts(_me(), with_done=False)["todo"]
        except SQLAlchemyError:
            # the badge must never break the page that reports a database error
            return 0

    return {"case_todo_count": case_todo_count}


def _definition(case: Case) -> MatterDefinition:
    """The matter definition at the version the case was submitted under."""
    return definition_of(case.matter_version)


def _format(spec, value: Any) -> str:
    if spec is None:
        return value if isinstance(value, str) else str(value)
    if spec.type == "select":
        return spec.option_label(value)
    if spec.type == "multi_select":
        return "、".join(spec.option_label(v) for v in value) if isinstance(value, list) else str(value)
    if spec.type == "regions":
        return "、".join(region_name(v) for v in value) if isinstance(value, list) else str(value)
    if spec.type == "boolean":
        return _("是") if value else _("否")
    return "" if value is None else str(value)


def _form_rows(definition: MatterDefinition, form: dict[str, Any]) -> list[dict[str, Any]]:
    """The submitted form as label / text rows, in the order of the matter's fields."""
    rows = []
    for spec in definition.fields:
        if spec.type == "material":
            continue
        if spec.type == "date_range":
            start, end = form.get(spec.start), form.get(spec.end)
            if not start:
                continue
            start_half = HALVES.get(form.get(spec.start_half)) if spec.halves else None
            end_half = HALVES.get(form.get(spec.end_half)) if spec.halves else None
            text = start + (f"（{start_half}）" if start_half else "")
            if end and (end != start or end_half):
                text += " " + _("至") + " " + end + (f"（{end_half}）" if end_half else "")
            rows.append({"code": spec.code, "label": spec.label, "value": text, "long": False})
            continue
        value = form.get(spec.code)
        if value is None or value == "" or value == []:
            continue
        rows.append({"code": spec.code, "label": spec.label, "value": _format(spec, value),
                     "long": spec.type == "textarea"})
    return rows


def _revision_rows(definition: MatterDefinition, diff: dict[str, Any]) -> list[dict[str, str]]:
    """A revision's changed keys with the field labels and readable values."""
    labels: dict[str, tuple[str, Any]] = {}
    for spec in definition.fields:
        if spec.type == "date_range":
            labels[spec.start] = (f"{spec.label}（{_('开始')}）", None)
            labels[spec.end] = (f"{spec.label}（{_('结束')}）", None)
            if spec.halves:
                labels[spec.start_half] = (f"{spec.label}（{_('开始半天')}）", "half")
                labels[spec.end_half] = (f"{spec.label}（{_('结束半天')}）", "half")
        else:
            labels[spec.code] = (spec.label, spec)
    rows = []
    for key, pair in diff.items():
        label, spec = labels.get(key, (key, None))
        before, after = (pair + [None, None])[:2] if isinstance(pair, list) else (None, pair)

        def show(value: Any) -> str:
            if value is None or value == "" or value == []:
                return "—"
            if spec == "half":
                return str(HALVES.get(value, value))
            return _format(spec, value)

        rows.append({"label": label, "before": show(before), "after": show(after)})
    return rows


def _materials_input(definition: MatterDefinition) -> tuple[list[tuple[str, Any]], dict[str, str],
                                                            dict[str, dict[str, Any]]]:
    """The posted files per material, the 容缺 commitments, and what to show again on error."""
    files: list[tuple[str, Any]] = []
    deferred: dict[str, str] = {}
    shown: dict[str, dict[str, Any]] = {}
    for spec in definition.materials:
        for upload in request.files.getlist(f"file_{spec.code}"):
            if upload is not None and upload.filename:
                files.append((spec.code, upload))
        checked = request.form.get(f"defer_{spec.code}") == "on"
        commitment = request.form.get(f"commitment_{spec.code}", "")
        shown[spec.code] = {"defer": checked, "commitment": commitment}
        if checked and spec.deferrable:
            deferred[spec.code] = commitment
    return files, deferred, shown


def _upload_all(case: Case, files: list[tuple[str, Any]], me: Person) -> dict[str, str]:
    """Store each posted file; the messages of the refused ones, keyed like the services' fields."""
    errors: dict[str, str] = {}
    for material, upload in files:
        try:
            do_upload_attachment(case, material, upload.filename, upload.read(), acting_user=me, now=utcnow())
        except DomainError as exc:
            if _page_error(exc):
                raise
            errors[f"materials.{material}"] = f"{clean_filename(upload.filename)}：{exc.message}"
    return errors


def _leftover_errors(errors: dict[str, str], definition: MatterDefinition) -> dict[str, str]:
    """Messages that belong to no visible input (shown above the form)."""
    shown = definition.form_keys() | {f"materials.{m.code}" for m in definition.materials}
    return {k: v for k, v in errors.items() if k not in shown}


# ---- starting a request ---------------------------------------------------------------------

@bp.get("/cases/new")
@login_required
def new_index():
    """在线申请: the matters one can apply for, by category."""
    return render_template("matters/catalog.html", grouped=list_matters_by_category(), target="cases.new")


@bp.route("/cases/new/<code>", methods=["GET", "POST"])
@login_required
def new(code: str):
    """The request form of matter ``code``: ``action=preview`` shows the route, ``action=submit``
    creates and submits the case (files go into a draft first)."""
    loaded = get_matter(code)
    definition = loaded.definition
    me = _me()
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    shown: dict[str, dict[str, Any]] = {}
    preview = None
    status = 200
    if request.method == "POST":
        values = form_from_request(definition, request.form)
        files, deferred, shown = _materials_input(definition)
        if request.form.get("action") == "preview":
            try:
                preview = preview_route(code, values, viewer=me, roles=current_roles(), system_admins=system_admins())
            except DomainError as exc:
                errors, status = _form_failure(exc)
        elif request.form.get("action") == "draft":
            try:
                case = do_create_case(code, values, applicant=me, now=utcnow(), submit=False,
                                      system_admins=system_admins())
            except DomainError as exc:
                errors, status = _form_failure(exc)
            else:
                return _saved_draft(case, files, me)
        else:
            try:
                if not files:
                    case = do_create_case(code, values, applicant=me, now=utcnow(), submit=True,
                                          system_admins=system_admins(), deferred=deferred)
                else:
                    case = do_create_case(code, values, applicant=me, now=utcnow(), submit=False,
                                          system_admins=system_admins())
                    return _submit_draft(case, files, deferred, shown, me)
            except DomainError as exc:
                errors, status = _form_failure(exc)
            else:
                flash(_("申请已提交，办件编号 %(number)s。", number=case.number), "success")
                return _to_case(case.id)
    return render_template("cases/new.html", matter=loaded, d=definition, values=values, errors=errors,
                           leftover=_leftover_errors(errors, definition), shown=shown, preview=preview,
                           regions=regions(), accept=ACCEPT), status


def _submit_draft(case: Case, files, deferred, shown, me: Person):
    """Upload the files into the draft and submit it; on refusal show the draft with the messages."""
    errors = _upload_all(case, files, me)
    if not errors:
        try:
            case = do_submit_case(case, applicant=me, now=utcnow(), system_admins=system_admins(), deferred=deferred)
        except DomainError as exc:
            if _page_error(exc):
                raise
            errors = _field_messages(exc) or {"submit": str(exc.message)}
            flash(str(exc.message), "error")
        else:
            flash(_("申请已提交，办件编号 %(number)s。", number=case.number), "success")
            return _to_case(case.id)
    flash(_("申请已保存为草稿，尚未提交。请按提示补充材料后提交。"), "error")
    db.session.expire_all()
    return _render_case(db.session.get(Case, case.id), errors=errors, shown=shown, status=422)


def _saved_draft(case: Case, files, me: Person):
    """Store the posted files into the saved draft and go to it."""
    failed = _upload_all(case, files, me)
    flash(_("已保存为草稿，可以继续修改，提交后才会进入审批。"), "success")
    for message in failed.values():
        flash(_("材料未能上传：%(why)s", why=message), "error")
    return _to_case(case.id)


@bp.route("/cases/<int:case_id>/edit", methods=["GET", "POST"])
@login_required
def edit_draft(case_id: int):
    """修改草稿: the draft's form again; ``action=save`` keeps it a draft, ``action=submit`` submits."""
    me = _me()
    case = access_case(case_id, me, current_roles())
    if case.applicant_id != me.id or case.status != "draft":
        flash(_("只有自己的草稿可以修改。"), "error")
        return _to_case(case_id)
    definition = _definition(case)
    values: dict[str, Any] = dict(case.form)
    errors: dict[str, str] = {}
    shown: dict[str, dict[str, Any]] = {}
    status = 200
    if request.method == "POST":
        values = form_from_request(definition, request.form)
        files, deferred, shown = _materials_input(definition)
        try:
            case = do_update_draft(case, values, acting_user=me, now=utcnow())
        except DomainError as exc:
            errors, status = _form_failure(exc)
        else:
            if request.form.get("action") == "submit":
                return _submit_draft(case, files, deferred, shown, me)
            return _saved_draft(case, files, me)
    return render_template("cases/edit.html", case=case_to_json(case, me), d=definition, values=values,
                           errors=errors, leftover=_leftover_errors(errors, definition), shown=shown,
                           regions=regions(), accept=ACCEPT), status


# ---- inbox --------------------------------------------------------------------------------------

@bp.get("/inbox")
@login_required
def inbox():
    """The boxes 待办 / 已办 / 我的申请 / 抄送我的 (``?box=&q=&page=``)."""
    return _inbox(request.args.get("box", "todo"))


@bp.get("/cases/mine")
@login_required
def mine():
    """我的申请: the applicant's own cases."""
    return _inbox("mine")


def _inbox(box: str):
    """One page of ``box`` with the tab counts. Raises :class:`NotFound` for an unknown box."""
    if box not in BOXES:
        raise NotFound()
    page = int_arg("page", 1, minimum=1, maximum=MAX_PAGE)
    query = (request.args.get("q") or "").strip()[:100]
    items, total, counts = get_inbox(_me(), box, limit=PER_PAGE, offset=(page - 1) * PER_PAGE,
                                     query=query or None)
    g.case_counts = counts
    now = utcnow()
    for item in items:
        task = item.get("task")
        if task is not None:
            item["overdue"] = task["overdue"]
            item["due"] = task["due_at"] or item["due_at"]
        else:
            due = _parse_iso(item["due_at"])
            item["overdue"] = bool(due and item["status"] == "in_progress" and due < now)
            item["due"] = item["due_at"]
    pages = max(1, ceil(total / PER_PAGE))
    return render_template("cases/inbox.html", box=box, items=items, total=total, counts=counts, page=page,
                           pages=pages, q=query, batch_kinds={"approve": "approve", "handle": "done",
                                                             "read": "read"})


@bp.post("/inbox/batch")
@login_required
def batch():
    """Decide the ticked todo items with one comment (同意 / 办理完成 / 已阅 by task kind)."""
    me = _me()
    comment = request.form.get("comment") or None
    picked = {d: [int(v) for v in request.form.getlist(d) if is_db_id(v)] for d in BATCH_DECISIONS}
    back = redirect(url_for("cases.inbox", box="todo"), code=303)
    if not any(picked.values()):
        flash(_("请先勾选要处理的事项。"), "error")
        return back
    ok, failed = 0, []
    for decision, task_ids in picked.items():
        if not task_ids:
            continue
        try:
            results = do_batch_decision(task_ids, decision, acting_user=me, roles=current_roles(), now=utcnow(),
                                        comment=comment)
        except DomainError as exc:
            _flash_error(exc)
            continue
        for result in results:
            if result["status"] == "ok":
                ok += 1
            else:
                failed.append(result["error"]["message"])
    if ok:
        flash(_("已批量处理 %(n)s 件。", n=ok), "success")
    for message in failed:
        flash(_("有一件未能处理：%(why)s", why=message), "error")
    return back


# ---- the case page ------------------------------------------------------------------------------

def _render_case(case: Case, *, errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
                 shown: dict[str, dict[str, Any]] | None = None, status: int = 200):
    """The case page from :func:`case_to_json`, with the viewer's decision panels."""
    me = _me()
    data = case_to_json(case, me)
    definition = _definition(case)
    tasks = {t["id"]: t for s in data["steps"] for t in s["tasks"]}
    tasks.update({t["id"]: t for t in data["obligations"]})
    step_of = {t["id"]: s for s in data["steps"] for t in s["tasks"]}
    panels = []
    for mine in data["my_tasks"]:
        task = tasks.get(mine["id"])
        if task is None or task["kind"] == "obligation":
            continue
        earlier = [{"name": name} for name in data["capabilities"]["return_to"].get(str(task["id"]), ())]
        ops = {op: task["id"] in data["capabilities"][op] for op in ("transfer", "consult", "add_approver")}
        panels.append({"task": task, "step": step_of.get(task["id"]), "blocked": mine["blocked"], "return_to": earlier,
                       "can_transfer": ops["transfer"], "can_consult": ops["consult"],
                       "can_add_approver": ops["add_approver"], "can_forward": any(ops.values())})
    materials = {m.code: m for m in definition.materials}
    returned_by = next((t for s in reversed(data["steps"]) for t in reversed(s["tasks"])
                        if t["decision"] == "return"), None)
    return render_template(
        "cases/detail.html", case=data, d=definition, form_rows=_form_rows(definition, data["form"]),
        revisions=[{"number": r["number"], "at": r["at"], "rows": _revision_rows(definition, r["diff"])}
                   for r in data["revisions"]],
        panels=panels, tasks=tasks, materials=materials, me=me,
        is_applicant=data["applicant"]["uid"] == me.uid, returned_by=returned_by,
        errors=errors or {}, values=values or {}, shown=shown or {}, accept=ACCEPT,
        leftover=_leftover_errors(errors or {}, definition)), status


@bp.get("/cases/<int:case_id>")
@login_required
def detail(case_id: int):
    """The case page. Raises :class:`NotFound` for a case the viewer may not see."""
    return _render_case(access_case(case_id, _me(), current_roles()))


INLINE_ERRORS = {"comment", "to", "position", "to_step", "decision", "task", "cc_to", "reason"}


def _act(case_id: int, run, done_message: Any, *, values: dict[str, Any] | None = None,
         rename: dict[str, str] | None = None):
    """Run one action for the case page: 303 back with a flash; 422 shows the page with messages
    (``rename`` points a service field at the input that sent it); a conflict (409), a rate limit
    (429) or a bad request flashes its message."""
    try:
        result = run()
    except DomainError as exc:
        if _page_error(exc):
            raise
        if isinstance(exc, ValidationError) and exc.fields:
            errors = {(rename or {}).get(k, k): v for k, v in _field_messages(exc).items()}
            flash(str(exc.message), "error")
            for key, message in errors.items():
                if key not in INLINE_ERRORS:
                    flash(message, "error")
            case = access_case(case_id, _me(), current_roles())
            return _render_case(case, errors=errors, values=values, status=exc.http_status)
        _flash_error(exc)
        return _to_case(case_id)
    flash(str(done_message), "success")
    return _to_case(result.id if isinstance(result, Case) else case_id)


@bp.post("/cases/<int:case_id>/tasks/<int:task_id>/decision")
@login_required
def decide(case_id: int, task_id: int):
    """同意 / 不同意 / 退回 (to the applicant or an earlier step) / 办理完成 / 已阅 / 完成."""
    decision = request.form.get("decision", "")
    comment = request.form.get("comment", "")
    to_step = (request.form.get("to_step") or None) if decision == "return" else None
    message = DONE_MESSAGES.get(decision, _l("已处理。"))
    return _act(case_id, lambda: do_decide(task_id, decision, acting_user=_me(), roles=current_roles(), now=utcnow(),
                                           comment=comment, to_step=to_step),
                message, values={"comment": comment, "task_id": task_id})


@bp.post("/cases/<int:case_id>/tasks/<int:task_id>/forward")
@login_required
def forward(case_id: int, task_id: int):
    """转办, 征询意见 and 加签 (before or after) — each names one person by uid."""
    op = request.form.get("op", "")
    to = (request.form.get("to") or "").strip()
    comment = request.form.get("comment", "")
    values = {"forward_op": op, "forward_to": to, "forward_comment": comment, "task_id": task_id}
    kwargs = dict(acting_user=_me(), roles=current_roles(), now=utcnow(), comment=comment)
    runs = {
        "transfer": (lambda: do_transfer(task_id, to, **kwargs), _l("已转办。")),
        "consult": (lambda: do_consult(task_id, to, **kwargs), _l("已发出征询，对方回复后您再作决定。")),
        "add_before": (lambda: do_add_approver(task_id, to, position="before", **kwargs),
                       _l("已加签，被加签人审批后由您决定。")),
        "add_after": (lambda: do_add_approver(task_id, to, position="after", **kwargs),
                      _l("已加签，您决定后由被加签人审批。")),
    }
    if op not in runs:
        flash(_("请选择要执行的操作。"), "error")
        return _to_case(case_id)
    run, message = runs[op]
    return _act(case_id, run, message, values=values)


@bp.post("/cases/<int:case_id>/tasks/<int:task_id>/remove-approver")
@login_required
def remove_approver(case_id: int, task_id: int):
    """减签: take back an approver one added."""
    return _act(case_id, lambda: do_remove_approver(task_id, acting_user=_me(), roles=current_roles(), now=utcnow()),
                _l("已减签。"))


@bp.post("/cases/<int:case_id>/tasks/<int:task_id>/withdraw-decision")
@login_required
def withdraw_decision(case_id: int, task_id: int):
    """Take back one's own decision while the next step has not acted."""
    return _act(case_id, lambda: do_withdraw_decision(task_id, acting_user=_me(), roles=current_roles(), now=utcnow()),
                _l("已撤回您的决定，请重新处理。"))


@bp.post("/cases/<int:case_id>/withdraw")
@login_required
def withdraw(case_id: int):
    """The applicant withdraws the case."""
    case = access_case(case_id, _me(), current_roles())
    reason = request.form.get("reason", "")
    return _act(case_id, lambda: do_withdraw_case(case, acting_user=_me(), now=utcnow(), reason=reason),
                _l("申请已撤回。"), values={"reason": reason}, rename={"comment": "reason"})


@bp.post("/cases/<int:case_id>/remind")
@login_required
def remind(case_id: int):
    """催办 the holders of the open tasks."""
    case = access_case(case_id, _me(), current_roles())

    def run():
        do_remind(case, acting_user=_me(), now=utcnow())
        return case

    return _act(case_id, run, _l("已催办，审批人会收到提醒。"))


@bp.post("/cases/<int:case_id>/cc")
@login_required
def cc(case_id: int):
    """抄送 the case to people named by uid (comma separated)."""
    case = access_case(case_id, _me(), current_roles())
    raw = request.form.get("to", "")
    uids = [u for u in raw.replace("，", ",").replace("、", ",").replace(" ", ",").split(",") if u]
    from_task = int(request.form["from_task"]) if is_db_id(request.form.get("from_task")) else None
    return _act(case_id, lambda: do_cc(case, uids, acting_user=_me(), now=utcnow()), _l("已抄送。"),
                values={"cc_to": raw, "task_id": from_task}, rename={"to": "cc_to"})


@bp.post("/cases/<int:case_id>/submit")
@login_required
def submit(case_id: int):
    """Submit a draft, with the files and 容缺 commitments posted along."""
    me = _me()
    case = access_case(case_id, me, current_roles())
    files, deferred, shown = _materials_input(_definition(case))
    return _submit_draft(case, files, deferred, shown, me)


@bp.post("/cases/<int:case_id>/attachments")
@login_required
def upload(case_id: int):
    """补交材料: the applicant adds files to an open case (a deferred material becomes supplied)."""
    me = _me()
    case = access_case(case_id, me, current_roles())
    files, _deferred, _shown = _materials_input(_definition(case))
    if not files:
        flash(_("请选择要上传的文件。"), "error")
        return _to_case(case_id)
    errors = _upload_all(case, files, me)
    stored = len(files) - len(errors)
    if stored:
        flash(_("已上传 %(n)s 个文件。", n=stored), "success")
    for message in errors.values():
        flash(message, "error")
    return _to_case(case_id)


@bp.post("/cases/<int:case_id>/attachments/<int:attachment_id>/withdraw")
@login_required
def withdraw_attachment(case_id: int, attachment_id: int):
    """撤下 a file uploaded by mistake (draft or returned case); it stays on the record."""
    me = _me()
    case = access_case(case_id, me, current_roles())
    return _act(case_id, lambda: do_withdraw_attachment(case, attachment_id, acting_user=me, now=utcnow()),
                _("已撤下该文件，记录中仍保留。"))


@bp.route("/cases/<int:case_id>/resubmit", methods=["GET", "POST"])
@login_required
def resubmit(case_id: int):
    """重新提交 a returned case: the form again, filled with what was submitted."""
    me = _me()
    case = access_case(case_id, me, current_roles())
    data = case_to_json(case, me)
    if not data.get("can_resubmit"):
        flash(_("只有被退回的办件可以重新提交。"), "error")
        return _to_case(case_id)
    definition = _definition(case)
    values: dict[str, Any] = dict(data["form"])
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = form_from_request(definition, request.form)
        files, _deferred, _shown = _materials_input(definition)
        try:
            case = do_resubmit(case, values, acting_user=me, now=utcnow(), system_admins=system_admins())
        except DomainError as exc:
            errors, status = _form_failure(exc)
        else:
            failed = _upload_all(case, files, me)
            flash(_("已重新提交。"), "success")
            for message in failed.values():
                flash(_("材料未能上传：%(why)s", why=message), "error")
            return _to_case(case.id)
    returned_by = next((t for s in reversed(data["steps"]) for t in reversed(s["tasks"])
                        if t["decision"] == "return"), None)
    return render_template("cases/resubmit.html", case=data, d=definition, values=values, errors=errors,
                           leftover=_leftover_errors(errors, definition), regions=regions(), accept=ACCEPT,
                           returned_by=returned_by), status
