"""``flask --app wsgi …`` commands. Each prints what it did and exits non-zero on failure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from .clock import utcnow
from .errors import DomainError
from .extensions import db

__all__ = ["register_cli"]

org_cli = AppGroup("org", help="Org chart: directory sync and LDIF import.")
audit_cli = AppGroup("audit", help="The tamper-evident audit log.")
demo_cli = AppGroup("demo", help="The demo installation.")


def _print_run(run, plan: dict[str, Any] | None = None) -> None:
    """The run, then its plan: guards first, then every change (``plan``: the whole plan when
    known, else the one the run stored)."""
    from org_sync.report import plan_lines

    click.echo(f"sync run #{run.id}: {run.status} ({run.mode}{', dry run' if run.dry_run else ''}) from {run.source}")
    click.echo(f"  people in directory: {run.people_seen}")
    plan = plan if plan is not None else (run.plan or {})
    if plan:
        for line in plan_lines(plan):
            click.echo(f"  {line}")
    else:
        click.echo("  changes: none")
    for problem in (run.errors or [])[:20]:
        click.echo(f"  problem: {problem}")


def _run_sync(json_output: bool, **kwargs: Any) -> None:
    """Run :func:`do_sync`, print the run and its whole plan (as text, or as JSON on stdout).
    A refused or failed sync prints what it can, then exits non-zero."""
    from .org.actions import do_sync
    from .org.api import run_to_json
    from .org.models import SyncRun

    captured: dict[str, Any] = {}

    def keep(plan) -> None:
        captured["plan"] = plan.to_dict() | {"fingerprint": plan.fingerprint()}

    try:
        run = do_sync(acting_user=None, config=current_app.config, now=utcnow(), on_plan=keep, **kwargs)
    except DomainError as exc:
        run_id = (exc.details or {}).get("run_id")
        run = db.session.get(SyncRun, run_id) if run_id else None
        if json_output:
            click.echo(json.dumps({"error": {"code": exc.code, "message": str(exc.message)},
                                   "run": run_to_json(run, with_plan=False) if run else None,
                                   "plan": captured.get("plan")}, ensure_ascii=False, indent=2))
        elif run is not None and "plan" in captured:
            _print_run(run, captured["plan"])
        _fail(exc)
    if json_output:
        click.echo(json.dumps(run_to_json(run, with_plan=False) | {"plan": captured.get("plan", run.plan)},
                              ensure_ascii=False, indent=2))
    else:
        _print_run(run, captured.get("plan"))


def _fail(exc: DomainError) -> None:
    """End the command with the service's (Chinese) message and the fields it names."""
    fields = "; ".join(f"{name}: {why}" for name, why in (exc.fields or {}).items())
    raise click.ClickException(str(exc.message) + (f" ({fields})" if fields else "")) from None


@org_cli.command("load-ldif")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show the plan without applying it.")
@click.option("--force", is_flag=True, help="Apply even if a safety guard refuses.")
@click.option("--base-dn", default=None, help="Base DN of the export (default: IA_LDAP_BASE_DN or the demo's).")
@click.option("--json", "json_output", is_flag=True, help="Print the run and its whole plan as JSON.")
def load_ldif(file: Path, dry_run: bool, force: bool, base_dn: str | None, json_output: bool) -> None:
    """Sync the org chart from an LDIF export."""
    _run_sync(json_output, source=file, base_dn=base_dn, dry_run=dry_run, force=force)


@org_cli.command("sync")
@click.option("--dry-run", is_flag=True, help="Show the plan without applying it.")
@click.option("--full", is_flag=True, help="Read the whole directory instead of the changes since the last run.")
@click.option("--force", is_flag=True, help="Apply even if a safety guard refuses.")
@click.option("--json", "json_output", is_flag=True, help="Print the run and its whole plan as JSON.")
def sync(dry_run: bool, full: bool, force: bool, json_output: bool) -> None:
    """Sync the org chart from the configured directory (IA_LDAP_*)."""
    _run_sync(json_output, source="ldap", dry_run=dry_run, full=full, force=force)


@audit_cli.command("verify")
@click.option("--json", "json_output", is_flag=True, help="Print the report as JSON.")
def audit_verify(json_output: bool) -> None:
    """Recompute the audit hash chain and check it against the signed checkpoints and the anchor
    file; exit 1 at the first problem."""
    from .audit.queries import verify_trail
    from .sqlite import write_intent

    with write_intent(False):  # only reads: writers of the embedded file go on meanwhile
        try:
            report = verify_trail()
        except DomainError as exc:
            _fail(exc)
    if json_output:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    for problem in report.problems:
        click.echo(f"problem: {problem.message}", err=True)
    if not report.ok:
        where = f"at event #{report.first_bad} " if report.first_bad is not None else ""
        raise click.ClickException(f"audit trail broken {where}({report.checked} verified before it; "
                                   f"checkpoints_ok={report.checkpoints_ok})")
    if not json_output:
        checkpoints = "no checkpoints yet" if report.checkpoints_ok is None else "checkpoints agree"
        click.echo(f"audit chain intact: {report.checked} events verified, {checkpoints}")


@audit_cli.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the chain's head with the audit key (IA_AUDIT_KEY_FILE or IA_AUDIT_PKCS11_*), store it and append it to
    IA_AUDIT_ANCHOR_FILE."""
    from .audit.actions import do_checkpoint

    try:
        row = do_checkpoint(acting_user=None, now=utcnow())
    except DomainError as exc:
        _fail(exc)
    click.echo(f"checkpoint #{row.id}: event #{row.seq} {row.hash} signed ({row.algorithm}, key {row.key_id[:16]})")


@demo_cli.command("seed")
@click.option("--password", default="demo1234", show_default=True, help="Local password for every demo person.")
def demo_seed(password: str) -> None:
    """Give every person a local password (only honoured with IA_LOCAL_LOGIN=on)."""
    from .auth.actions import do_set_local_password
    from .org.models import Person

    people = db.session.execute(select(Person).where(Person.active.is_(True))).scalars().all()
    if not people:
        raise click.ClickException("no people yet: run `flask org load-ldif demo/district.ldif` first")
    now = utcnow()
    for person in people:
        if person.local_password_hash is None:
            do_set_local_password(person, password, acting_user=None, now=now)
    db.session.commit()
    click.echo(f"local passwords set for {len(people)} people (log in with IA_LOCAL_LOGIN=on)")
    seeded = _seed_document_series(now)
    if seeded:
        click.echo(f"document number series set for {seeded} agencies")
    if not current_app.config.get("LOCAL_LOGIN"):
        click.echo("note: IA_LOCAL_LOGIN is off, so these passwords are not accepted until it is on")


DEMO_SERIES = {"区领导": ("政发", "嘉政发"), "区纪委": ("纪发", "嘉禾纪发"), "区委组织部": ("组发", "嘉禾组发"),
               "区教育局": ("教发", "嘉禾教发"), "区财政局": ("财发", "嘉禾财发"), "区卫生健康局": ("卫健发", "嘉禾卫健发")}
"""The demo agencies' 代字 and default series (the real ones are set per agency by an administrator)."""


def _seed_document_series(now) -> int:
    from .documents.actions import do_set_series
    from .documents.models import DocumentSeries
    from .org.models import Agency

    seeded = 0
    for agency in db.session.execute(select(Agency).where(Agency.name.in_(list(DEMO_SERIES)))).scalars().all():
        if db.session.execute(select(DocumentSeries.id).where(DocumentSeries.agency_id == agency.id)).first():
            continue
        code, prefix = DEMO_SERIES[agency.name]
        do_set_series(agency, code, prefix, acting_user=None, now=now, is_default=True)
        seeded += 1
    return seeded


documents_cli = AppGroup("documents", help="Official documents (公文).")


@documents_cli.command("series")
@click.argument("agency")
@click.argument("code")
@click.argument("prefix")
@click.option("--default", "is_default", is_flag=True, help="Make it the agency's default series.")
def documents_series(agency: str, code: str, prefix: str, is_default: bool) -> None:
    """Set AGENCY's (name or id) document number prefix for series CODE, e.g. 区委组织部 组发 嘉禾组发."""
    from .documents.actions import do_set_series
    from .org.models import Agency

    query = select(Agency).where(Agency.id == int(agency)) if agency.isdigit() else select(Agency).where(
        Agency.name == agency)
    row = db.session.execute(query).scalar_one_or_none()
    if row is None:
        raise click.ClickException(f"no agency {agency!r}")
    try:
        series = do_set_series(row, code, prefix, acting_user=None, now=utcnow(), is_default=is_default)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"{row.name}: series {series.code} → {series.prefix}〔year〕N号{' (default)' if series.is_default else ''}")


matters_cli = AppGroup("matters", help="The matter catalog.")


@matters_cli.command("load")
@click.option("--dir", "directory", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Catalog folder (default: internal_affairs/matters/catalog).")
def matters_load(directory: Path | None) -> None:
    """Validate the catalog YAML and version every changed matter into the database."""
    from .matters.actions import CATALOG_DIR, do_load_catalog
    from .matters.schema import CatalogError

    try:
        report = do_load_catalog(acting_user=None, now=utcnow(), directory=directory or CATALOG_DIR)
    except CatalogError as exc:
        raise click.ClickException(f"catalog not loaded:\n{exc}")
    click.echo(f"matters: {len(report.created)} created {list(report.created)}, "
               f"{len(report.updated)} new versions {list(report.updated)}, {len(report.unchanged)} unchanged")


scheduler_cli = AppGroup("scheduler", help="The one scheduler process (outbox delivery, time limits).")


@scheduler_cli.command("run")
@click.option("--once", is_flag=True, help="Run each job once (if no other scheduler holds the lease) and exit.")
@click.option("--deliver-seconds", type=click.FloatRange(0.1, 3600), default=10.0, show_default=True,
              help="How often the outbox is delivered.")
@click.option("--scan-seconds", type=click.FloatRange(1, 86400), default=60.0, show_default=True,
              help="How often time limits are scanned.")
@click.option("--lease-seconds", type=click.FloatRange(1, 3600), default=30.0, show_default=True,
              help="How long the scheduler's lease lasts without renewal.")
@click.option("--holder", default=None, help="This process's name in the lease (default host:pid).")
def scheduler_run(once: bool, deliver_seconds: float, scan_seconds: float, lease_seconds: float,
                  holder: str | None) -> None:
    """Run the scheduler: only one process at a time does the work (a database lease). A host
    runs it only with ``IA_SCHEDULER=on``, so that a web host started with the wrong command
    never becomes one."""
    from .jobs.scheduler import SchedulerOptions, default_holder, run_scheduler

    if not current_app.config.get("SCHEDULER"):
        raise click.ClickException("IA_SCHEDULER is off on this host: set IA_SCHEDULER=on in the environment of "
                                   "the one scheduler process (web workers never run one)")

    options = SchedulerOptions(holder=holder or default_holder(), deliver_seconds=deliver_seconds,
                               scan_seconds=scan_seconds, lease_seconds=lease_seconds, once=once)
    code = run_scheduler(current_app._get_current_object(), options)
    if code:
        raise SystemExit(code)


seals_cli = AppGroup("seals", help="Electronic seals: the demo CA, importing seals, the registry.")


@seals_cli.command("init-demo")
@click.option("--force", is_flag=True, help="Retire the agencies' current seals and make new demo ones.")
@click.option("--crl-url", default=None, help="CRL distribution point written into the seal certificates.")
def seals_init_demo(force: bool, crl_url: str | None) -> None:
    """A demo CA under IA_SEAL_DIR and a 审批专用章 and a 公文用章 per agency (marked 演示 DEMO)."""
    from .seals.demo import init_demo_seals
    from .seals.queries import seal_dir

    directory = seal_dir()
    report = init_demo_seals(directory, now=utcnow(), force=force, crl_url=crl_url)
    if not report.created and not report.kept:
        raise click.ClickException("no agencies yet: run `flask org load-ldif demo/district.ldif` first")
    click.echo(f"demo seals: {len(report.created)} created, {len(report.kept)} already in force; "
               f"seal directory {directory}")
    if report.root:
        click.echo(f"trust root (demo CA): {report.root}")


@seals_cli.command("import")
@click.option("--agency", required=True, help="The agency's name (or id).")
@click.option("--purpose", required=True, type=click.Choice(["审批专用章", "电子印章", "公文用章"]))
@click.option("--name", default=None, help="The seal's name (default: agency + purpose).")
@click.option("--pkcs12", "pkcs12_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A PKCS#12 file with the key and certificate.")
@click.option("--pkcs11-module", default=None, help="The PKCS#11 library (e.g. /usr/lib/softhsm/libsofthsm2.so).")
@click.option("--token-label", default=None, help="The PKCS#11 token's label.")
@click.option("--key-label", default=None, help="The key's (and certificate's) label on the token.")
@click.option("--secret-name", required=True,
              help="Name of the secret with the password or PIN: an environment variable, else the file "
                   "<IA_SEAL_DIR>/secrets/<name>.")
@click.option("--keeper-role", default="seal_keeper", show_default=True)
def seals_import(agency: str, purpose: str, name: str | None, pkcs12_path: Path | None, pkcs11_module: str | None,
                 token_label: str | None, key_label: str | None, secret_name: str, keeper_role: str) -> None:
    """Register a seal whose key is in a PKCS#12 file or on a PKCS#11 token (its certificate is
    read from there and checked by loading the key)."""
    from .seals.actions import check_import_seal

    try:
        seal = check_import_seal(agency=agency, purpose=purpose, name=name, pkcs12_path=pkcs12_path,
                                 pkcs11_module=pkcs11_module, token_label=token_label, key_label=key_label,
                                 secret_name=secret_name, keeper_role=keeper_role, now=utcnow())
    except DomainError as exc:
        _fail(exc)
    click.echo(f"seal #{seal.id} registered: {seal.name} ({seal.purpose}), certificate serial "
               f"{seal.certificate_serial}, {seal.subject}")


@seals_cli.command("list")
def seals_list() -> None:
    """Every seal in the registry, with its state."""
    from .seals.queries import get_seals

    now = utcnow()
    seals = get_seals()
    for seal in seals:
        state = "in force" if seal.active_from <= now and (seal.active_until is None or seal.active_until > now) \
            else "retired" if seal.active_until and seal.active_until <= now else "not yet"
        key = seal.pkcs12_path if seal.key_kind == "pkcs12" else f"pkcs11 token {seal.token_label}/{seal.key_label}"
        click.echo(f"#{seal.id}\t{seal.agency.name}\t{seal.purpose}\t{state}\tserial {seal.certificate_serial}\t{key}")
    click.echo(f"{len(seals)} seals")


def register_cli(app: Flask) -> None:
    app.cli.add_command(scheduler_cli)
    app.cli.add_command(matters_cli)
    app.cli.add_command(org_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(seals_cli)
    app.cli.add_command(documents_cli)

