"""``seals init-demo``: a demo CA under IA_SEAL_DIR and, per active agency, one 审批专用章 and one
公文用章 (certificate subjects marked 演示 DEMO), registered in the seal registry."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select

import signing

from ..extensions import db
from ..org.models import Agency
from .actions import do_register_seal
from .queries import TRUST_DIR, get_active_seals

__all__ = ["DEMO_PASSWORD", "DEMO_SECRET", "DemoReport", "init_demo_seals"]

DEMO_PASSWORD = b"demo"
DEMO_SECRET = "SEAL_DEMO_PASSWORD"
"""The secret name the demo seals' PKCS#12 password is kept under (``<IA_SEAL_DIR>/secrets/``)."""
DEMO_PURPOSES = ("审批专用章", "公文用章")


@dataclass
class DemoReport:
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    root: Path | None = None


def init_demo_seals(directory: Path, *, now: datetime, force: bool = False, crl_url: str | None = None) -> DemoReport:
    """Create the demo PKI under ``directory`` and register the missing demo seals of every active
    agency (``force``: retire the agencies' current seals of those purposes and make new ones).
    ``crl_url`` goes into the seal certificates (where the demo CA's CRL will be served), so that
    sealing with a TSA embeds revocation information (B-LT)."""
    agencies = list(db.session.execute(select(Agency).where(Agency.active.is_(True)).order_by(Agency.id)).scalars())
    report = DemoReport()
    stamp = now.replace(tzinfo=None)
    todo: list[tuple[Agency, str]] = []
    for agency in agencies:
        for purpose in DEMO_PURPOSES:
            current = get_active_seals(agency.id, purpose, stamp)
            if current and not force:
                report.kept.append(f"{agency.name} {purpose}")
                continue
            for seal in current:
                seal.active_until = stamp
            todo.append((agency, purpose))
    db.session.commit()
    if not todo:
        return report
    run = directory / "demo" / stamp.strftime("%Y%m%dT%H%M%S%f")
    pki = signing.make_demo_pki(run, [], password=DEMO_PASSWORD, now=now.replace(tzinfo=timezone.utc))
    trust = directory / TRUST_DIR
    trust.mkdir(parents=True, exist_ok=True)
    shutil.copy(pki.root_certificate_path, trust / f"demo-root-{run.name}.pem")
    secrets = directory / "secrets"
    secrets.mkdir(parents=True, exist_ok=True)
    (secrets / DEMO_SECRET).write_text(DEMO_PASSWORD.decode() + "\n", encoding="utf-8")
    (secrets / DEMO_SECRET).chmod(0o600)
    report.root = trust / f"demo-root-{run.name}.pem"
    for agency, purpose in todo:
        path = run / f"seal-{agency.id}-{'doc' if purpose == '公文用章' else 'approval'}.p12"
        der = signing.write_demo_seal_pkcs12(pki, agency.name, path, now=now.replace(tzinfo=timezone.utc),
                                             crl_url=crl_url)
        do_register_seal(name=f"{agency.name}{purpose}（{signing.DEMO_MARK}）", agency=agency, purpose=purpose,
                         certificate_der=der, key_kind="pkcs12", pkcs12_path=str(path.resolve()),
                         secret_name=DEMO_SECRET, active_from=stamp, acting_user=None, now=stamp)
        report.created.append(f"{agency.name} {purpose}")
    return report
