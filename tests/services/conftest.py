"""Fixtures for tests against real services started on loopback.

``slapd`` (session scope): one throwaway OpenLDAP server (:class:`tests.support.slapd.SlapdServer`)
with the suffix ``dc=jiahe,dc=gov,dc=cn``, the service accounts ``slapd.reader_dn`` /
``slapd.reader_password`` (unlimited) and ``slapd.limited_dn`` / ``slapd.limited_password``
(size limit 50), and syncprov. Tests share it, so a test that writes should do so below its own
``ldap_sandbox`` DN.

``ldap_sandbox``: a fresh, empty ``ou=sandbox-N`` directly below the suffix in the session server;
use it as the base DN of the directory under test.

``slapd_factory``: ``make(ldif=None, **kwargs) -> SlapdServer`` starts a private server (LDIF
preloaded by slapadd) that is stopped after the test -- for tests that need exact change streams,
restarts or SIGSTOP.

``softhsm_token`` (session scope): one SoftHSM2 token (:class:`tests.support.softhsm.SoftHsmToken`)
for the whole run -- SoftHSM reads ``SOFTHSM2_CONF`` once per process, so every test module that
needs a token shares this one and keeps to its own key labels.

When ``/usr/sbin/slapd`` (or SoftHSM2) is missing the tests that use these fixtures are skipped,
except under CI (``CI`` set and not ``0``/``false``), where they fail: CI must have the real server.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator

import pytest

from tests.support.slapd import SLAPD_PATH, SlapdServer, slapd_available
from tests.support.softhsm import SoftHsmToken, init_softhsm, softhsm_available

_sandbox_counter = itertools.count(1)


def _under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_slapd() -> None:
    """Skip (or, under CI, fail) when slapd is not installed."""
    if slapd_available():
        return
    if _under_ci():
        pytest.fail(f"slapd is required under CI but {SLAPD_PATH} (or slapadd) is missing; "
                    "install Debian's slapd and ldap-utils")
    pytest.skip(f"slapd is not installed ({SLAPD_PATH} missing): apt-get install slapd ldap-utils")


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlapdServer]:
    """A session-wide throwaway slapd on 127.0.0.1 (see the module docstring)."""
    require_slapd()
    server = SlapdServer(workdir=tmp_path_factory.mktemp("slapd"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ldap_sandbox(slapd: SlapdServer) -> str:
    """The DN of a new empty OU below the session server's suffix."""
    dn = f"ou=sandbox-{next(_sandbox_counter)},{slapd.suffix}"
    slapd.add(dn, {"objectClass": ["top", "organizationalUnit"], "ou": dn.split(",", 1)[0][3:]})
    return dn


@pytest.fixture
def slapd_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., SlapdServer]]:
    """Start private slapd servers for one test; all are stopped afterwards."""
    require_slapd()
    servers: list[SlapdServer] = []

    def make(ldif: str | None = None, **kwargs: object) -> SlapdServer:
        server = SlapdServer(workdir=tmp_path_factory.mktemp("slapd-private"), **kwargs)  # type: ignore[arg-type]
        servers.append(server)
        if ldif:
            server.preload(ldif)
        return server.start()

    try:
        yield make
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(scope="session")
def softhsm_token(tmp_path_factory: pytest.TempPathFactory) -> SoftHsmToken:
    """The run's one SoftHSM2 token (see the module docstring)."""
    if not softhsm_available():
        if _under_ci():
            pytest.fail("SoftHSM2 is required under CI: apt-get install softhsm2")
        pytest.skip("SoftHSM2 is not installed (scripts/bootstrap-system.sh installs it)")
    return init_softhsm(tmp_path_factory.mktemp("softhsm"))
