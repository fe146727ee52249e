"""WSGI entry point in a source checkout: ``gunicorn wsgi:app`` and ``flask --app wsgi …``.

An installed package is addressed as ``internal_affairs.wsgi`` (this file is not installed).
"""

from internal_affairs.wsgi import app

__all__ = ["app"]
