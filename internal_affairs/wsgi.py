"""WSGI entry point of an installed package: ``gunicorn internal_affairs.wsgi:app`` and
``flask --app internal_affairs.wsgi …`` (the repository's ``wsgi.py`` re-exports this ``app``)."""

import sys

from . import ConfigError, create_app

__all__ = ["app"]

try:
    app = create_app()
except ConfigError as exc:
    sys.stderr.write(f"configuration error: {exc}\n")
    raise SystemExit(2) from None
