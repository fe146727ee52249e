"""The catalog page and each matter's guide page with the route preview."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, render_template, request
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from ..auth import current_roles
from ..errors import ValidationError
from ..org.queries import system_admins
from .queries import get_matter, list_matters_by_category, preview_route
from .regions import regions
from .schema import MatterDefinition

bp = Blueprint("matters", __name__, url_prefix="/matters")


def form_from_request(definition: MatterDefinition, formdata: MultiDict) -> dict[str, Any]:
    """Turn posted HTML form values into the JSON shape the services validate."""
    out: dict[str, Any] = {}
    for spec in definition.fields:
        if spec.type == "material":
            continue
        for key in spec.keys():
            if spec.type in ("multi_select", "regions"):
                values = [v for v in formdata.getlist(key) if v]
                if values:
                    out[key] = values
            elif spec.type == "boolean":
                out[key] = formdata.get(key) == "on"
            else:
                value = formdata.get(key, "")
                if value != "":
                    out[key] = value
    return out


@bp.get("/")
@login_required
def catalog():
    return render_template("matters/catalog.html", grouped=list_matters_by_category(), target="matters.guide")


@bp.route("/<code>", methods=["GET", "POST"])
@login_required
def guide(code: str):
    loaded = get_matter(code)
    preview = None
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    applicant_uid = request.values.get("applicant") or None
    if request.method == "POST":
        values = form_from_request(loaded.definition, request.form)
        try:
            preview = preview_route(code, values, viewer=current_user._get_current_object(), roles=current_roles(),
                                    applicant_uid=applicant_uid,
                                    system_admins=system_admins())
        except ValidationError as exc:
            errors = exc.fields or {"form": str(exc.message)}
            if not exc.fields:
                flash(str(exc.message), "error")
    status = 422 if errors else 200
    return render_template("matters/guide.html", matter=loaded, d=loaded.definition, preview=preview,
                           errors=errors, values=values, regions=regions(), applicant_uid=applicant_uid), status

