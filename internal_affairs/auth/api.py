"""``/api/v1/auth/token``, ``/api/v1/auth/tokens``, ``/api/v1/me`` and ending a person's sessions."""

from __future__ import annotations

from flask import current_app, jsonify, request
from flask_babel import gettext as _

from ..api import ApiRoutes, json_body, require_user
from ..api.openapi import op, path_param
from ..clock import utcnow
from ..errors import AuthenticationFailed
from ..org.queries import get_person_by_uid, person_to_json
from .actions import authenticate, do_issue_token, do_log_out_everywhere, do_revoke_presented_token, do_revoke_token
from .queries import get_live_tokens, token_to_json
from . import current_roles

routes = ApiRoutes("auth")


@routes.post("/auth/token")
def issue_token():
    data = json_body()
    now = utcnow()
    person = authenticate(data.get("username"), data.get("password"), config=current_app.config, now=now,
                          address=request.remote_addr)
    token, expires = do_issue_token(person, hours=current_app.config["TOKEN_HOURS"], now=now)
    return jsonify({"token": token, "expires_at": expires.isoformat() + "Z"})


@routes.delete("/auth/token")
def revoke_presented_token():
    header = request.headers.get("Authorization", "")
    if header[:7].lower() != "bearer ":
        raise AuthenticationFailed(_("请在 Authorization 头中提供要吊销的令牌。"), code="no_token")
    do_revoke_presented_token(header[7:].strip(), now=utcnow())
    return "", 204


@routes.get("/auth/tokens")
def tokens():
    person = require_user()
    return jsonify({"items": [token_to_json(t) for t in get_live_tokens(person, now=utcnow())]})


@routes.delete("/auth/tokens/<int:token_id>")
def revoke_token(token_id: int):
    acting_user = require_user()
    do_revoke_token(token_id, acting_user=acting_user, roles=current_roles(), now=utcnow())
    return "", 204


@routes.post("/org/people/<uid>/logout-everywhere")
def logout_everywhere(uid: str):
    acting_user = require_user()
    target = get_person_by_uid(uid)
    sessions, tokens_revoked = do_log_out_everywhere(target, acting_user=acting_user, roles=current_roles(),
                                                     now=utcnow())
    return jsonify({"uid": target.uid, "sessions_revoked": sessions, "tokens_revoked": tokens_revoked})


@routes.get("/me")
def me():
    person = require_user()
    data = person_to_json(person, detail=True)
    data["role_codes"] = sorted(current_roles())
    from ..delegation.queries import active_for_person

    data["delegations"] = active_for_person(person, utcnow())
    return jsonify(data)


routes.document(paths={
    "/auth/token": {"post": op("Exchange a directory login for a bearer token", auth=False, body={
        "type": "object", "required": ["username", "password"],
        "properties": {"username": {"type": "string"}, "password": {"type": "string"}}},
        errors=(400, 401, 422, 429, 503)),
        "delete": op("Revoke the bearer token this request presents", ok="204", errors=(401,))},
    "/auth/tokens": {"get": op("The caller's live tokens: [{id, created_at, expires_at}] (never the token)")},
    "/auth/tokens/{id}": {"delete": op("Revoke one of the caller's tokens (administrators: anyone's)", ok="204",
                                       params=[path_param("id")], errors=(400, 401, 404))},
    "/org/people/{uid}/logout-everywhere": {"post": op(
        "End every browser session and API token of a person (system administrators, or the person)",
        params=[path_param("uid")], errors=(400, 401, 403, 404))},
    "/me": {"get": op("The logged-in person with agency, department, roles and delegations")},
})
