"""``/api/v1/notifications``: the caller's in-app notifications, marking them read, and their
notification preferences."""

from __future__ import annotations

from flask import jsonify, request

from ..api import ApiRoutes, json_body, paging, require_user
from ..api.openapi import op, path_param
from ..clock import utcnow
from .actions import do_mark_all_read, do_mark_read, do_set_preferences, get_preference
from .queries import count_unread, get_notifications, notification_to_json, preference_to_json

routes = ApiRoutes("notify")


@routes.get("/notifications")
def list_notifications():
    me = require_user()
    limit, offset = paging()
    unread_only = request.args.get("unread") in ("1", "true")
    rows, total = get_notifications(me, unread_only=unread_only, limit=limit, offset=offset)
    return jsonify({"items": [notification_to_json(r) for r in rows], "total": total, "unread": count_unread(me)})


@routes.post("/notifications/<int:notification_id>/read")
def read_notification(notification_id: int):
    me = require_user()
    return jsonify(notification_to_json(do_mark_read(notification_id, acting_user=me, now=utcnow())))


@routes.post("/notifications/read")
def read_all_notifications():
    me = require_user()
    return jsonify({"marked": do_mark_all_read(acting_user=me, now=utcnow())})


@routes.get("/me/notification-preferences")
def get_notification_preferences():
    me = require_user()
    return jsonify(preference_to_json(get_preference(me.id)))


@routes.put("/me/notification-preferences")
def set_notification_preferences():
    me = require_user()
    return jsonify(preference_to_json(do_set_preferences(json_body(), acting_user=me, now=utcnow())))


_PREFS = {"type": "object", "properties": {
    "mail": {"type": "boolean"}, "chat": {"type": "boolean"},
    "quiet_start": {"type": ["string", "null"], "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
    "quiet_end": {"type": ["string", "null"], "pattern": "^[0-2][0-9]:[0-5][0-9]$"}}}

routes.document(paths={
    "/notifications": {"get": op("My in-app notifications, newest first", params=[
        {"name": "unread", "in": "query", "schema": {"type": "string", "enum": ["1", "true"]}},
        {"name": "page", "in": "query", "schema": {"type": "integer"}},
        {"name": "per_page", "in": "query", "schema": {"type": "integer"}}])},
    "/notifications/{id}/read": {"post": op("Mark one notification read", params=[path_param("id")])},
    "/notifications/read": {"post": op("Mark all my notifications read")},
    "/me/notification-preferences": {
        "get": op("My channels and quiet hours"),
        "put": op("Set my channels and quiet hours (chat pushes wait out quiet hours unless urgent)", body=_PREFS),
    },
})
