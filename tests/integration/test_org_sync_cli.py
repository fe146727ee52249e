"""``flask org load-ldif`` / ``org sync`` through Flask's CLI runner: the plan names every change,
guards first; ``--json`` prints the whole plan as JSON on stdout."""

from __future__ import annotations

import json

import pytest

from tests.support.app import DEMO_LDIF
from tests.support.ldif_edit import Directory


@pytest.fixture
def directory():
    return Directory.load(DEMO_LDIF)


def invoke(app, *args):
    return app.test_cli_runner().invoke(args=["org", "load-ldif", *map(str, args)])


def test_dry_run_names_who_leaves_and_what_changes_guards_first(app, directory, tmp_path):
    assert invoke(app, DEMO_LDIF).exit_code == 0
    directory.remove("guolei")
    directory.set("xujing", "title", "副科长")
    result = invoke(app, directory.write(tmp_path / "changed.ldif"), "--dry-run")
    out = result.output
    assert result.exit_code == 0, out
    assert "changes: person.deactivate=1, person.update=1" in out
    assert out.index("guards:") < out.index("changes:")
    assert "deactivations: 1 of 86 active people (1.2%, limit 10%)" in out
    assert "person.deactivate (1):\n    - guolei  郭磊  (区教育局 / 基础教育科/学前教育股)" in out
    assert "person.update (1):\n    - xujing  徐静  (区教育局 / 基础教育科)\n        title: 科员 → 副科长" in out


def test_long_plans_list_fifty_of_each_kind_and_count_the_rest(app):
    result = invoke(app, DEMO_LDIF, "--dry-run")
    assert result.exit_code == 0
    assert "person.create (86):" in result.output and "… and 36 more person.create" in result.output
    assert "group.create (99):" in result.output and "… and 49 more group.create" in result.output


def test_json_prints_the_whole_plan_and_nothing_else(app):
    result = invoke(app, DEMO_LDIF, "--dry-run", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["status"] == "planned" and data["dry_run"] is True
    plan = data["plan"]
    assert plan["counts"]["person.create"] == 86 == len([c for c in plan["changes"] if c["kind"] == "person"])
    xujing = next(c for c in plan["changes"] if c.get("uid") == "xujing")
    assert (xujing["name"], xujing["agency"], xujing["department"]) == ("徐静", "区教育局", "基础教育科")
    assert plan["fingerprint"] and plan["refusals"] == [] and plan["max_deactivate_ratio"] == 0.1


def test_a_refused_plan_prints_its_guards_and_fails(app, directory, tmp_path):
    assert invoke(app, DEMO_LDIF).exit_code == 0
    for uid in directory.people_uids()[40:60]:
        directory.remove(uid)
    shrunk = directory.write(tmp_path / "shrunk.ldif")
    result = invoke(app, shrunk)
    assert result.exit_code == 1
    assert "REFUSED [mass_deactivation]" in result.stdout and "安全检查" in result.stderr
    assert "person.deactivate (20):" in result.stdout
    refused = invoke(app, shrunk, "--json")
    assert refused.exit_code == 1
    data = json.loads(refused.stdout)
    assert data["error"]["code"] == "sync_refused" and data["run"]["status"] == "refused"
    assert data["plan"]["counts"]["person.deactivate"] == 20
