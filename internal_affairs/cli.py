"""``flask --app wsgi …`` commands. Each prints what it did and exits non-zero on failure."""

from __future__ import annotations

from pathlib import Path

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


def _print_run(run) -> None:
    click.echo(f"sync run #{run.id}: {run.status} ({run.mode}{', dry run' if run.dry_run else ''}) from {run.source}")
    click.echo(f"  people in directory: {run.people_seen}")
    counts = run.counts or {}
    click.echo("  changes: " + (", ".join(f"{k}={v}" for k, v in counts.items()) if counts else "none"))
    plan = run.plan or {}
    for w in plan.get("warnings", []):
        click.echo(f"  warning: {w['message']}")
    for r in plan.get("refusals", []):
        click.echo(f"  guard: {r['message']}")
    for problem in (run.errors or [])[:20]:
        click.echo(f"  problem: {problem}")


def _fail(exc: DomainError) -> None:
    raise click.ClickException(str(exc.message))


@org_cli.command("load-ldif")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show the plan without applying it.")
@click.option("--force", is_flag=True, help="Apply even if a safety guard refuses.")
@click.option("--base-dn", default=None, help="Base DN of the export (default: IA_LDAP_BASE_DN or the demo's).")
def load_ldif(file: Path, dry_run: bool, force: bool, base_dn: str | None) -> None:
    """Sync the org chart from an LDIF export."""
    from .org.actions import do_sync

    try:
        run = do_sync(acting_user=None, config=current_app.config, now=utcnow(), source=file,
                      base_dn=base_dn, dry_run=dry_run, force=force)
    except DomainError as exc:
        _fail(exc)
    _print_run(run)


@org_cli.command("sync")
@click.option("--dry-run", is_flag=True, help="Show the plan without applying it.")
@click.option("--full", is_flag=True, help="Read the whole directory instead of the changes since the last run.")
@click.option("--force", is_flag=True, help="Apply even if a safety guard refuses.")
def sync(dry_run: bool, full: bool, force: bool) -> None:
    """Sync the org chart from the configured directory (IA_LDAP_*)."""
    from .org.actions import do_sync

    try:
        run = do_sync(acting_user=None, config=current_app.config, now=utcnow(), source="ldap",
                      dry_run=dry_run, full=full, force=force)
    except DomainError as exc:
        _fail(exc)
    _print_run(run)


@audit_cli.command("verify")
def audit_verify() -> None:
    """Recompute the audit hash chain; exit 1 at the first broken link."""
    from .audit.actions import verify_chain
    from .sqlite import write_intent

    with write_intent(False):  # only reads: writers of the embedded file go on meanwhile
        report = verify_chain()
    if not report.ok:
        raise click.ClickException(f"audit chain broken at event #{report.first_bad} ({report.checked} verified before it)")
    click.echo(f"audit chain intact: {report.checked} events verified")


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
            do_set_local_password(person, password, actor=None, now=now)
    db.session.commit()
    click.echo(f"local passwords set for {len(people)} people (log in with IA_LOCAL_LOGIN=on)")
    if not current_app.config.get("LOCAL_LOGIN"):
        click.echo("note: IA_LOCAL_LOGIN is off, so these passwords are not accepted until it is on")


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


def register_cli(app: Flask) -> None:
    app.cli.add_command(matters_cli)
    app.cli.add_command(org_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(demo_cli)

