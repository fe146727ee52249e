"""Pages: verify any PDF (anyone logged in; auditors above all), and the records whose sealing
failed (the seal keepers of the agency, administrators)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..auth import current_roles
from ..cases.access import can_view_case
from ..errors import NotFound
from .errors import UnreadablePdfError
from .queries import get_failed_records, keeper_agency_ids
from .verification import check_verify_pdf

bp = Blueprint("seals", __name__)


@bp.route("/verify", methods=["GET", "POST"])
@login_required
def verify_page():
    report, error, filename = None, None, None
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            error = _("请选择要验证的 PDF 文件。")
        else:
            filename = upload.filename
            try:
                report = check_verify_pdf(upload.read())
            except UnreadablePdfError as exc:
                error = str(exc.message)
    status = 422 if error and request.method == "POST" else 200
    return render_template("seals/verify.html", report=report, error=error, filename=filename), status


@bp.get("/seals/failed")
@login_required
def failed_page():
    me = current_user._get_current_object()
    roles = current_roles()
    if "admin" in roles:
        agencies = None
    else:
        agencies = keeper_agency_ids(me)
        if not agencies:
            raise NotFound()
    # a keeper who may not read the case (not its HR, not on it) sees its number without a link to a 404
    rows = [(r, c, agencies is None or can_view_case(c, me, roles)) for r, c in get_failed_records(agencies)]
    return render_template("seals/failed.html", rows=rows)
