"""``/api/v1/matter-types`` and ``/api/v1/route-preview``."""

from __future__ import annotations

from flask import jsonify
from flask_babel import gettext as _

from ..api import ApiRoutes, json_body, only_fields, require_user
from ..api.openapi import op, path_param, ref
from ..auth import current_roles
from ..errors import ValidationError
from ..org.queries import system_admins
from .queries import get_matter, list_matters, matter_to_json, preview_route

routes = ApiRoutes("matters")


@routes.get("/matter-types")
def matter_types():
    require_user()
    return jsonify([matter_to_json(m) for m in list_matters()])


@routes.get("/matter-types/<code>")
def matter_type(code: str):
    require_user()
    return jsonify(matter_to_json(get_matter(code)))


@routes.post("/route-preview")
def route_preview():
    viewer = require_user()
    data = json_body()
    only_fields(data, {"matter_type", "form", "applicant"})
    if "matter_type" not in data:
        raise ValidationError(fields={"matter_type": _("请指定事项。")})
    form = data.get("form", {})
    if not isinstance(form, dict):
        raise ValidationError(fields={"form": _("表单必须是对象。")})
    preview = preview_route(data["matter_type"], form, viewer=viewer, roles=current_roles(),
                            applicant_uid=data.get("applicant"),
                            system_admins=system_admins())
    return jsonify(preview)


# what a matter's `regions` field takes (overseas_travel's `destinations`): codes, not names
REGION_CODES = {
    "type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^[A-Z]{2}$"},
    "description": "ISO 3166-1 alpha-2 codes of countries or regions, not their names: JP, not 日本 "
                   "(a name is refused with 请使用国家或地区代码，如 JP). Used by every form field of type "
                   "`regions`, e.g. `destinations` of overseas_travel.",
    "examples": [["JP"], ["JP", "KR"]],
}
FORM = {
    "type": "object",
    "description": "Field code → value, for the fields `GET /matter-types/{code}` lists: dates as YYYY-MM-DD, "
                   "a `select` field by option value, a `person` by uid, a `regions` field as ISO 3166-1 "
                   "alpha-2 codes (see RegionCodes).",
    "properties": {"destinations": {"$ref": "#/components/schemas/RegionCodes"}},
    "examples": [{"destinations": ["JP"], "start_date": "2026-10-01", "end_date": "2026-10-07",
                  "purpose": "tourism", "reason": "赴日本旅游"}],
}

routes.document(schemas={"RegionCodes": REGION_CODES, "Form": FORM}, paths={
    "/matter-types": {"get": op("The catalog: [{code, name, category, fields, materials, time_limit}]")},
    "/matter-types/{code}": {"get": op("One matter type", params=[path_param("code")])},
    "/route-preview": {"post": op("The concrete steps this applicant's case would take", body={
        "type": "object", "required": ["matter_type"],
        "properties": {"matter_type": {"type": "string"}, "form": ref("Form"),
                       "applicant": {"type": "string", "description": "uid (HR of the agency, admins)"}}})},
})
