"""WSGI entry point: ``gunicorn wsgi:app`` and ``flask --app wsgi …``."""

import sys

from internal_affairs import ConfigError, create_app

try:
    app = create_app()
except ConfigError as exc:
    sys.stderr.write(f"configuration error: {exc}\n")
    raise SystemExit(2) from None
