"""The auditor's workspace (read-only): search the trail, a case's full trail, export, verify."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from ..auth import current_roles
from ..clock import utcnow
from ..errors import DomainError
from ..extensions import db
from ..org.models import Agency
from ..sqlite import write_intent
from .actions import ACTION_LABELS
from .exports import do_export, parse_filters
from .queries import EventFilters, case_trail, check_can_audit, events_to_json, search_events, verify_trail

bp = Blueprint("audit", __name__)

PER_PAGE = 30


def _agencies() -> list[tuple[int, str]]:
    return [(a.id, a.name) for a in db.session.execute(
        select(Agency).where(Agency.active.is_(True)).order_by(Agency.name)).scalars()]


@bp.route("/audit")
@login_required
def search():
    check_can_audit(current_roles())
    error = None
    try:
        filters = parse_filters(request.args, local_days=True)
    except DomainError as exc:
        error = exc.page_message()
        filters = EventFilters()
    try:
        page = max(1, min(int(request.args.get("page", 1)), 10_000))
    except ValueError:
        page = 1
    rows, total = search_events(filters, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    pages = max(1, (total + PER_PAGE - 1) // PER_PAGE)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("audit/search.html", items=events_to_json(rows), total=total, page=page, pages=pages,
                           args=args, agencies=_agencies(), error=error, labels=ACTION_LABELS)


@bp.route("/audit/cases/<path:key>")
@login_required
def case(key: str):
    check_can_audit(current_roles())
    items = events_to_json(case_trail(key[:120]))
    return render_template("audit/case.html", key=key, items=items, labels=ACTION_LABELS)


@bp.route("/audit/verify")
@login_required
def verify():
    check_can_audit(current_roles())
    with write_intent(False):
        report = verify_trail()
    return render_template("audit/verify.html", report=report, labels=ACTION_LABELS)


@bp.route("/audit/export", methods=["POST"])
@login_required
def export():
    roles = current_roles()
    check_can_audit(roles)  # before the filters: anyone else gets 404, not a message about them
    body, mimetype, filename = do_export(request.form.get("format", "csv"), parse_filters(request.form, local_days=True),
                                         acting_user=current_user._get_current_object(), roles=roles, now=utcnow())
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={filename}"})
