"""Start ``flask --app wsgi scheduler run`` as a real subprocess on a test app's database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.support.app import ROOT

__all__ = ["start_scheduler", "wait_for"]


def start_scheduler(app, log: Path, *args: str, **environ: str) -> subprocess.Popen:
    """A scheduler process on ``app``'s database with ``app``'s channel settings, writing its
    output to ``log``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IA_")}
    env.update({"IA_DATABASE_URL": str(app.config["SQLALCHEMY_DATABASE_URI"]), "IA_SECRET_KEY": "test-secret",
                "IA_SCHEDULER": "on", "PYTHONPATH": str(ROOT)})
    for key, setting in (("SMTP_URL", "IA_SMTP_URL"), ("WEBHOOK_URL", "IA_WEBHOOK_URL"), ("BASE_URL", "IA_BASE_URL")):
        if app.config.get(key):
            env[setting] = app.config[key]
    env.update(environ)
    out = open(log, "ab")
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "run", *args],
                            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_for(condition, timeout: float = 30.0, what: str = "condition") -> None:
    """Poll ``condition`` until it holds (a subprocess works at its own pace); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
