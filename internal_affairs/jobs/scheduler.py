"""The one scheduler process: APScheduler with its SQLAlchemy job store on the app's database,
started only while this process holds the lease (:mod:`.lease`).

The main thread takes the lease (or waits for it), frees the outbox claims a dead predecessor
left, starts a :class:`BackgroundScheduler` with the jobs, and renews the lease every third of
its time to live. Each job asks for the lease again before acting, so a process that was paused
past its lease (and replaced) does nothing when it wakes; losing the lease stops the scheduler
and the process goes back to waiting. Web workers never import this module's runner.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from flask import Flask

from ..clock import utcnow
from ..extensions import db
from .lease import acquire_lease, get_lease, release_lease

__all__ = ["SchedulerOptions", "run_scheduler", "bind", "lease_lost", "deliver_outbox_job", "scan_time_limits_job", "seal_records_job", "sync_org_job"]


@dataclass(frozen=True)
class SchedulerOptions:
    holder: str
    deliver_seconds: float = 10.0
    scan_seconds: float = 60.0
    checkpoint_minutes: float = 60.0
    seal_seconds: float = 5.0
    lease_seconds: float = 30.0
    once: bool = False


_state: dict[str, object] = {}
"""The running process's app and options, for the jobs the job store names by reference."""


def bind(app: Flask, options: SchedulerOptions) -> None:
    """Make ``app`` and ``options`` the ones this process's jobs run with."""
    _state.update(app=app, options=options, lost=False)


def lease_lost() -> bool:
    """Whether a job found the lease held by someone else since :func:`bind`."""
    return bool(_state.get("lost"))


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _holding() -> bool:
    """Take or renew the lease now; remembers until when (on this process's monotonic clock) it
    holds, for :func:`_lease_fresh`."""
    options: SchedulerOptions = _state["options"]  # type: ignore[assignment]
    asked = time.monotonic()
    held = acquire_lease(options.holder, now=utcnow(), ttl=timedelta(seconds=options.lease_seconds))
    if held:
        _state["lease_until"] = asked + options.lease_seconds
    return held


def _lease_fresh() -> bool:
    """Whether the lease last renewed is still safely ours — asked before each message is sent,
    so a process paused past its lease (whose claims a successor may have freed) sends nothing
    more when it wakes up. A margin of a third of the lease (at most 5 s) absorbs clock skew."""
    options: SchedulerOptions = _state["options"]  # type: ignore[assignment]
    margin = min(5.0, options.lease_seconds / 3)
    return time.monotonic() < float(_state.get("lease_until", 0.0)) - margin


def _in_app(job: Callable[[Flask, SchedulerOptions], None]) -> None:
    app: Flask = _state["app"]  # type: ignore[assignment]
    options: SchedulerOptions = _state["options"]  # type: ignore[assignment]
    with app.app_context():
        try:
            if not _holding():
                _state["lost"] = True
                return
            job(app, options)
        finally:
            db.session.remove()


def _deliver(app: Flask, options: SchedulerOptions) -> None:
    from ..notify.case_hooks import do_notify_new_tasks
    from ..notify.delivery import deliver_due

    told = do_notify_new_tasks(now=utcnow())
    if told:
        _log(f"new tasks: {told} notifications queued")

    report = deliver_due(config=app.config, holder=options.holder, now=utcnow, still_holding=_holding,
                         may_send=_lease_fresh,
                         claim=timedelta(seconds=max(60.0, options.lease_seconds * 2)))
    if report.sent or report.failed or report.dead:
        _log(f"outbox: {report.sent} sent, {report.failed} to retry, {report.dead} given up")


def _scan(app: Flask, options: SchedulerOptions) -> None:
    from ..cases.timelimits import scan_time_limits

    report = scan_time_limits(now=utcnow())
    if report.fired:
        _log(f"time limits: {report.fired} events fired")


def _sync(app: Flask, options: SchedulerOptions) -> None:
    from ..org.actions import do_sync

    from ..errors import DomainError

    try:
        run = do_sync(acting_user=None, config=app.config, now=utcnow(), source="ldap")
    except DomainError as exc:  # refused or failed: recorded as a sync run; the next interval tries again
        _log(f"org sync: {exc.message}")
        return
    _log(f"org sync: {run.status}")


def _checkpoint(app: Flask, options: SchedulerOptions) -> None:
    from ..audit.actions import do_checkpoint
    from ..errors import DomainError

    try:
        checkpoint = do_checkpoint(acting_user=None, now=utcnow())
    except DomainError as exc:  # e.g. the chain is still empty: the next hour tries again
        _log(f"audit checkpoint: {exc.message}")
        return
    _log(f"audit checkpoint: seq {checkpoint.seq}")


def audit_checkpoint_job() -> None:
    """Job: sign the audit chain's head (IA_AUDIT_KEY_FILE or IA_AUDIT_PKCS11_* set)."""
    _in_app(_checkpoint)


def _seal(app: Flask, options: SchedulerOptions) -> None:
    from ..seals.actions import seal_due_records

    report = seal_due_records(now=utcnow())
    if report.sealed or report.failed:
        _log(f"records: {report.sealed} sealed, {report.failed} failed (to retry)")


def deliver_outbox_job() -> None:
    """Job: deliver the due outbox rows."""
    _in_app(_deliver)


def seal_records_job() -> None:
    """Job: render and seal the queued records of finished cases (and retry the failed ones)."""
    _in_app(_seal)


def scan_time_limits_job() -> None:
    """Job: fire the due reminders, overdue marks and escalations."""
    _in_app(_scan)


def sync_org_job() -> None:
    """Job: sync the org chart from the directory (IA_SYNC_INTERVAL_MINUTES > 0)."""
    _in_app(_sync)


def _log(line: str) -> None:
    print(f"[{utcnow().isoformat(timespec='seconds')}Z] {line}", flush=True)


def _scheduler(app: Flask, options: SchedulerOptions):
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    with app.app_context():
        engine = db.engine
    scheduler = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(engine=engine)},
                                    job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
                                    timezone="UTC")
    scheduler.add_job("internal_affairs.jobs.scheduler:deliver_outbox_job", "interval", id="deliver_outbox",
                      seconds=options.deliver_seconds, replace_existing=True, next_run_time=utcnow_aware())
    scheduler.add_job("internal_affairs.jobs.scheduler:scan_time_limits_job", "interval", id="scan_time_limits",
                      seconds=options.scan_seconds, replace_existing=True, next_run_time=utcnow_aware())
    if app.config.get("AUDIT_KEY_FILE") or app.config.get("AUDIT_PKCS11_PIN"):
        scheduler.add_job("internal_affairs.jobs.scheduler:audit_checkpoint_job", "interval", id="audit_checkpoint",
                          minutes=options.checkpoint_minutes, replace_existing=True)
    scheduler.add_job("internal_affairs.jobs.scheduler:seal_records_job", "interval", id="seal_records",
                      seconds=options.seal_seconds, replace_existing=True, next_run_time=utcnow_aware())
    minutes = int(app.config.get("SYNC_INTERVAL_MINUTES") or 0)
    if minutes > 0 and app.config.get("LDAP_URI"):
        scheduler.add_job("internal_affairs.jobs.scheduler:sync_org_job", "interval", id="sync_org",
                          minutes=minutes, replace_existing=True)
    return scheduler


def _start_paused(scheduler) -> None:
    """Start ``scheduler`` paused with only the jobs :func:`_scheduler` added: a job an earlier
    run left in the job store that this configuration no longer wants (the checkpoint or sync
    job after its setting was turned off) is removed before anything runs. (Before ``start`` the
    scheduler sees only its pending jobs, not the store's.)"""
    wanted = {job.id for job in scheduler.get_jobs()}
    scheduler.start(paused=True)
    for job in scheduler.get_jobs():
        if job.id not in wanted:
            job.remove()


def utcnow_aware():
    from datetime import timezone

    return utcnow().replace(tzinfo=timezone.utc)


def run_scheduler(app: Flask, options: SchedulerOptions, stop: threading.Event | None = None) -> int:
    """Run until ``stop`` is set (SIGTERM and SIGINT set it): wait for the lease, run the jobs
    while holding it. With ``options.once``: run each job once if the lease is free, then exit
    (0 when they ran, 3 when another scheduler holds the lease)."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    bind(app, options)
    waiting_said = False
    while not stop.is_set():
        with app.app_context():
            held = _holding()
            if not held:
                lease = get_lease()
                db.session.remove()
                if options.once:
                    _log(f"scheduler {options.holder}: another scheduler holds the lease ({lease.holder}); nothing run")
                    return 3
                if not waiting_said:
                    _log(f"scheduler {options.holder}: waiting, the lease is held by {lease.holder} until {lease.expires_at}")
                    waiting_said = True
                stop.wait(max(0.2, options.lease_seconds / 3))
                continue
            from ..notify.delivery import release_claims

            freed = release_claims(options.holder)
            db.session.remove()
        waiting_said = False
        _log(f"scheduler {options.holder}: holding the lease" + (f"; freed {freed} claims of a predecessor" if freed else ""))
        if options.once:
            deliver_outbox_job()
            scan_time_limits_job()
            seal_records_job()
            with app.app_context():
                release_lease(options.holder)
                db.session.remove()
            return 0
        _state["lost"] = False
        scheduler = _scheduler(app, options)
        _start_paused(scheduler)
        scheduler.resume()
        try:
            while not stop.wait(max(0.2, options.lease_seconds / 3)):
                with app.app_context():
                    still = _holding()
                    db.session.remove()
                if not still or _state.get("lost"):
                    _log(f"scheduler {options.holder}: lost the lease; stopping the jobs")
                    break
        finally:
            scheduler.shutdown(wait=True)
        if stop.is_set():
            with app.app_context():
                release_lease(options.holder)
                db.session.remove()
            _log(f"scheduler {options.holder}: stopped")
    return 0
