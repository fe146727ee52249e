"""``bench/cases.py``, part 4: the tools of measuring: gunicorn on a free loopback port, the
CPU its processes and PostgreSQL's backends use, the load generator (``bench/_load.py``), latency
summaries, and an in-process counter of SQL statements with ``EXPLAIN (ANALYZE, BUFFERS)``."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from _cases_setup import BIN, ROOT, conninfo, process_environ


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    def __init__(self, url: str, workers: int, logdir: Path, threads: int = 1):
        self.port = free_port()
        self.log = logdir / "gunicorn.log"
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "-w", str(workers), "--threads", str(threads), "-b", f"127.0.0.1:{self.port}", "--error-logfile",
             str(self.log), "wsgi:app"], cwd=ROOT, env=process_environ(url), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                status, _ = self.request("GET", "/healthz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit("gunicorn did not answer /healthz within 60 s")

    def request(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Accept": "application/json"}
        payload = None
        if body is not None:
            payload, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        if token:
            headers["Authorization"] = token
        try:
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # the master stops its own workers
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the process group this script started
                self.proc.wait(timeout=10)


def _cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used, from /proc (0 for one that is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU used by the server (gunicorn's master and workers) and by PostgreSQL (the backends
    connected to the benchmark's database) between two samples, read from /proc."""

    def __init__(self, gunicorn: Gunicorn, url: str):
        self.master, self.url = gunicorn.proc.pid, url

    def _server_pids(self) -> list[int]:
        pids = [self.master]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == self.master:
                        pids.append(int(entry.name))
                except (OSError, IndexError, ValueError):
                    continue
        return pids

    def _backend_pids(self) -> list[int]:
        import psycopg

        with psycopg.connect(conninfo(self.url), autocommit=True) as conn:
            return [row[0] for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]

    def sample(self) -> dict[str, dict[int, float]]:
        return {"server": {pid: _cpu_seconds(pid) for pid in self._server_pids()},
                "postgres": {pid: _cpu_seconds(pid) for pid in self._backend_pids()}}

    def per_request_ms(self, before: dict, requests: int) -> dict[str, float]:
        """Milliseconds of CPU per request since ``before``, over ``requests`` requests (backends
        that connected meanwhile count from zero)."""
        after = self.sample()
        return {side: round(sum(cpu - before[side].get(pid, 0.0) for pid, cpu in after[side].items())
                            / requests * 1000, 3) for side in ("server", "postgres")}


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summarize(result: dict, statements: int | None = None) -> dict:
    lat = sorted(result["latencies_ms"])
    n = len(lat)
    out = {
        "requests": n, "clients": result["threads"],
        "p50_ms": round(percentile(lat, 50), 2), "p95_ms": round(percentile(lat, 95), 2),
        "p99_ms": round(percentile(lat, 99), 2), "max_ms": round(lat[-1], 2) if lat else None,
        "mean_ms": round(sum(lat) / n, 2) if n else None,
        "requests_per_second": round(n / result["wall_seconds"], 1) if result["wall_seconds"] else None,
        "status": result["status"],
    }
    if result["codes"]:
        out["error_codes"] = result["codes"]
    if statements is not None:
        out["sql_statements_per_request"] = statements
    out["load_generator_cpu_seconds"] = round(result["client_cpu_seconds"], 2)
    if result["failures"]:
        out["transport_failures"] = result["failures"]
    return out


def load(port: int, tokens: dict[str, str], *, queue=None, lanes=None, concurrency: int = 1, warmup=()) -> dict:
    job = {"port": port, "tokens": tokens, "warmup": list(warmup)}
    if lanes is not None:
        job["lanes"] = lanes
    else:
        job["queue"], job["concurrency"] = list(queue), concurrency
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "_load.py")], input=json.dumps(job),
                            capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise SystemExit(f"load generator failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout)


class StatementCounter:
    """Counts (and times) every statement the app sends, in-process."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.items: list[dict] = []
        self.active = False
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        if self.active:
            conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        if self.active:
            ms = (time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())) * 1000
            self.items.append({"sql": statement, "params": parameters, "ms": ms, "many": executemany})

    def measure(self, fn):
        self.items, self.active = [], True
        started = time.perf_counter()
        try:
            response = fn()
        finally:
            self.active = False
        return response, (time.perf_counter() - started) * 1000, list(self.items)


def explain(statement: dict) -> dict:
    """EXPLAIN (ANALYZE, BUFFERS) of one captured statement, in a transaction rolled back."""
    from internal_affairs.extensions import db

    from sqlalchemy.exc import DBAPIError

    out = {"sql": " ".join(statement["sql"].split())[:1500], "ms_in_request": round(statement["ms"], 2)}
    with db.engine.connect() as conn:
        trans = conn.begin()
        try:
            rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement["sql"], statement["params"]).all()
            out["plan"] = [r[0] for r in rows]
        except DBAPIError as exc:  # e.g. re-running an INSERT hits its unique keys
            out["plan_error"] = str(exc.orig).splitlines()[0]
        finally:
            trans.rollback()
    return out


def mmm(values: list) -> list:
    values = sorted(values)
    return [values[0], values[len(values) // 2], values[-1]] if values else []


def short(sql: str, n: int = 160) -> str:
    return " ".join(sql.split())[:n]
