"""Loading the catalog versions matters; a case keeps the version it was submitted under."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select

from internal_affairs.cases.actions import do_create_case
from internal_affairs.clock import utcnow
from internal_affairs.extensions import db
from internal_affairs.matters.actions import CATALOG_DIR, do_load_catalog
from internal_affairs.matters.models import MatterVersion
from internal_affairs.matters.schema import CatalogError
from internal_affairs.org.queries import get_person_by_uid


def test_versions_and_cases_keep_theirs(demo_app, tmp_path):
    catalog = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, catalog)
    with demo_app.app_context():
        first = do_load_catalog(acting_user=None, now=utcnow(), directory=catalog)
        assert set(first.created) == {"leave", "business_trip", "overtime", "overseas_travel", "doc_outgoing",
                                      "doc_incoming"}
        again = do_load_catalog(acting_user=None, now=utcnow(), directory=catalog)
        assert again.created == () and again.updated == () and len(again.unchanged) == 6
        case = do_create_case("overtime", {"date": "2026-12-05", "hours": "3", "reason": "值班",
                                           "compensation": "none"}, applicant=get_person_by_uid("xujing"),
                              now=utcnow(), submit=True)
        path = catalog / "overtime.yaml"
        path.write_text(path.read_text(encoding="utf-8").replace("time_limit: 1\n", "time_limit: 2\n", 1), encoding="utf-8")
        changed = do_load_catalog(acting_user=None, now=utcnow(), directory=catalog)
        assert changed.updated == ("overtime",)
        versions = db.session.execute(select(MatterVersion.version).join(MatterVersion.matter_type)
                                      .where(MatterVersion.matter_type.has(code="overtime"))).scalars().all()
        assert sorted(versions) == [1, 2]
        assert db.session.get(type(case), case.id).matter_version.version == 1
        (catalog / "broken.yaml").write_text("code: x\n", encoding="utf-8")
        with pytest.raises(CatalogError) as info:
            do_load_catalog(acting_user=None, now=utcnow(), directory=catalog)
        assert "broken.yaml" in str(info.value)


def test_cli_loads_and_reports_a_broken_catalog(demo_app, tmp_path):
    runner = demo_app.test_cli_runner()
    result = runner.invoke(args=["matters", "load"])
    assert result.exit_code == 0 and "6 created" in result.output
    (tmp_path / "leave.yaml").write_text("code: leave\nname: 请假\n", encoding="utf-8")
    result = runner.invoke(args=["matters", "load", "--dir", str(tmp_path)])
    assert result.exit_code == 1 and "catalog not loaded" in result.output and "leave.yaml: .basis" in result.output
