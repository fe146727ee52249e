"""机关内部“最多跑一次”: the Flask application factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from flask import Flask, request, session

from .config import ConfigError, load_config
from .extensions import babel, csrf, db, login_manager, migrate
from .sqlite import configure_sqlite

__all__ = ["create_app", "ConfigError"]

PACKAGE_DIR = Path(__file__).resolve().parent
ROOT = PACKAGE_DIR.parent
LOCALES = ("zh", "en")


def _resource_dir(name: str) -> Path:
    """``templates``, ``static`` or ``migrations``: inside the package where a built wheel puts
    them (setup.py), else beside it, where a source checkout keeps them (DESIGN.md §2)."""
    packaged = PACKAGE_DIR / name
    return packaged if packaged.is_dir() else ROOT / name


def _installed() -> bool:
    """Whether this is an installed package rather than a source checkout."""
    return (PACKAGE_DIR / "templates").is_dir()


def _select_locale() -> str:
    from flask import current_app, has_request_context

    if not has_request_context():
        return current_app.config.get("BABEL_DEFAULT_LOCALE", "zh")
    chosen = request.args.get("lang") or session.get("lang")
    if chosen in LOCALES:
        return chosen
    default = current_app.config.get("BABEL_DEFAULT_LOCALE", "zh")
    header = request.accept_languages.best_match(LOCALES) if request.args.get("negotiate") else None
    return header or default


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application. ``config`` (tests) overrides what the ``IA_`` environment says.

    Raises :class:`ConfigError` naming the variable when a setting is unknown or malformed.
    """
    installed = _installed()
    # a source checkout keeps instance/ and .env in the project root; an installed package uses
    # Flask's instance folder (<prefix>/var/internal_affairs-instance) and the working directory's .env
    instance_path = (config or {}).get("INSTANCE_PATH") or (None if installed else str(ROOT / "instance"))
    app = Flask(
        __name__,
        instance_path=instance_path,
        template_folder=str(_resource_dir("templates")),
        static_folder=str(_resource_dir("static")),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    environ = (config or {}).get("ENVIRON")
    dotenv_path = Path.cwd() / ".env" if installed else ROOT / ".env"
    app.config.update(load_config(app.instance_path, environ=environ,
                                  dotenv_path=None if environ is not None else dotenv_path))
    app.config.update(
        BABEL_DEFAULT_TIMEZONE="Asia/Shanghai",
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        JSON_AS_ASCII=False,
    )
    if config:
        app.config.update({k: v for k, v in config.items() if k not in ("ENVIRON", "INSTANCE_PATH")})
    app.json.ensure_ascii = False
    app.json.sort_keys = False  # answers keep the order they are built in (id first), and skip a sort

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_resource_dir("migrations")))
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    with app.app_context():
        configure_sqlite(app, db.engine)

    from . import models  # noqa: F401  (registers every table on the metadata)
    from .errors import register_error_handlers
    from .http_security import setup_http_security
    from .auth import setup as auth_setup
    from .web import bp as web_bp
    from .org.views import bp as org_bp
    from .matters.views import bp as matters_bp
    from .calendar.views import bp as calendar_bp
    from .cases.views import bp as cases_bp
    from .delegation.views import bp as delegation_bp
    from .audit.views import bp as audit_bp
    from .auth.views import bp as auth_bp
    from .notify.views import bp as notify_bp
    from .seals.views import bp as seals_bp
    from .documents.views import bp as documents_bp
    from .api import create_api_blueprint
    from .auth import api as auth_api
    from .org import api as org_api
    from .matters import api as matters_api
    from .calendar import api as calendar_api
    from .cases import api as cases_api, api_attachments
    from .delegation import api as delegation_api
    from .notify import api as notify_api
    from .audit import api as audit_api
    from .stats import api as stats_api
    from .stats.views import bp as stats_bp
    from .seals import api as seals_api
    from .documents import api as documents_api
    from .cli import register_cli
    from . import inputs

    register_error_handlers(app)
    inputs.init_app(app)  # before any blueprint: its ``int`` converter bounds every route's ids
    setup_http_security(app)
    auth_setup(app)
    app.register_blueprint(web_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(org_bp)
    app.register_blueprint(matters_bp)
    app.register_blueprint(calendar_bp)
    app.register_blueprint(cases_bp)
    app.register_blueprint(delegation_bp)
    app.register_blueprint(notify_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(stats_bp)
    app.register_blueprint(seals_bp)
    app.register_blueprint(documents_bp)
    # each domain brings its own API routes and OpenAPI fragment
    api_bp = create_api_blueprint([auth_api.routes, org_api.routes, matters_api.routes, calendar_api.routes,
                                   cases_api.routes, api_attachments.routes, delegation_api.routes,
                                   notify_api.routes, audit_api.routes, stats_api.routes, seals_api.routes,
                                   documents_api.routes])
    app.register_blueprint(api_bp)
    csrf.exempt(api_bp)
    register_cli(app)

    from flask_babel import get_locale

    app.jinja_env.globals["get_locale"] = get_locale
    from .cases.timelimits import register_template_helpers

    register_template_helpers(app)
    app.jinja_env.filters["tr"] = _translate_stored
    return app


def _translate_stored(text: str | None) -> str | None:
    """Show a note stored in the platform's language in the reader's language where a
    translation exists (no %-formatting: stored text is data)."""
    from flask_babel import gettext

    return gettext(text) if text else text
