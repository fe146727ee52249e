"""Run API calls at the same moment from threads (each with its own test client)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

__all__ = ["race"]


def race(app, calls):
    """``calls``: ``(method, path, headers, json_body)``; all start together behind a barrier.
    Returns ``[(status, json)]`` in the order of ``calls``."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        method, path, headers, body = call
        client = app.test_client()
        barrier.wait()
        response = client.open(path, method=method, headers=headers, json=body)
        return response.status_code, response.get_json()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))
