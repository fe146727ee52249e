"""Default deputies seeded from the directory's ``secretary`` attribute (SQLite and PostgreSQL):
the sync follows the directory for a deputy it seeded and never overrides one set by hand."""

from __future__ import annotations

import pytest

from internal_affairs.clock import utcnow
from internal_affairs.extensions import db
from internal_affairs.org.actions import do_set_default_deputy, do_sync
from internal_affairs.org.queries import get_person_by_uid
from tests.support.app import BASE_DN, DEMO_LDIF
from tests.support.ldif_edit import Directory


def sync(app, path):
    with app.app_context():
        return do_sync(acting_user=None, config=app.config, now=utcnow(), source=path, base_dn=BASE_DN).status


def deputy(app, uid):
    with app.app_context():
        person = get_person_by_uid(uid)
        return (person.default_deputy.uid if person.default_deputy else None), person.default_deputy_source


@pytest.fixture
def directory():
    return Directory.load(DEMO_LDIF)


def test_the_secretary_attribute_seeds_and_follows(app, directory, tmp_path):
    assert sync(app, DEMO_LDIF) == "applied"
    assert deputy(app, "zhangwei") == ("yangfan", "directory")
    assert deputy(app, "wangguodong") == ("lixiaohong", "directory")
    assert deputy(app, "xujing") == (None, None)
    directory.set("zhangwei", "secretary", directory.dn_of("sunhao"))
    sync(app, directory.write(tmp_path / "changed.ldif"))
    assert deputy(app, "zhangwei") == ("sunhao", "directory")
    directory.set("zhangwei", "secretary")
    sync(app, directory.write(tmp_path / "gone.ldif"))
    assert deputy(app, "zhangwei") == (None, None)


def test_a_deputy_set_by_hand_is_never_overridden(app, directory, tmp_path):
    sync(app, DEMO_LDIF)
    with app.app_context():
        zhang = get_person_by_uid("zhangwei")
        do_set_default_deputy(zhang, get_person_by_uid("huting"), acting_user=zhang, roles=set(), now=utcnow())
    assert deputy(app, "zhangwei") == ("huting", "manual")
    sync(app, DEMO_LDIF)
    assert deputy(app, "zhangwei") == ("huting", "manual")
    directory.set("zhangwei", "secretary")
    sync(app, directory.write(tmp_path / "gone.ldif"))
    assert deputy(app, "zhangwei") == ("huting", "manual")
    with app.app_context():
        wang = get_person_by_uid("wangguodong")
        do_set_default_deputy(wang, None, acting_user=wang, roles=set(), now=utcnow())
        db.session.commit()
    sync(app, DEMO_LDIF)
    assert deputy(app, "wangguodong") == (None, "manual"), "cleared by hand stays cleared"


def test_an_unknown_secretary_is_reported_not_applied(app, directory, tmp_path):
    directory.set("xujing", "secretary", "uid=nobody,ou=基础教育科,ou=区教育局,dc=jiahe,dc=gov,dc=cn")
    with app.app_context():
        run = do_sync(acting_user=None, config=app.config, now=utcnow(),
                      source=directory.write(tmp_path / "bad.ldif"), base_dn=BASE_DN)
        assert any("secretary of xujing" in e for e in run.errors)
    assert deputy(app, "xujing") == (None, None)
