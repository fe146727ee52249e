"""``/api/v1/auth/token``, ``/api/v1/auth/tokens``, ``/api/v1/me`` and ending a person's sessions."""

from __future__ import annotations

from flask import current_app, jsonify, request
from flask_babel import gettext as _

from ..api import bp, json_body, require_user
from ..clock import utcnow
from ..errors import AuthenticationFailed
from ..org.queries import get_person_by_uid, person_to_json
from .actions import authenticate, do_issue_token, do_log_out_everywhere, do_revoke_presented_token, do_revoke_token
from .queries import get_live_tokens, token_to_json
from . import current_roles


@bp.post("/auth/token")
def issue_token():
    data = json_body()
    now = utcnow()
    person = authenticate(data.get("username"), data.get("password"), config=current_app.config, now=now,
                          address=request.remote_addr)
    token, expires = do_issue_token(person, hours=current_app.config["TOKEN_HOURS"], now=now)
    return jsonify({"token": token, "expires_at": expires.isoformat() + "Z"})


@bp.delete("/auth/token")
def revoke_presented_token():
    header = request.headers.get("Authorization", "")
    if header[:7].lower() != "bearer ":
        raise AuthenticationFailed(_("请在 Authorization 头中提供要吊销的令牌。"), code="no_token")
    do_revoke_presented_token(header[7:].strip(), now=utcnow())
    return "", 204


@bp.get("/auth/tokens")
def tokens():
    person = require_user()
    return jsonify({"items": [token_to_json(t) for t in get_live_tokens(person, now=utcnow())]})


@bp.delete("/auth/tokens/<int:token_id>")
def revoke_token(token_id: int):
    actor = require_user()
    do_revoke_token(token_id, acting_user=actor, roles=current_roles(), now=utcnow())
    return "", 204


@bp.post("/org/people/<uid>/logout-everywhere")
def logout_everywhere(uid: str):
    actor = require_user()
    target = get_person_by_uid(uid)
    sessions, tokens_revoked = do_log_out_everywhere(target, acting_user=actor, roles=current_roles(), now=utcnow())
    return jsonify({"uid": target.uid, "sessions_revoked": sessions, "tokens_revoked": tokens_revoked})


@bp.get("/me")
def me():
    person = require_user()
    data = person_to_json(person, detail=True)
    data["role_codes"] = sorted(current_roles())
    data["delegations"] = []
    return jsonify(data)
