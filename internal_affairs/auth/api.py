"""``/api/v1/auth/token`` and ``/api/v1/me``."""

from __future__ import annotations

from flask import current_app, jsonify

from ..api import bp, json_body, require_user
from ..clock import utcnow
from ..org.queries import person_to_json
from .actions import authenticate, do_issue_token
from . import current_roles


@bp.post("/auth/token")
def issue_token():
    data = json_body()
    now = utcnow()
    person = authenticate(data.get("username"), data.get("password"), config=current_app.config, now=now)
    token, expires = do_issue_token(person, hours=current_app.config["TOKEN_HOURS"], now=now)
    return jsonify({"token": token, "expires_at": expires.isoformat() + "Z"})


@bp.get("/me")
def me():
    person = require_user()
    data = person_to_json(person, detail=True)
    data["role_codes"] = sorted(current_roles())
    data["delegations"] = []
    return jsonify(data)
