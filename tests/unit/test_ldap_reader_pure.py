"""Pure parts of org_sync.ldap_reader: AD ranged attributes, objectGUID, DN keys, settings."""

from __future__ import annotations

import uuid
from typing import Any

import ldap
import pytest

from org_sync import ldap_reader
from org_sync.ldap_reader import (
    LdapSettings,
    RangeAttr,
    default_login_attr,
    default_user_filter,
    dn_key,
    guid_to_str,
    parse_range_attr,
)
from org_sync.model import DirEntry, SyncSourceError

# ---- ranged attributes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("member;range=0-1499", RangeAttr("member", 0, 1499)),
        ("member;range=1500-2999", RangeAttr("member", 1500, 2999)),
        ("member;range=3000-*", RangeAttr("member", 3000, None)),
        ("member;Range=0-*", RangeAttr("member", 0, None)),
        ("Member;RANGE=10-19", RangeAttr("Member", 10, 19)),
        ("member;binary;range=0-9", RangeAttr("member", 0, 9)),
        ("msDS-Members;range=0-4", RangeAttr("msDS-Members", 0, 4)),
    ],
)
def test_parse_range_attr(name: str, expected: RangeAttr) -> None:
    assert parse_range_attr(name) == expected


@pytest.mark.parametrize("name", ["member", "cn", "member;binary", "userCertificate;binary"])
def test_parse_range_attr_without_range(name: str) -> None:
    assert parse_range_attr(name) is None


@pytest.mark.parametrize(
    "name",
    ["member;range=5-2", "member;range=a-b", "member;range=0-", "member;range=-5", "member;range=0-1;range=2-3",
     "member;range=0-1x", ";range=0-1"],
)
def test_parse_range_attr_malformed(name: str) -> None:
    with pytest.raises(ValueError):
        parse_range_attr(name)


def test_range_next_request() -> None:
    assert RangeAttr("member", 0, 1499).next_request() == "member;range=1500-*"
    assert not RangeAttr("member", 0, 1499).is_last
    assert RangeAttr("member", 1500, None).is_last
    with pytest.raises(ValueError):
        RangeAttr("member", 1500, None).next_request()


class FakeConn:
    """Serves AD-style ranged chunks of one group's member attribute."""

    def __init__(self, members: list[bytes], chunk: int) -> None:
        self.members = members
        self.chunk = chunk
        self.requests: list[str] = []

    def search_ext_s(self, dn: str, scope: int, filterstr: str, attrlist: list[str], **_: Any) -> list[Any]:
        assert scope == ldap.SCOPE_BASE
        (request,) = attrlist
        self.requests.append(request)
        rng = parse_range_attr(request)
        assert rng is not None and rng.end is None
        start = rng.start
        end = min(start + self.chunk, len(self.members)) - 1
        if end >= len(self.members) - 1:
            return [(dn, {f"member;range={start}-*": self.members[start:]})]
        return [(dn, {f"member;range={start}-{end}": self.members[start:end + 1]})]


def test_fetch_ranges_collects_every_chunk() -> None:
    members = [f"uid=u{i},ou=x,dc=example".encode() for i in range(3500)]
    conn = FakeConn(members, 1500)
    settings = LdapSettings.active_directory("ldap://127.0.0.1", "dc=example")
    raw = {"cn": [b"big"], "member;range=0-1499": members[:1500]}
    out = ldap_reader._fetch_ranges(conn, settings, "cn=big,dc=example", raw)
    assert out["member"] == members
    assert out["cn"] == [b"big"]
    assert conn.requests == ["member;range=1500-*", "member;range=3000-*"]


def test_fetch_ranges_final_chunk_needs_no_request() -> None:
    conn = FakeConn([], 10)
    settings = LdapSettings.active_directory("ldap://127.0.0.1", "dc=example")
    out = ldap_reader._fetch_ranges(conn, settings, "cn=g,dc=example", {"member;range=0-*": [b"a", b"b"]})
    assert out == {"member": [b"a", b"b"]} and conn.requests == []


def test_fetch_ranges_refuses_a_range_that_does_not_advance() -> None:
    class Stuck(FakeConn):
        def search_ext_s(self, dn: str, scope: int, filterstr: str, attrlist: list[str], **_: Any) -> list[Any]:
            return [(dn, {"member;range=0-9": [b"x"] * 10})]

    settings = LdapSettings.active_directory("ldap://127.0.0.1", "dc=example")
    with pytest.raises(SyncSourceError, match="does not advance"):
        ldap_reader._fetch_ranges(Stuck([], 10), settings, "cn=g,dc=example", {"member;range=0-9": [b"x"] * 10})


# ---- objectGUID ---------------------------------------------------------------------------------


def test_guid_to_str_uses_little_endian_fields() -> None:
    raw = bytes.fromhex("33221100554477668899aabbccddeeff")
    assert guid_to_str(raw) == "00112233-4455-6677-8899-aabbccddeeff"
    some = uuid.uuid4()
    assert guid_to_str(some.bytes_le) == str(some)


def test_guid_to_str_rejects_wrong_length() -> None:
    with pytest.raises(ValueError):
        guid_to_str(b"\x00" * 15)


def test_ad_entry_conversion() -> None:
    settings = LdapSettings.active_directory("ldap://127.0.0.1", "dc=example")
    guid = uuid.UUID("6f9619ff-8b86-d011-b42d-00c04fc964ff")
    entry = ldap_reader._to_entry(settings, "CN=张三,OU=办公室,DC=example", {
        "objectClass": [b"top", b"person", b"organizationalPerson", b"user"],
        "objectGUID": [guid.bytes_le],
        "sAMAccountName": [b"zhangsan"],
        "displayName": ["张三".encode()],
        "objectSid": [b"\x01\x05\x00"],
    })
    assert entry.entry_id == str(guid)
    assert entry.attrs["objectguid"] == [str(guid)]
    assert entry.first("samaccountname") == "zhangsan"
    assert entry.first("displayName") == "张三"
    assert "objectsid" not in entry.attrs
    assert entry.object_classes == frozenset({"top", "person", "organizationalperson", "user"})


def test_entry_without_id_or_with_bad_utf8_is_a_source_error() -> None:
    settings = LdapSettings("ldap://127.0.0.1", "dc=example")
    with pytest.raises(SyncSourceError, match="no entryUUID"):
        ldap_reader._to_entry(settings, "cn=x,dc=example", {"cn": [b"x"]})
    with pytest.raises(SyncSourceError, match="not valid UTF-8"):
        ldap_reader._to_entry(settings, "cn=x,dc=example", {"cn": [b"\xff"], "entryUUID": [str(uuid.uuid4()).encode()]})


# ---- DNs, references, settings ----------------------------------------------------------------


def test_dn_key_compares_parsed_dns() -> None:
    assert dn_key("ou=办公室\\2C信息科,ou=区教育局,dc=jiahe") == dn_key("OU=办公室\\,信息科, OU=区教育局, DC=JIAHE")
    assert dn_key("cn=a+uid=b,dc=x") == dn_key("uid=b+cn=a,dc=x")
    assert dn_key("ou=a,dc=x") != dn_key("ou=b,dc=x")
    assert dn_key("ou=\\E5\\8A\\9E\\E5\\85\\AC\\E5\\AE\\A4,dc=x") == dn_key("ou=办公室,dc=x")


def test_ad_application_partition_references_are_ignored_others_are_not() -> None:
    ad = LdapSettings.active_directory("ldap://127.0.0.1", "dc=corp,dc=example")
    ol = LdapSettings("ldap://127.0.0.1", "dc=corp,dc=example")
    dns_zones = ["ldap://DomainDnsZones.corp.example/DC=DomainDnsZones,DC=corp,DC=example"]
    other = ["ldap://other.example/OU=分局,DC=corp,DC=example"]
    assert ldap_reader._reference_ok(ad, dns_zones)
    assert not ldap_reader._reference_ok(ad, other)
    assert not ldap_reader._reference_ok(ol, dns_zones)


def test_settings_defaults_per_flavor() -> None:
    ol = LdapSettings("ldap://127.0.0.1:389", "dc=jiahe,dc=gov,dc=cn")
    assert ol.user_filter == "(objectClass=inetOrgPerson)" and ol.login_attr == "uid"
    assert ol.group_filter == "(objectClass=groupOfNames)" and ol.id_attr == "entryUUID"
    ad = LdapSettings("ldaps://dc1.example:636", "OU=嘉禾区,DC=example", flavor="ad")
    assert ad.user_filter == default_user_filter("ad") == "(&(objectCategory=person)(objectClass=user))"
    assert ad.login_attr == default_login_attr("ad") == "sAMAccountName"
    assert ad.group_filter == "(objectClass=group)" and ad.id_attr == "objectGUID"
    assert "objectGUID" in ad.attributes and "uSNChanged" in ad.attributes
    custom = LdapSettings("ldap://h", "dc=x", flavor="ad", user_filter="(objectClass=person)", login_attr="mail")
    assert custom.user_filter == "(objectClass=person)" and custom.login_attr == "mail"
    assert "mail" in custom.attributes


@pytest.mark.parametrize(
    "kwargs",
    [
        {"flavor": "novell"},
        {"incremental": "magic"},
        {"uri": "http://x"},
        {"base_dn": "not a dn"},
        {"timeout": 0},
        {"page_size": 0},
        {"user_filter": "objectClass=person"},
    ],
)
def test_settings_validation(kwargs: dict[str, Any]) -> None:
    args: dict[str, Any] = {"uri": "ldap://127.0.0.1", "base_dn": "dc=x"} | kwargs
    with pytest.raises(ValueError):
        LdapSettings(**args)


def test_empty_password_never_reaches_the_server() -> None:
    settings = LdapSettings("ldap://127.0.0.1:1", "dc=x")  # nothing listens on port 1
    assert ldap_reader.check_password(settings, "uid=a,dc=x", "") is False
    assert ldap_reader.check_password(settings, "", "secret") is False


# ---- entryCSN cookies ---------------------------------------------------------------------------


def _csn_entry(csn: str) -> DirEntry:
    return DirEntry("cn=x,dc=x", str(uuid.uuid4()), frozenset(), {"entrycsn": [csn]})


def test_csn_cookie_single_page_is_exact() -> None:
    import time

    entries = [_csn_entry("20240101120000.000001Z#000000#000#000000"),
               _csn_entry("20240101120005.123456Z#000002#000#000000")]
    cookie = ldap_reader._csn_cookie(entries, None, pages=1, started=time.monotonic())
    assert cookie == "csn:20240101120005.123456Z#000002#000#000000"
    assert ldap_reader._csn_cookie([], "20240101120000.000000Z#000000#000#000000", 1, time.monotonic()) == (
        "csn:20240101120000.000000Z#000000#000#000000")
    assert ldap_reader._csn_cookie([], None, 1, time.monotonic()) is None


def test_csn_cookie_of_a_multi_page_read_steps_back_by_its_duration() -> None:
    import time

    entries = [_csn_entry("20240101120005.123456Z#000002#000#000000")]
    cookie = ldap_reader._csn_cookie(entries, None, pages=3, started=time.monotonic() - 10.2)
    # 12:00:05 minus ceil(10.2 s + 2 s margin) = 11:59:52
    assert cookie == "csn:20240101115952.000000Z#000000#000#000000"
    floor = "20240101120000.000000Z#000000#000#000000"
    assert ldap_reader._csn_cookie(entries, floor, pages=3, started=time.monotonic() - 60) == f"csn:{floor}"


def test_csn_before_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        ldap_reader._csn_before("yesterday", 1)


def test_reads_leave_out_change_markers_unless_the_csn_method_needs_them() -> None:
    ol = LdapSettings("ldap://127.0.0.1", "dc=example")
    plain = ldap_reader._read_attributes(ol)
    assert "entryUUID" in plain and "uid" in plain and "member" in plain
    assert "entryCSN" not in plain and "modifyTimestamp" not in plain
    with_csn = ldap_reader._read_attributes(ol, csn=True)
    assert "entryCSN" in with_csn and "modifyTimestamp" not in with_csn
    ad = LdapSettings.active_directory("ldap://127.0.0.1", "dc=example")
    assert "objectGUID" in ldap_reader._read_attributes(ad)
    assert "uSNChanged" not in ldap_reader._read_attributes(ad)


def test_entry_conversion_merges_names_and_shares_object_classes() -> None:
    settings = LdapSettings("ldap://127.0.0.1", "dc=example")

    def entry(cn: str):
        return ldap_reader._to_entry(settings, f"cn={cn},dc=example", {
            "objectClass": [b"top", b"inetOrgPerson"], "entryUUID": [str(uuid.uuid4()).encode()],
            "cn": [cn.encode()], "CN": [b"alias"], "member;range=0-*": [b"cn=a,dc=example"],
        })

    first, second = entry("甲"), entry("乙")
    assert first.attrs["cn"] == ["甲", "alias"] and first.attrs["member"] == ["cn=a,dc=example"]
    assert first.object_classes == frozenset({"top", "inetorgperson"})
    assert first.object_classes is second.object_classes
