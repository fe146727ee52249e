"""The load generator of ``bench/cases.py``: a separate process that fires HTTP requests at
127.0.0.1 from a pool of threads (stdlib ``http.client`` only) and reports each latency.

It reads one JSON job from stdin and prints one JSON result on stdout::

    {"port": 8123, "tokens": {"a": "Bearer …"},
     "lanes": [[req, …], …]            # one thread per lane, each runs its own requests in order
     or "queue": [req, …], "concurrency": 50,   # threads take the next request from one queue
     "warmup": [req, …]}               # run first with the same threads, not measured

    req = [method, path, token_key or null, json_body or null]

Result: ``latencies_ms`` (measured requests, in completion order), ``status`` counts, ``codes``
(``error.code`` of non-2xx JSON answers), ``wall_seconds`` (first start to last finish, all threads
released together), ``client_cpu_seconds``. Every request is bounded: a 60 s socket timeout, and
the job is a fixed list. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from collections import Counter

HOST = "127.0.0.1"
TIMEOUT = 60.0


class Client:
    """One connection, kept alive when the server allows it (gunicorn's sync workers close after
    each answer; ``http.client`` then opens a new one for the next request)."""

    def __init__(self, port: int, tokens: dict[str, str]):
        self.port = port
        self.tokens = tokens
        self.conn = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT)

    def send(self, req) -> tuple[int, bytes]:
        method, path, token, body = req
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = self.tokens[token]
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            self.conn.request(method, path, body=payload, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except Exception:
            self.conn.close()  # never retried: the next request opens a fresh connection
            raise
        if response.will_close:
            self.conn.close()
        return response.status, data


def _code(status: int, data: bytes) -> str | None:
    if status < 300:
        return None
    try:
        return str(json.loads(data)["error"]["code"])
    except Exception:  # noqa: BLE001 - a non-JSON error page
        return "non_json"


def run(job: dict) -> dict:
    port, tokens = job["port"], job.get("tokens", {})
    if "lanes" in job:
        lanes = job["lanes"]
        threads = len(lanes)
    else:
        threads = int(job["concurrency"])
        lanes = None
    queue = job.get("queue", [])
    warmup = job.get("warmup", [])
    clients = [Client(port, tokens) for _ in range(threads)]
    results: list[tuple[float, int, str | None]] = []
    lock = threading.Lock()
    cursor = {"warm": 0, "main": 0}
    start_barrier = threading.Barrier(threads + 1)
    warm_barrier = threading.Barrier(threads + 1)
    failures: list[str] = []

    def take(kind: str, items: list):
        with lock:
            i = cursor[kind]
            if i >= len(items):
                return None
            cursor[kind] = i + 1
            return items[i]

    def one(client: Client, req, record: bool) -> None:
        started = time.perf_counter()
        try:
            status, data = client.send(req)
        except Exception as exc:  # noqa: BLE001 - reported, never retried
            status, data = 0, b""
            with lock:
                failures.append(f"{type(exc).__name__}: {exc}"[:200])
        elapsed = (time.perf_counter() - started) * 1000
        if record:
            code = _code(status, data) if status else "connection_error"
            with lock:
                results.append((elapsed, status, code))

    def worker(index: int) -> None:
        client = clients[index]
        while (req := take("warm", warmup)) is not None:
            one(client, req, False)
        warm_barrier.wait()
        start_barrier.wait()
        if lanes is not None:
            for req in lanes[index]:
                one(client, req, True)
        else:
            while (req := take("main", queue)) is not None:
                one(client, req, True)

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for t in pool:
        t.start()
    warm_barrier.wait()
    cpu0 = time.process_time()
    start_barrier.wait()
    t0 = time.perf_counter()
    for t in pool:
        t.join()
    wall = time.perf_counter() - t0
    return {
        "latencies_ms": [round(r[0], 3) for r in results],
        "status": dict(Counter(str(r[1]) for r in results)),
        "codes": dict(Counter(r[2] for r in results if r[2])),
        "wall_seconds": wall,
        "client_cpu_seconds": time.process_time() - cpu0,
        "threads": threads,
        "failures": failures[:10],
    }


if __name__ == "__main__":
    print(json.dumps(run(json.load(sys.stdin))))
