"""org_sync.ldap_reader against a real slapd (see tests/services/conftest.py)."""

from __future__ import annotations

import collections
import time
from collections.abc import Callable

import ldap
import ldap.dn
import pytest

from org_sync.ldap_reader import (
    LdapSettings,
    check_password,
    connect,
    dn_key,
    find_user_dn,
    read_full,
    read_incremental,
)
from org_sync.model import DirEntry, SyncSourceError
from tests.support.directory import GeneratedDirectory, GenPerson, build_directory, generate_directory
from tests.support.slapd import SlapdServer, start_bulk_directory

pytestmark = pytest.mark.slapd

Factory = Callable[..., SlapdServer]


def reader_settings(server: SlapdServer, base_dn: str | None = None, **kwargs: object) -> LdapSettings:
    return LdapSettings(server.uri, base_dn or server.suffix, server.reader_dn, server.reader_password,
                        **kwargs)  # type: ignore[arg-type]


def by_id(entries: tuple[DirEntry, ...] | list[DirEntry]) -> dict[str, DirEntry]:
    return {e.entry_id: e for e in entries}


def record_ids(directory: GeneratedDirectory) -> set[str]:
    return {dict(attrs)["entryUUID"] for _, attrs in directory.records}


def plain_staff(directory: GeneratedDirectory) -> list[GenPerson]:
    """科员 who are in no group (so changing them touches nothing else)."""
    members = {m for ms in directory.groups.values() for m in ms}
    return [p for p in directory.people_of_kind("staff") if p.dn not in members]


def parent_dn(dn: str) -> str:
    return ldap.dn.dn2str(ldap.dn.str2dn(dn)[1:])


# ---- full read --------------------------------------------------------------------------------


def test_full_read_pages_past_the_500_limit_as_non_root(slapd: SlapdServer, ldap_sandbox: str) -> None:
    directory = build_directory(1200, base_dn=ldap_sandbox)
    slapd.add_ldif(directory.to_ldif())
    settings = reader_settings(slapd, ldap_sandbox, page_size=100)

    result = read_full(settings)

    assert result.complete and result.cookie is None
    assert len(result.entries) == len(directory.records) > 1500
    assert {e.entry_id for e in result.entries} == record_ids(directory)
    kinds = collections.Counter(
        "ou" if "organizationalunit" in e.object_classes
        else "person" if "inetorgperson" in e.object_classes
        else "group" for e in result.entries
    )
    assert kinds["person"] == 1200
    assert kinds["group"] == len(directory.groups)
    assert all(dn_key(e.dn) != dn_key(ldap_sandbox) for e in result.entries), "base entry is not returned"

    # attributes arrive decoded, keys lower-cased, DNs comparable with str2dn
    entries = by_id(result.entries)
    head = directory.people_of_kind("dept_head")[3]
    got = entries[head.entry_uuid]
    assert dn_key(got.dn) == dn_key(head.dn)
    assert got.first("uid") == head.uid
    assert got.first("cn") == head.name and got.first("displayName") == head.name
    assert got.first("title") == head.title and got.first("employeetype") == head.rank
    assert got.first("mail") == head.mail and got.first("mobile") == head.mobile
    assert head.manager is not None
    assert dn_key(got.first("manager") or "") == dn_key(head.manager.dn)
    assert "userpassword" not in got.attrs
    group_dn, members = next(iter(directory.groups.items()))
    group = next(e for e in result.entries if dn_key(e.dn) == dn_key(group_dn))
    assert sorted(map(dn_key, group.attrs["member"])) == sorted(map(dn_key, members))
    assert "groupofnames" in group.object_classes


def test_full_read_of_a_bulk_loaded_directory(slapd_factory: Factory) -> None:
    directory = build_directory(3000, seed=7)
    server = slapd_factory(directory.to_ldif())
    result = read_full(reader_settings(server, page_size=500))
    assert {e.entry_id for e in result.entries} == record_ids(directory)


def test_start_bulk_directory_helper(slapd: SlapdServer) -> None:
    # (the session server is requested only so that a missing slapd skips/fails like the rest)
    server, directory = start_bulk_directory(600, seed=3)
    try:
        result = read_full(reader_settings(server))
        assert {e.entry_id for e in result.entries} == record_ids(directory)
        assert sum("inetorgperson" in e.object_classes for e in result.entries) == 600
    finally:
        server.stop()


def test_missing_base_dn_is_a_source_error(slapd: SlapdServer) -> None:
    settings = reader_settings(slapd, f"ou=不存在,{slapd.suffix}")
    with pytest.raises(SyncSourceError, match="does not exist"):
        read_full(settings)
    with pytest.raises(SyncSourceError, match="does not exist"):
        read_incremental(settings, None)


@pytest.mark.parametrize("page_size", [20, 100])
def test_size_limit_is_a_source_error_never_partial_data(slapd: SlapdServer, ldap_sandbox: str,
                                                         page_size: int) -> None:
    slapd.add_ldif(generate_directory(60, base_dn=ldap_sandbox))
    limited = LdapSettings(slapd.uri, ldap_sandbox, slapd.limited_dn, slapd.limited_password,
                           page_size=page_size)
    with pytest.raises(SyncSourceError, match="size limit"):
        read_full(limited)
    assert len(read_full(reader_settings(slapd, ldap_sandbox, page_size=page_size)).entries) > slapd.limited_size


def test_bad_credentials_and_unreachable_server(slapd: SlapdServer) -> None:
    with pytest.raises(SyncSourceError, match="invalid credentials"):
        read_full(LdapSettings(slapd.uri, slapd.suffix, slapd.reader_dn, "wrong"))
    with pytest.raises(SyncSourceError, match="no password"):
        read_full(LdapSettings(slapd.uri, slapd.suffix, slapd.reader_dn, ""))
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(SyncSourceError, match="unreachable"):
        read_full(LdapSettings(f"ldap://127.0.0.1:{port}", slapd.suffix, slapd.reader_dn, "x", timeout=2))


def test_anonymous_read_sees_nothing_and_says_so(slapd: SlapdServer) -> None:
    # the ACLs give anonymous no read access: the base is invisible, which must not look empty
    with pytest.raises(SyncSourceError, match="does not exist"):
        read_full(LdapSettings(slapd.uri, slapd.suffix))


def test_chinese_and_escaped_dns_round_trip(slapd: SlapdServer, ldap_sandbox: str) -> None:
    agency_dn = ldap.dn.dn2str([[("ou", "区教育局", 1)]] + ldap.dn.str2dn(ldap_sandbox))
    dept_name = "办公室,信息科+档案室 #1"
    dept_dn = ldap.dn.dn2str([[("ou", dept_name, 1)]] + ldap.dn.str2dn(agency_dn))
    person_dn = ldap.dn.dn2str([[("uid", "zhangsan", 1)]] + ldap.dn.str2dn(dept_dn))
    slapd.add(agency_dn, {"objectClass": ["organizationalUnit"], "ou": "区教育局"})
    slapd.add(dept_dn, {"objectClass": ["organizationalUnit"], "ou": dept_name})
    slapd.add(person_dn, {"objectClass": ["inetOrgPerson"], "uid": "zhangsan", "cn": "张三", "sn": "张",
                          "manager": person_dn})

    entries = read_full(reader_settings(slapd, ldap_sandbox)).entries
    dept = next(e for e in entries if e.first("ou") == dept_name)
    person = next(e for e in entries if e.first("uid") == "zhangsan")
    assert dn_key(dept.dn) == dn_key(dept_dn)
    assert ldap.dn.str2dn(dept.dn)[0][0][1] == dept_name
    assert dn_key(person.dn) == dn_key(person_dn)
    assert dn_key(person.first("manager") or "") == dn_key(person_dn)
    assert person.first("cn") == "张三"
    # the server's spelling may differ from ours (e.g. \2C vs \,): only parsed forms compare
    assert ldap.dn.str2dn(person.dn) == ldap.dn.str2dn(person_dn)


# ---- incremental ------------------------------------------------------------------------------


def _four_changes(server: SlapdServer, directory: GeneratedDirectory) -> dict[str, object]:
    """Modify, rename, move and delete four different plain 科员; returns what was done."""
    staff = plain_staff(directory)
    modified, renamed, moved, deleted = staff[0], staff[1], staff[2], staff[3]
    server.replace(modified.dn, title="副科长", mobile="13900000000")
    renamed_dn = server.modrdn(renamed.dn, f"uid={renamed.uid}x")
    agency = next(a for a in directory.agencies if a.name == moved.agency)
    target = next(d for d in agency.departments if d.name not in (moved.department, "领导班子"))
    moved_dn = server.modrdn(moved.dn, f"uid={moved.uid}", new_superior=target.dn)
    server.delete(deleted.dn)
    return {
        "modified": modified, "renamed": renamed, "renamed_dn": renamed_dn,
        "moved": moved, "moved_dn": moved_dn, "deleted": deleted,
    }


def test_incremental_content_sync_reports_exact_changes(slapd_factory: Factory) -> None:
    directory = build_directory(80, seed=11)
    server = slapd_factory(directory.to_ldif())
    settings = reader_settings(server, page_size=50)

    first = read_incremental(settings, None)
    assert first.complete
    assert first.cookie and first.cookie.startswith("syncrepl:")
    assert {e.entry_id for e in first.entries} == record_ids(directory)

    nothing = read_incremental(settings, first.cookie)
    assert not nothing.complete and nothing.entries == () and nothing.deleted_ids == frozenset()

    done = _four_changes(server, directory)
    second = read_incremental(settings, first.cookie)
    assert not second.complete
    assert second.cookie and second.cookie != first.cookie
    got = by_id(second.entries)
    modified, renamed, moved, deleted = (done[k] for k in ("modified", "renamed", "moved", "deleted"))
    assert set(got) == {modified.entry_uuid, renamed.entry_uuid, moved.entry_uuid}  # type: ignore[union-attr]
    assert got[modified.entry_uuid].first("title") == "副科长"  # type: ignore[union-attr]
    assert got[modified.entry_uuid].first("mobile") == "13900000000"  # type: ignore[union-attr]
    assert dn_key(got[renamed.entry_uuid].dn) == dn_key(done["renamed_dn"])  # type: ignore[union-attr,arg-type]
    assert got[renamed.entry_uuid].first("uid") == f"{renamed.uid}x"  # type: ignore[union-attr]
    assert dn_key(got[moved.entry_uuid].dn) == dn_key(done["moved_dn"])  # type: ignore[union-attr,arg-type]
    assert second.deleted_ids == frozenset({deleted.entry_uuid})  # type: ignore[union-attr]
    assert second.present_ids is None  # deletions came from the session log

    again = read_incremental(settings, second.cookie)
    assert again.entries == () and again.deleted_ids == frozenset() and not again.complete


def test_incremental_present_phase_after_provider_restart(slapd_factory: Factory) -> None:
    directory = build_directory(60, seed=5)
    server = slapd_factory(directory.to_ldif())
    settings = reader_settings(server)
    first = read_incremental(settings, None)
    known = {e.entry_id for e in first.entries}
    staff = plain_staff(directory)
    server.delete(staff[0].dn)
    server.replace(staff[1].dn, title="副科长")
    server.restart()  # the session log is gone: the provider must fall back to a present phase

    second = read_incremental(settings, first.cookie, known_ids=known)
    assert not second.complete
    assert {e.entry_id for e in second.entries} == {staff[1].entry_uuid}
    assert second.present_ids is not None
    assert staff[0].entry_uuid not in second.present_ids
    assert second.present_ids == known - {staff[0].entry_uuid}
    assert second.deleted_ids == frozenset({staff[0].entry_uuid})

    blind = read_incremental(settings, first.cookie)  # without known_ids only present_ids tells
    assert blind.present_ids == second.present_ids


@pytest.mark.parametrize("how", ["rename", "move"])
def test_incremental_with_an_ou_change_returns_a_full_read(slapd_factory: Factory, how: str) -> None:
    directory = build_directory(60, seed=2)
    server = slapd_factory(directory.to_ldif())
    settings = reader_settings(server)
    first = read_incremental(settings, None)
    bureau = directory.agencies[3]
    dept = next(d for d in bureau.departments if d.name != "领导班子")
    if how == "rename":
        new_dept_dn = server.modrdn(dept.dn, "ou=综合人事科")
    else:
        new_dept_dn = server.modrdn(dept.dn, "ou=派驻科", new_superior=directory.agencies[4].dn)

    second = read_incremental(settings, first.cookie)
    assert second.complete, "an OU change must give a full read"
    assert second.cookie and second.cookie != first.cookie
    got = by_id(second.entries)
    assert set(got) == record_ids(directory)
    for person in dept.people:
        assert dn_key(parent_dn(got[person.entry_uuid].dn)) == dn_key(new_dept_dn)

    third = read_incremental(settings, second.cookie)
    assert not third.complete and third.entries == ()


def test_incremental_csn_fallback_with_id_sweep(slapd_factory: Factory) -> None:
    directory = build_directory(80, seed=13)
    server = slapd_factory(directory.to_ldif())
    settings = reader_settings(server, incremental="csn", page_size=30)
    # one page is one consistent server snapshot, so its cookie is exact (several pages step the
    # cookie back by the read's duration: see test_csn_cookie_* in the unit tests)
    first = read_incremental(reader_settings(server, incremental="csn", page_size=1000), None)
    assert first.complete and first.cookie and first.cookie.startswith("csn:")
    known = {e.entry_id for e in first.entries}
    assert known == record_ids(directory)

    done = _four_changes(server, directory)
    second = read_incremental(settings, first.cookie, known_ids=known)
    assert not second.complete
    got = by_id(second.entries)
    modified, renamed, moved, deleted = (done[k] for k in ("modified", "renamed", "moved", "deleted"))
    assert set(got) == {modified.entry_uuid, renamed.entry_uuid, moved.entry_uuid}  # type: ignore[union-attr]
    assert dn_key(got[moved.entry_uuid].dn) == dn_key(done["moved_dn"])  # type: ignore[union-attr,arg-type]
    assert second.present_ids == known - {deleted.entry_uuid}  # type: ignore[union-attr]
    assert second.deleted_ids == frozenset({deleted.entry_uuid})  # type: ignore[union-attr]

    third = read_incremental(settings, second.cookie, known_ids=second.present_ids)
    assert third.entries == () and third.deleted_ids == frozenset()


def test_foreign_or_garbage_cookie_gives_a_full_read(slapd: SlapdServer, ldap_sandbox: str) -> None:
    slapd.add_ldif(generate_directory(20, base_dn=ldap_sandbox))
    settings = reader_settings(slapd, ldap_sandbox)
    for cookie in ("garbage", "csn:not-a-csn", "usn:abc:12"):
        result = read_incremental(settings, cookie)
        assert result.complete and result.cookie and result.cookie.startswith("syncrepl:")


# ---- login ------------------------------------------------------------------------------------


def test_login_by_bind(slapd: SlapdServer, ldap_sandbox: str) -> None:
    directory = build_directory(40, base_dn=ldap_sandbox, with_passwords=True)
    slapd.add_ldif(directory.to_ldif())
    settings = reader_settings(slapd, ldap_sandbox)
    person = directory.people_of_kind("staff")[0]

    dn = find_user_dn(settings, person.uid)
    assert dn is not None and dn_key(dn) == dn_key(person.dn)
    assert check_password(settings, dn, person.password) is True
    assert check_password(settings, dn, person.password + "x") is False
    assert check_password(settings, dn, "") is False  # never an unauthenticated (anonymous) bind
    assert check_password(settings, "", person.password) is False
    assert check_password(settings, "not a dn", person.password) is False
    assert find_user_dn(settings, "nobody-here") is None
    assert find_user_dn(settings, "") is None


@pytest.mark.parametrize("hostile", ["*)(uid=*", "*", "*)", ")(objectClass=*", "zhang*", "*)(|(uid=*",
                                     "\\2a", "a\x00b", "(uid=*)"])
def test_hostile_login_values_find_nobody(slapd: SlapdServer, ldap_sandbox: str, hostile: str) -> None:
    slapd.add_ldif(generate_directory(30, base_dn=ldap_sandbox, with_passwords=True))
    assert find_user_dn(reader_settings(slapd, ldap_sandbox), hostile) is None


def test_login_with_a_duplicated_uid_is_refused(slapd: SlapdServer, ldap_sandbox: str) -> None:
    for ou in ("甲", "乙"):
        dn = f"ou={ou},{ldap_sandbox}"
        slapd.add(dn, {"objectClass": ["organizationalUnit"], "ou": ou})
        slapd.add(f"uid=twin,{dn}", {"objectClass": ["inetOrgPerson"], "uid": "twin", "cn": "双", "sn": "双"})
    assert find_user_dn(reader_settings(slapd, ldap_sandbox), "twin") is None


# ---- timeouts and TLS -----------------------------------------------------------------------


def test_frozen_server_gives_source_error_within_the_timeout(slapd_factory: Factory) -> None:
    directory = build_directory(30, with_passwords=True)
    server = slapd_factory(directory.to_ldif())
    settings = reader_settings(server, timeout=1.5)
    person = directory.people_of_kind("staff")[0]

    conn = connect(settings)
    assert conn.get_option(ldap.OPT_TIMEOUT) == pytest.approx(1.5)
    assert conn.get_option(ldap.OPT_NETWORK_TIMEOUT) == pytest.approx(1.5)
    with server.frozen():
        for call in (lambda: read_full(settings), lambda: read_incremental(settings, None),
                     lambda: find_user_dn(settings, person.uid),
                     lambda: check_password(settings, person.dn, person.password)):
            started = time.monotonic()
            with pytest.raises(SyncSourceError, match="did not answer within 1.5 s"):
                call()
            assert time.monotonic() - started < 15, "a frozen server must not hang the reader"
        with pytest.raises(ldap.TIMEOUT):  # an already bound connection times out too
            conn.search_s(server.suffix, ldap.SCOPE_BASE)
    conn.unbind_s()
    assert len(read_full(settings).entries) == len(directory.records)


def test_starttls(slapd: SlapdServer, ldap_sandbox: str) -> None:
    slapd.add_ldif(generate_directory(20, base_dn=ldap_sandbox))
    good = reader_settings(slapd, ldap_sandbox, starttls=True, tls_cacertfile=slapd.ca_file)
    assert len(read_full(good).entries) > 20
    untrusted = reader_settings(slapd, ldap_sandbox, starttls=True, tls_cacertfile="/etc/ssl/certs/ca-certificates.crt")
    with pytest.raises(SyncSourceError, match="TLS"):
        read_full(untrusted)


# ---- the generator --------------------------------------------------------------------------


def test_generated_directory_follows_the_conventions() -> None:
    directory = build_directory(1200)
    assert generate_directory(1200) == directory.to_ldif(), "deterministic per seed"
    assert generate_directory(1200, seed=2) != directory.to_ldif()
    people = directory.people
    assert len(people) == 1200
    assert len({p.uid for p in people}) == 1200 and all(p.uid.isascii() for p in people)
    assert len({p.entry_uuid for p in people}) == 1200
    names = [a.name for a in directory.agencies]
    assert names[:3] == ["区领导", "区纪委", "区委组织部"] and "区教育局" in names and "区财政局" in names
    titles = collections.Counter(p.title for p in people)
    assert titles["区委书记"] == 1 and titles["区长"] == 1 and titles["副区长"] >= 2
    assert all(members for members in directory.groups.values())
    group_cns = collections.Counter(ldap.dn.str2dn(dn)[0][0][1] for dn in directory.groups)
    for code in ("hr", "doc_clerk", "seal_keeper", "auditor", "主要领导"):
        assert group_cns[code] == len(directory.agencies)
    assert group_cns["discipline_review"] == 1 and group_cns["cadre_management"] == 1
    assert group_cns["分管领导"] > len(directory.agencies)
    # manager chain: 科员 -> 科长 -> 副局长 -> 局长 -> 副区长 -> 区长 -> 区委书记
    bureau_staff = next(p for p in people if p.kind == "staff" and p.agency == "区教育局")
    chain = []
    current: GenPerson | None = bureau_staff
    while current is not None:
        chain.append(current.title)
        current = current.manager
    assert chain == ["科员", "科长", "副局长", "局长", "副区长", "区长", "区委书记"]
    leaders = [p for p in people if p.kind in ("principal", "deputy") and p.agency not in ("区纪委", "区委组织部")]
    assert all(p.cadre_category == "区管干部" for p in leaders)
    assert {p.rank for p in people} <= {"一级科员", "四级主任科员", "副科", "正科", "副处", "正处"}


def test_generator_scales_to_50000_people() -> None:
    directory = build_directory(50_000, with_passwords=True)
    assert len(directory.people) == 50_000
    assert len({p.uid for p in directory.people}) == 50_000
    assert len(directory.agencies) > 100


def test_generator_rejects_too_small_sizes() -> None:
    with pytest.raises(ValueError, match="too small"):
        build_directory(5)
